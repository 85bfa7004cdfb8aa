"""Fast, bounded spelling suggestions: candidate edits checked against the dictionary.

Hunspell's own `suggest` is thorough but slow on the pt_BR dictionary (its n-gram and compound
passes take 0.1-2 s for one word; a student essay with ten slips could take ten seconds), and
its order ignores how common a word is. Student misspellings are mostly near misses, so this
module generates a bounded set of candidates, keeps those the dictionary accepts (a lookup is
~10 µs) and ranks them by how frequent the word is in Portuguese (`wordfreq`):

1. one accent/cedilla change, from the dictionary's MAP classes ("necessario" -> "necessário");
2. one replacement from the dictionary's REP table of typical confusions ("excessão" ->
   "exceção", "porisso" -> "por isso");
3. one edit: delete, transpose, replace or insert a letter, or split in two words;
4. only if nothing was found: one edit on top of each candidate of 1-2 ("consiencia" ->
   "consciência").

Every step is bounded by the word's length, so a word costs milliseconds, never seconds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

_LETTERS = "abcdefghijklmnopqrstuvwxyzçáàâãéêíóôõú"
_MAX_WORD = 30
_MAX_SECOND_PASS = 12


def read_affix_tables(aff: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """MAP classes and REP pairs of a Hunspell .aff file (lower-cased, "_" as space)."""
    maps: list[str] = []
    reps: list[tuple[str, str]] = []
    for line in aff.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "MAP" and not parts[1].isdigit():
            maps.append(parts[1].lower())
        elif len(parts) == 3 and parts[0] == "REP":
            reps.append((parts[1].replace("_", " "), parts[2].replace("_", " ")))
    return maps, reps


class Suggester:
    """Candidate generation + dictionary check + frequency ranking (stateless after init)."""

    def __init__(
        self,
        known: Callable[[str], bool],
        aff: Path,
        frequency: Callable[[str], float] | None = None,
    ) -> None:
        self._known = known
        maps, self._reps = read_affix_tables(aff)
        self._alternatives: dict[str, str] = {}
        for group in maps:
            for ch in group:
                self._alternatives[ch] = "".join(sorted(set(group) - {ch}))
        self._frequency = frequency or _zipf

    def suggest(self, word: str, limit: int = 5) -> list[str]:
        """Up to `limit` corrections, most plausible first (lower case; caller fixes case)."""
        lower = word.lower()
        if len(lower) > _MAX_WORD:
            return []
        first = self._accent_variants(lower) | self._rep_variants(lower)
        found = {c for c in first if self._ok(c)}
        found |= {c for c in _edits1(lower) if self._ok(c)}
        if not found:
            seeds = sorted(self._accent_variants(lower), key=len)[:_MAX_SECOND_PASS]
            found = {c for seed in seeds for c in _edits1(seed) if self._ok(c)}
        found.discard(lower)
        folded = _fold(lower)
        return sorted(
            found,
            key=lambda c: (_fold(c) != folded, -self._score(c), _distance_hint(lower, c), c),
        )[:limit]

    def _score(self, candidate: str) -> float:
        """Word frequency; a split into two words scores its rarer part, minus a penalty."""
        if " " in candidate:
            return min(self._frequency(p) for p in candidate.split(" ")) - 1.0
        return self._frequency(candidate)

    def _ok(self, candidate: str) -> bool:
        if " " in candidate:
            parts = candidate.split(" ")
            return all(len(p) > 1 or p in {"a", "e", "o", "é"} for p in parts) and all(
                self._known(p) for p in parts
            )
        return self._known(candidate)

    def _accent_variants(self, word: str) -> set[str]:
        out = {_fold(word)}
        for i, ch in enumerate(word):
            for alt in self._alternatives.get(ch, ""):
                out.add(word[:i] + alt + word[i + 1 :])
        base = _fold(word)
        for i, ch in enumerate(base):
            for alt in self._alternatives.get(ch, ""):
                out.add(base[:i] + alt + base[i + 1 :])
        return out

    def _rep_variants(self, word: str) -> set[str]:
        out: set[str] = set()
        for source, target in self._reps:
            pattern = source
            anchored_start, anchored_end = pattern.startswith("^"), pattern.endswith("$")
            pattern = pattern.strip("^$")
            if not pattern or pattern not in word:
                continue
            for m in re.finditer(re.escape(pattern), word):
                if anchored_start and m.start() != 0:
                    continue
                if anchored_end and m.end() != len(word):
                    continue
                out.add(word[: m.start()] + target + word[m.end() :])
        return out


def _edits1(word: str) -> Iterable[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        if right:
            yield left + right[1:]
            for ch in _LETTERS:
                yield left + ch + right[1:]
        if len(right) > 1:
            yield left + right[1] + right[0] + right[2:]
        for ch in _LETTERS:
            yield left + ch + right
        if left and right:
            yield left + " " + right


def _distance_hint(word: str, candidate: str) -> int:
    return abs(len(word) - len(candidate))


def _fold(s: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFD", s)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _zipf(word: str) -> float:
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "pt"))
