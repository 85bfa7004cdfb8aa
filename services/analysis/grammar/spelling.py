"""Spelling with the Hunspell pt_BR dictionary (VERO, LGPL-3/MPL) through `chunspell`.

What is skipped, because a dictionary cannot judge it and a false flag costs the student points:
numbers and words with digits, URLs and e-mail addresses, acronyms (all capitals),
capitalised words inside a sentence (proper nouns: "Zygmunt Bauman", "Djamila Ribeiro"), words
between double quotes (ENEM asks for foreign words and titles to be quoted), and the project
whitelist (`resources/pt_BR/grammar_whitelist.txt`: ENEM vocabulary and common neologisms).
A capitalised unknown word that opens a sentence is flagged only when the dictionary knows an
accent-only correction ("Alem" -> "Além"), since sentences often open with a name.

Suggestions come from `suggest.Suggester` (bounded candidate edits checked against the same
dictionary, ranked by word frequency; Hunspell's own `suggest` takes up to seconds per word on
this dictionary), with accent-only corrections first: they are the most common slip in student
essays and the least ambiguous fix.

Thread safety: the Hunspell handle is not documented as thread-safe, so every call into it (and
the result cache) is guarded by one lock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from pathlib import Path

from services.analysis.grammar.findings import Finding
from services.analysis.grammar.rules import QUOTED_RE
from services.analysis.grammar.suggest import Suggester
from services.analysis.text import ABBREVIATIONS, Span, Token, fold

RESOURCES = Path(__file__).resolve().parents[1] / "resources" / "pt_BR"
HUNSPELL_DIR = RESOURCES / "hunspell"
WHITELIST_FILE = RESOURCES / "grammar_whitelist.txt"

_URL_RE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+", re.IGNORECASE)
_MAX_CACHE = 50_000
_MAX_SUGGESTIONS = 5


def load_wordlist(path: Path) -> frozenset[str]:
    """Lower-cased words of a one-per-line list; `#` starts a comment."""
    words: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.add(word.lower())
    return frozenset(words)


def rank_suggestions(word: str, suggestions: Iterable[str]) -> list[str]:
    """Accent-only fixes first, then Hunspell's order; capitalisation follows the word."""
    folded = fold(word)
    unique = list(dict.fromkeys(suggestions))
    ranked = sorted(unique, key=lambda s: (fold(s) != folded, unique.index(s)))
    if word[:1].isupper():
        ranked = [s[:1].upper() + s[1:] for s in ranked]
    return list(dict.fromkeys(ranked))[:_MAX_SUGGESTIONS]


class SpellChecker:
    """Hunspell pt_BR plus the project's skip rules; `check` returns spelling findings."""

    def __init__(
        self, dictionary_dir: Path = HUNSPELL_DIR, whitelist: Path = WHITELIST_FILE
    ) -> None:
        import hunspell  # chunspell's module; imported here so only this checker needs it

        self._hunspell = hunspell.Hunspell("pt_BR", hunspell_data_dir=str(dictionary_dir))
        self._whitelist = load_wordlist(whitelist) if whitelist.exists() else frozenset()
        self._lock = threading.Lock()
        self._known: dict[str, bool] = {}
        self._suggested: dict[str, tuple[str, ...]] = {}
        self._suggester = Suggester(self._spell, dictionary_dir / "pt_BR.aff")

    def _spell(self, word: str) -> bool:
        """The bare dictionary lookup (no whitelist), for the suggester's candidates."""
        with self._lock:
            return bool(self._hunspell.spell(word))

    def is_known(self, word: str) -> bool:
        """True if the dictionary or the whitelist accepts `word` (hyphen parts one by one)."""
        if word.lower() in self._whitelist:
            return True
        with self._lock:
            cached = self._known.get(word)
            if cached is None:
                cached = bool(self._hunspell.spell(word))
                if len(self._known) > _MAX_CACHE:
                    self._known.clear()
                self._known[word] = cached
        if cached:
            return True
        if "-" in word:
            parts = [p for p in word.split("-") if p]
            return bool(parts) and all(self.is_known(p) for p in parts)
        return False

    def suggest(self, word: str) -> list[str]:
        """Ranked corrections for `word` (accent-only fixes first)."""
        cached = self._suggested.get(word)
        if cached is None:
            cached = tuple(self._suggester.suggest(word))
            with self._lock:
                if len(self._suggested) > _MAX_CACHE:
                    self._suggested.clear()
                self._suggested[word] = cached
        return rank_suggestions(word, cached)

    def check(self, text: str, tokens: Iterable[Token], sentences: Iterable[Span]) -> list[Finding]:
        """Findings for the unknown words of `text` (offsets into `text`)."""
        sentence_starts = {self._first_word_start(text, s) for s in sentences}
        skipped = [(m.start(), m.end()) for m in _URL_RE.finditer(text)]
        skipped += [(m.start(), m.end()) for m in QUOTED_RE.finditer(text)]
        found: list[Finding] = []
        for token in tokens:
            if not token.is_word or self._skip(token, skipped):
                continue
            if text[token.end : token.end + 1] == "." and token.text.lower() in ABBREVIATIONS:
                continue  # "art.", "pág.", "Sr."
            initial = token.start in sentence_starts
            if token.text[:1].isupper() and not initial:
                continue  # a proper noun inside the sentence
            if self._known_at(token.text, initial):
                continue
            suggestions = self.suggest(token.text)
            accent_only = (
                bool(suggestions)
                and fold(suggestions[0]) == fold(token.text)
                and suggestions[0].lower() != token.text.lower()
            )
            if initial and token.text[:1].isupper() and not accent_only:
                continue  # an unknown name opening the sentence
            found.append(self._finding(token, suggestions, accent_only))
        return found

    def _known_at(self, word: str, initial: bool) -> bool:
        if self.is_known(word):
            return True
        return initial and self.is_known(word[:1].lower() + word[1:])

    @staticmethod
    def _skip(token: Token, skipped: list[tuple[int, int]]) -> bool:
        word = token.text
        if any(c.isdigit() for c in word) or "_" in word:
            return True
        if len(word) > 1 and word.replace("-", "").isupper():
            return True  # acronym
        if any(c.isupper() for c in word[1:]) and not word.isupper():
            return True  # "WhatsApp", "iPhone": brand casing
        return any(start <= token.start < end for start, end in skipped)

    @staticmethod
    def _first_word_start(text: str, sentence: Span) -> int:
        m = re.search(r"[^\W\d_]", text[sentence.start : sentence.end])
        return sentence.start + m.start() if m else sentence.start

    @staticmethod
    def _finding(token: Token, suggestions: list[str], accent_only: bool) -> Finding:
        if accent_only:
            message = f"Acentuação: “{token.text}” deve ser grafada “{suggestions[0]}”."
            category = "accent"
        else:
            message = f"Palavra não reconhecida pelo dicionário: “{token.text}”."
            category = "spelling"
        return Finding(
            start=token.start,
            end=token.end,
            category=category,
            message=message,
            rule="spelling.hunspell",
            source="spelling",
            suggestions=tuple(suggestions),
        )
