"""Segmentation of Portuguese essays into paragraphs, sentences and tokens, with offsets.

Every analyser anchors its evidence in the ORIGINAL text, so every unit here is a `Span` whose
`start`/`end` index the string it came from (`text[s.start:s.end] == s.text`). The rules are plain
regular expressions: essays are short and the platform scores thousands of them.

The SRX segmenter `choppa-srx` (LanguageTool's Portuguese rules) was evaluated against these
rules on 200 ENEM essays (`bench/analysis_speed.py --segmenter`): it was ~13x slower
(1.5 vs 0.12 ms/essay) and split 27 of the 200 essays differently; in the differences
inspected it did worse on student writing: it keeps "persiste.Contudo" (missing space) as one
sentence and cuts a sentence at the colon before a quotation. The hand-written rules are
kept and tested.

Sentence splitting is abbreviation-aware ("Sr.", "Dra.", "p. ex.", "art.", "n.º", "etc."),
keeps decimals ("3,5", "2.5") and ellipses followed by lower case together, treats a closing
quote or parenthesis after the full stop as part of the sentence, and never crosses a line break
(an ENEM paragraph is a line of its own). Student essays often omit the space after a full stop
("fim.Começo"); that is split too when a lower-case word is followed by a capitalised one.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = [
    "ABBREVIATIONS",
    "Span",
    "Token",
    "fold",
    "fold_aligned",
    "paragraphs",
    "sentences",
    "sentences_in",
    "tokens",
    "words",
]


@dataclass(frozen=True, slots=True)
class Span:
    """A slice of the original text: `original[start:end] == text`."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Token(Span):
    """A word, number or punctuation mark; `is_word` is true when it contains a letter."""

    is_word: bool


# Abbreviations after which a full stop never ends a sentence (lower-cased, without the final
# dot; compared without folding, so "pé" is not "pe").
ABBREVIATIONS: frozenset[str] = frozenset(
    (
        *("sr", "sra", "srs", "sras", "srta", "dr", "dra", "drs", "dras", "prof", "profa"),
        *("profs", "profas", "exmo", "exma", "sto", "sta", "eng", "enga", "arq", "adv"),
        *("gen", "cel", "sgt", "cmdt", "revmo", "art", "arts", "inc", "caps", "fl", "fls"),
        *("pag", "pág", "pags", "págs", "pg", "p", "pp", "v", "vs", "vol", "vols", "eds", "n"),
        *("nº", "n.º", "nr", "núm", "cf", "ex", "obs", "op", "cit", "ibid", "apud", "aprox"),
        *("tel", "ref", "refs", "trad", "org", "orgs", "av", "r", "rod", "pça", "jan", "fev"),
        *("abr", "jun", "jul", "ago", "set", "nov", "dez", "i.e", "e.g", "p.ex", "s.a"),
    )
)

# Abbreviations that are also words or often close a sentence ("etc.", "mar", "no"):
# split after them only before a capital letter.
_MAYBE_FINAL_ABBREVIATIONS: frozenset[str] = frozenset(
    (
        *("etc", "a.c", "d.c", "ltda", "cia", "mar", "mai", "out", "no", "nos", "me"),
        *("min", "máx", "max", "seg", "ed", "al", "par", "cap", "ten", "pe", "num"),
    )
)

_TOKEN_RE = re.compile(
    r"""
    (?P<num>\d+(?:[.,:/]\d+)+(?!\w))                    # 3,5  2.000  10:30  1/2
    | (?P<word>[^\W_]+(?:[-'’][^\W_]+)*)                # guarda-chuva, d'água, covid-19, 2º
    | (?P<ell>\.\.\.|…)                                 # ellipsis
    | (?P<punct>[^\w\s])                                # any other mark
    | (?P<under>_+)
    """,
    re.VERBOSE,
)

_PARAGRAPH_RE = re.compile(r"[^\r\n]+")

# A candidate sentence end: terminators, then closing quotes/brackets.
_END_RE = re.compile(r"(?:\.\.\.|…|[.!?])+[\"'”’»)\]]*")
# The word (possibly a dotted abbreviation such as "p.ex" or "n.º") just before a full stop.
_PREV_WORD_RE = re.compile(r"((?:[^\W_]+\.)*[^\W_]+)$")
_OPENERS = "\"'“‘«([—–-"


