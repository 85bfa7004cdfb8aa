"""One entry point over the three checkers: project rules, Lightproof, Hunspell.

The checker segments the essay once (`services.analysis.text`), feeds each checker the units
it needs, drops the Lightproof rules the project disabled (`grammar_disabled_rules.txt`, each
with the reason it misfires on correct essays) and keeps one finding per stretch of text.
"""

from __future__ import annotations

from pathlib import Path

from services.analysis import text as seg
from services.analysis.grammar.findings import Finding, resolve_overlaps
from services.analysis.grammar.lightproof import LightproofEngine
from services.analysis.grammar.rules import ProjectRuleEngine
from services.analysis.grammar.spelling import RESOURCES, SpellChecker, load_wordlist

DISABLED_RULES_FILE = RESOURCES / "grammar_disabled_rules.txt"


class GrammarChecker:
    """Loads every resource once; `check(text)` is safe to call from several threads."""

    def __init__(self, disabled_rules_file: Path = DISABLED_RULES_FILE) -> None:
        disabled = (
            load_wordlist(disabled_rules_file) if disabled_rules_file.exists() else frozenset()
        )
        self.spelling = SpellChecker()
        self.lightproof = LightproofEngine(disabled_rules=disabled)
        self.project = ProjectRuleEngine(known=self.spelling.is_known)

    def check(self, text: str) -> list[Finding]:
        """All findings in `text`, overlaps resolved, sorted by position."""
        quads: list[tuple[int, int, int, int]] = []
        sentence_spans: list[seg.Span] = []
        for paragraph in seg.paragraphs(text):
            for sentence in seg.sentences_in(text, paragraph.start, paragraph.end):
                quads.append((paragraph.start, paragraph.end, sentence.start, sentence.end))
                sentence_spans.append(sentence)
        findings = self.project.check(text, [(s.start, s.end) for s in sentence_spans])
        findings += self.lightproof.check(text, quads)
        findings += self.spelling.check(text, seg.tokens(text), sentence_spans)
        return resolve_overlaps(findings)
