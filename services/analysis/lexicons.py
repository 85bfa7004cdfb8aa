"""Curated pt-BR word lists and a phrase matcher that reports offsets into the original text.

Lexicons live in `resources/pt_BR/` as JSON/text so linguists can edit them without touching code.
Entries are written with light syntax: `{a|b}` expands to alternatives and `x … y` is a
correlative pair ("não só … mas também") whose parts must occur in that order in one sentence.
Matching runs on `fold_aligned(text)` (case- and accent-insensitive, same length as the
original), so a match at i..j is evidence `text[i:j]`; the longest entry wins at a position.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import snowballstemmer

from services.analysis.text import Span, fold

__all__ = [
    "ConnectiveLexicon",
    "ConnectiveMatch",
    "PhraseMatcher",
    "Stemmer",
    "expand",
    "load_json",
    "load_wordlist",
    "stopwords",
]

_BRACES = re.compile(r"\{([^{}]*)\}")
CORRELATIVE_SEP = "…"
SHORT_ENTRY = 3  # entries this short are matched with their accents


def expand(pattern: str) -> list[str]:
    """All strings of a pattern with `{a|b}` groups: "de{ssa|sta} forma" -> 2 strings."""
    m = _BRACES.search(pattern)
    if m is None:
        return [" ".join(pattern.split())]
    out: list[str] = []
    for alt in m.group(1).split("|"):
        out.extend(expand(pattern[: m.start()] + alt + pattern[m.end() :]))
    return out


def _resource(name: str) -> str:
    return (resources.files("services.analysis") / "resources" / "pt_BR" / name).read_text(
        encoding="utf-8"
    )


@cache
def load_json(name: str) -> Any:
    """A JSON resource from resources/pt_BR (parsed once per process)."""
    return json.loads(_resource(name))


@cache
def load_wordlist(name: str) -> frozenset[str]:
    """A one-entry-per-line resource, folded; `#` starts a comment."""
    entries = (line.split("#", 1)[0].strip() for line in _resource(name).splitlines())
    return frozenset(fold(e) for e in entries if e)


def stopwords() -> frozenset[str]:
    """Folded pt-BR function words (articles, prepositions, pronouns, auxiliaries…)."""
    return load_wordlist("metrics_stopwords.txt")


class Stemmer:
    """Snowball Portuguese stems, cached; safe to share between threads (the stemmer is locked)."""

    def __init__(self) -> None:
        self._stemmer = snowballstemmer.stemmer("portuguese")
        self._lock = threading.Lock()
        self._cache: dict[str, str] = {}

    def stem(self, word: str) -> str:
        key = fold(word)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        with self._lock:
            value = str(self._stemmer.stemWord(key))
        if len(self._cache) < 200_000:
            self._cache[key] = value
        return value


def _phrase_regex(phrases: Iterable[str]) -> re.Pattern[str]:
    """One alternation, longest first, bounded by non-word characters, over folded text."""
    ordered = sorted(set(phrases), key=lambda p: (-len(p), p))
    body = "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in ordered)
    return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])")


class PhraseMatcher:
    """Find non-overlapping occurrences of folded phrases; each phrase maps to a label."""

    def __init__(self, labels: dict[str, str]) -> None:
        self._labels = {" ".join(fold(p).split()): lab for p, lab in labels.items()}
        self._regex = _phrase_regex(self._labels) if self._labels else None

    def find(self, folded: str, start: int = 0, end: int | None = None) -> list[tuple[Span, str]]:
        """(span, label) pairs in `folded[start:end]`; spans carry the FOLDED slice as text."""
        if self._regex is None:
            return []
        stop = len(folded) if end is None else end
        out: list[tuple[Span, str]] = []
        for m in self._regex.finditer(folded, start, stop):
            key = " ".join(m.group(0).split())
            out.append((Span(m.start(), m.end(), m.group(0)), self._labels[key]))
        return out


@dataclass(frozen=True, slots=True)
class ConnectiveMatch:
    """One connective in the text; correlatives have two parts, so two spans."""

    relation: str
    connective: str  # the canonical folded entry, e.g. "alem disso", "nao so … mas tambem"
    spans: tuple[Span, ...]  # ORIGINAL-text spans

    @property
    def start(self) -> int:
        return self.spans[0].start


class ConnectiveLexicon:
    """The connectives of `connectives.json` by relation, matched within sentences."""

    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data if data is not None else load_json("connectives.json")
        self.labels: dict[str, str] = {}
        anywhere: dict[str, str] = {}
        initial: dict[str, str] = {}
        self._correlatives: list[tuple[str, str, str, str]] = []  # first, second, canon, rel
        self._short_forms: set[str] = set()
        for relation, spec in data["relations"].items():
            for pattern in (*spec.get("connectives", []), *spec.get("initial", [])):
                self._short_forms.update(
                    p.lower() for p in expand(pattern) if len(p) <= SHORT_ENTRY
                )
            self.labels[relation] = spec.get("label", relation)
            for pattern in spec.get("connectives", []):
                for phrase in expand(fold(pattern)):
                    if CORRELATIVE_SEP in phrase:
                        first, second = (p.strip() for p in phrase.split(CORRELATIVE_SEP, 1))
                        self._correlatives.append((first, second, phrase, relation))
                    else:
                        anywhere.setdefault(phrase.strip(" ,"), relation)
            for pattern in spec.get("initial", []):
                for phrase in expand(fold(pattern)):
                    initial.setdefault(phrase, relation)
        self.relations: tuple[str, ...] = tuple(self.labels)
        self.entries: frozenset[str] = frozenset(anywhere) | {c[2] for c in self._correlatives}
        self._anywhere = PhraseMatcher(anywhere)
        self._initial = PhraseMatcher({k: v for k, v in initial.items() if k not in anywhere})
        self._relation_of = dict(anywhere)
        self._corr_by_first: dict[str, list[int]] = {}
        for i, c in enumerate(self._correlatives):
            self._corr_by_first.setdefault(c[0], []).append(i)
        self._corr_first = PhraseMatcher({first: first for first in self._corr_by_first})
        self._corr_second = [_phrase_regex([c[1]]) for c in self._correlatives]

    def relation_of(self, phrase: str) -> str | None:
        """The relation of a (folded) contiguous entry, if it is one."""
        return self._relation_of.get(" ".join(fold(phrase).split()))

    def find(self, text: str, folded: str, sentences: Sequence[Span]) -> list[ConnectiveMatch]:
        """Connectives in each sentence: correlatives first, then contiguous entries around them."""
        out: list[ConnectiveMatch] = []
        for sent in sentences:
            taken: list[tuple[int, int]] = []
            out.extend(self._correlatives_in(text, folded, sent, taken))
            for span, rel in self._anywhere.find(folded, sent.start, sent.end):
                if any(span.start < e and s < span.end for s, e in taken):
                    continue
                if self._exact_enough(text, span):
                    out.append(self._match(text, rel, span.text, (span,)))
            lead = _first_word_start(folded, sent)
            for span, rel in self._initial.find(folded, lead, sent.end):
                if span.start != lead:
                    break
                if self._exact_enough(text, span) and not any(
                    span.start < e and s < span.end for s, e in taken
                ):
                    out.append(self._match(text, rel, span.text, (span,)))
                break
        out.sort(key=lambda c: c.start)
        return out

    def _correlatives_in(
        self, text: str, folded: str, sent: Span, taken: list[tuple[int, int]]
    ) -> list[ConnectiveMatch]:
        found: list[ConnectiveMatch] = []
        for span, first in self._corr_first.find(folded, sent.start, sent.end):
            if any(span.start < e and s < span.end for s, e in taken):
                continue
            for idx in self._corr_by_first[first]:
                m = self._corr_second[idx].search(folded, span.end, sent.end)
                if m is None or any(m.start() < e and s < m.end() for s, e in taken):
                    continue
                _, _, canon, rel = self._correlatives[idx]
                parts = (span, Span(m.start(), m.end(), m.group(0)))
                taken.extend((p.start, p.end) for p in parts)
                found.append(self._match(text, rel, canon, parts))
                break
        return found

    def _exact_enough(self, text: str, span: Span) -> bool:
        """Short entries must match with their accents ("e" is not "é", "mas" is not "más")."""
        if len(span.text) > SHORT_ENTRY:
            return True
        return text[span.start : span.end].lower() in self._short_forms

    @staticmethod
    def _match(text: str, rel: str, canon: str, spans: tuple[Span, ...]) -> ConnectiveMatch:
        original = tuple(Span(s.start, s.end, text[s.start : s.end]) for s in spans)
        return ConnectiveMatch(rel, " ".join(canon.split()), original)


def _first_word_start(folded: str, sent: Span) -> int:
    i = sent.start
    while i < sent.end and not folded[i].isalnum():
        i += 1
    return i