def fold(s: str) -> str:
    """Casefold and strip accents ("Educação" -> "educacao"): the key for lexicon matching."""
    decomposed = unicodedata.normalize("NFD", s.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    f = fold(c)
    return f if len(f) == 1 else c.lower() if len(c.lower()) == 1 else c


def fold_aligned(s: str) -> str:
    """`fold` that keeps the length, so a match at i..j in the result is s[i:j] in the original.

    Characters whose fold is longer than one character (e.g. "ß") are only lower-cased.
    """
    return "".join(_fold_char(c) for c in s)


def _trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return None
    return Span(start, end, text[start:end])


def paragraphs(text: str) -> list[Span]:
    """Non-empty lines, trimmed: in ENEM essays each paragraph is a line; blank lines are gaps."""
    out: list[Span] = []
    for m in _PARAGRAPH_RE.finditer(text):
        span = _trimmed(text, m.start(), m.end())
        if span is not None:
            out.append(span)
    return out


def _next_visible(text: str, i: int, end: int) -> tuple[int, str]:
    """Index and character of the first non-space, non-opener character at or after i."""
    while i < end and (text[i].isspace() or text[i] in _OPENERS):
        i += 1
    return i, (text[i] if i < end else "")


def _is_boundary(text: str, m: re.Match[str], end: int) -> bool:
    """Decide whether the terminator matched by `m` ends a sentence (see module docstring)."""
    mark = m.group(0)
    after = m.end()
    if after >= end:
        return True
    spaced = text[after].isspace()
    _, nxt = _next_visible(text, after, end)
    if not nxt:
        return True
    starts_upper = nxt.isupper() or nxt.isdigit() or text[after] in _OPENERS
    core = mark.rstrip("\"'”’»)]")
    if core.startswith("?") or core.startswith("!"):
        return spaced and (starts_upper or not nxt.isalpha())
    if core.startswith("...") or core.startswith("…"):
        return spaced and starts_upper
    # A single full stop (possibly with closers).
    prev = _PREV_WORD_RE.search(text, max(0, m.start() - 40), m.start())
    prev_word = prev.group(1) if prev else ""
    if not spaced:
        # "fim.Começo": a missing space between a word and a capitalised word.
        return (
            len(prev_word) >= 2
            and prev_word.isalpha()
            and prev_word[-1].islower()
            and nxt.isupper()
            and after + 1 < end
            and text[after + 1].islower()
        )
    key = prev_word.lower()
    if key in _MAYBE_FINAL_ABBREVIATIONS:
        return nxt.isupper()
    if key in ABBREVIATIONS:
        return False
    if len(prev_word) == 1 and prev_word.isalpha() and prev_word.isupper():
        return False  # an initial: "J. K. Rowling"
    if "." in prev_word and len(prev_word) <= 6 and not nxt.isupper():
        return False  # an unknown dotted abbreviation before lower case
    if nxt.isalpha() and nxt.islower():
        # Lower case after a full stop: a sentence start a student forgot to capitalise,
        # unless the word before looks like a short abbreviation we do not know.
        return len(prev_word) > 3 or not prev_word.isalpha()
    return True


def sentences_in(text: str, start: int, end: int) -> list[Span]:
    """Sentences inside text[start:end] (one paragraph), offsets into `text`."""
    out: list[Span] = []
    begin = start
    for m in _END_RE.finditer(text, start, end):
        if not text[begin : m.start()].strip():
            continue  # a stray terminator with nothing before it joins the next sentence
        if _is_boundary(text, m, end):
            span = _trimmed(text, begin, m.end())
            if span is not None:
                out.append(span)
            begin = m.end()
    tail = _trimmed(text, begin, end)
    if tail is not None:
        if out and not any(c.isalnum() for c in tail.text):
            last = out[-1]
            out[-1] = Span(last.start, tail.end, text[last.start : tail.end])
        else:
            out.append(tail)
    return out


def sentences(text: str) -> list[Span]:
    """Sentences of the whole text, paragraph by paragraph (a sentence never spans a newline)."""
    out: list[Span] = []
    for p in paragraphs(text):
        out.extend(sentences_in(text, p.start, p.end))
    return out


def tokens(text: str) -> list[Token]:
    """Words (with inner hyphens/apostrophes), numbers and punctuation marks, with offsets."""
    out: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        s = m.group(0)
        is_word = m.lastgroup == "word" and any(c.isalpha() for c in s)
        out.append(Token(m.start(), m.end(), s, is_word))
    return out


def words(text: str) -> list[Token]:
    """Word tokens only (tokens containing at least one letter)."""
    return [t for t in tokens(text) if t.is_word]
