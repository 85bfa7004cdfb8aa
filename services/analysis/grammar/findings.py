"""The unit every checker returns: one finding anchored in the original essay text."""

from __future__ import annotations

from dataclasses import dataclass, field

# Rank of the sources when two findings overlap: a hand-written project rule knows the ENEM
# context best; an unknown word comes next (a Lightproof pattern that spans a misspelt word
# usually misread it: "A poluissão" is not an article-noun agreement slip); Lightproof last.
SOURCE_PRIORITY = {"project": 0, "spelling": 1, "lightproof": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """`text[start:end]` is the evidence; `category` is dotted (`grammar.crase`, `spelling`…)."""

    start: int
    end: int
    category: str
    message: str
    rule: str
    source: str
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    def overlaps(self, other: Finding) -> bool:
        """True when the two spans share at least one character."""
        return self.start < other.end and other.start < self.end


def resolve_overlaps(findings: list[Finding]) -> list[Finding]:
    """Keep one finding per stretch of text, preferring the more trusted source.

    Several checkers often flag the same slip ("a escola" is both a crase rule and, for
    Lightproof, an agreement pattern); counting it twice would inflate the error density the
    scorer reads, so the best-ranked finding wins and the others are dropped.
    """
    ranked = sorted(
        findings,
        key=lambda f: (SOURCE_PRIORITY.get(f.source, 9), f.start, -(f.end - f.start)),
    )
    kept: list[Finding] = []
    for finding in ranked:
        if not any(finding.overlaps(k) for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: (f.start, f.end))
