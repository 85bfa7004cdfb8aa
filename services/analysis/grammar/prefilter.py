"""A second exact prefilter for Lightproof rules: the word-list condition, checked cheaply.

About 5,000 pt_BR rules look like `(?P<a>[a-z…]+)as (?P<b>…)` with a condition such as
`m.group("a").lower() in plvrMfoa`: the regex matches almost every sentence (it only needs
"as "), and the word list rejects nearly all matches. Running the regex to learn that costs
most of the engine's time. But the condition fixes what text must stand right before the
literal suffix: the group is a run of word characters ending where "as " begins. So before
running such a rule we collect, once per sentence and suffix, every word-character run that
ends right before an occurrence of the suffix (and all its tails, since the group may start
mid-run), and run the rule only if one of them is in the list. The test is necessary, never
sufficient, so no match is lost; `tests/analysis/test_grammar.py` checks the engine with and
without it gives the same findings.
"""

from __future__ import annotations

import ast
import re
from re import _constants as sre_c  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

_WORD = re.compile(r"\w")
_WORD_RUN = re.compile(r"\w+")

# (suffix, name of the word list in the helper namespace, whether the group is lower-cased)
GroupRequirement = tuple[str, str, bool]


def _membership_conjuncts(condition: str) -> list[tuple[str | int, str, bool]]:
    """`m.group(G)[.lower()] in NAME` terms that must all hold (top-level `and` only)."""
    try:
        tree = ast.parse(condition, mode="eval").body
    except SyntaxError:
        return []
    terms = tree.values if isinstance(tree, ast.BoolOp) and isinstance(tree.op, ast.And) else [tree]
    out: list[tuple[str | int, str, bool]] = []
    for term in terms:
        if not (
            isinstance(term, ast.Compare)
            and len(term.ops) == 1
            and isinstance(term.ops[0], ast.In)
            and isinstance(term.comparators[0], ast.Name)
        ):
            continue
        left, lower = term.left, False
        if (
            isinstance(left, ast.Call)
            and isinstance(left.func, ast.Attribute)
            and left.func.attr == "lower"
            and not left.args
        ):
            left, lower = left.func.value, True
        if (
            isinstance(left, ast.Call)
            and isinstance(left.func, ast.Attribute)
            and left.func.attr == "group"
            and isinstance(left.func.value, ast.Name)
            and left.func.value.id == "m"
            and len(left.args) == 1
            and isinstance(left.args[0], ast.Constant)
            and isinstance(left.args[0].value, str | int)
        ):
            out.append((left.args[0].value, term.comparators[0].id, lower))
    return out


def _word_class(items: list[tuple[Any, Any]]) -> bool:
    """True if a character class only contains word characters (so the run is a `\\w+` run)."""
    for op, av in items:
        if op is sre_c.LITERAL:
            if not _WORD.match(chr(av)):
                return False
        elif op is sre_c.RANGE:
            low, high = av
            if high - low > 5000 or not all(_WORD.match(chr(c)) for c in range(low, high + 1)):
                return False
        else:
            return False
    return True


def _word_only(items: list[tuple[Any, Any]]) -> bool:
    """True if a fragment can only match word characters (`[a-z]+[o]`, `lh`, `[Dd]`)."""
    for op, av in items:
        if op is sre_c.LITERAL:
            if not _WORD.match(chr(av)):
                return False
        elif op is sre_c.IN:
            if not _word_class(list(av)):
                return False
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            if not _word_only(list(av[2])):
                return False
        else:
            return False
    return bool(items)


def _forbids_word_char(op: Any, av: Any) -> bool:
    r"""`(?![-\w–])`: a negative lookahead whose class contains `\w`."""
    if op is not sre_c.ASSERT_NOT or av[0] != 1:
        return False
    body = list(av[1])
    return (
        len(body) == 1
        and body[0][0] is sre_c.IN
        and (sre_c.CATEGORY, sre_c.CATEGORY_WORD) in list(body[0][1])
    )


def _group_suffixes(pattern: str) -> dict[int, str]:
    """Top-level word-only groups and the literal text right after them.

    "" means the group is followed by a lookahead forbidding a word character, so it ends
    where a run of word characters ends.
    """
    items = list(sre_parse.parse(pattern))
    out: dict[int, str] = {}
    for i, (op, av) in enumerate(items):
        if op is not sre_c.SUBPATTERN or av[0] is None or not _word_only(list(av[-1])):
            continue
        suffix = ""
        for next_op, next_av in items[i + 1 :]:
            if next_op is not sre_c.LITERAL:
                break
            suffix += chr(next_av)
        if suffix:
            out[av[0]] = suffix
        elif i + 1 < len(items) and _forbids_word_char(*items[i + 1]):
            out[av[0]] = ""
    return out


def group_requirement(pattern: str, condition: str | None) -> GroupRequirement | None:
    """The (suffix, word list, lower) test a rule's matches must pass, if it has one."""
    if not condition:
        return None
    terms = _membership_conjuncts(condition)
    if not terms:
        return None
    try:
        group_index = re.compile(pattern).groupindex
        suffixes = _group_suffixes(pattern)
    except re.error:
        return None
    for group, list_name, lower in terms:
        number = group if isinstance(group, int) else group_index.get(group)
        if number is not None and number in suffixes:
            return (suffixes[number], list_name, lower)
    return None


class SentenceStems:
    """Per-sentence cache of the word runs, answering `tails(suffix)` for the prefilter."""

    def __init__(self, sentence: str) -> None:
        self.sentence = sentence
        self._run_start: dict[int, int] = {}  # position q inside or at the end of a run -> start
        self._run_ends: dict[int, int] = {}  # end of a maximal run -> its start
        for m in _WORD_RUN.finditer(sentence):
            self._run_ends[m.end()] = m.start()
            for q in range(m.start() + 1, m.end() + 1):
                self._run_start[q] = m.start()
        self._cache: dict[tuple[str, bool], set[str]] = {}

    def tails(self, suffix: str, lower: bool) -> set[str]:
        """Every tail of each word run that ends where `suffix` occurs ("" = any run end)."""
        key = (suffix, lower)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        sentence = self.sentence
        if suffix:
            ends: dict[int, int] = {}
            q = sentence.find(suffix)
            while q != -1:
                if q in self._run_start:
                    ends[q] = self._run_start[q]
                q = sentence.find(suffix, q + 1)
        else:
            ends = self._run_ends
        out: set[str] = set()
        for end, start in ends.items():
            run = sentence[start:end]
            out.update(run[k:] for k in range(len(run)))
        if lower:
            out = {s.lower() for s in out}
        self._cache[key] = out
        return out


def stems_before(sentence: str, suffix: str) -> set[str]:
    """Every tail of each word-character run that ends right where `suffix` occurs."""
    return SentenceStems(sentence).tails(suffix, lower=False)
