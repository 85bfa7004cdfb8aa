"""The `grammar` dimension: ENEM C1, "domínio da norma padrão da língua escrita".

Three checkers (see `services.analysis.grammar`): hand-written project rules for what ENEM
graders penalise (mas/mais, porquês, crase, onde, informal register, há/a…), LibreOffice's
Lightproof pt_BR rules run by a pure-Python engine, and the Hunspell pt_BR dictionary. Every
resource ships in `services/analysis/resources/pt_BR/`; nothing is fetched at run time.

Thread safety: the checker is built once in `__init__`; `analyse` only reads shared state
(the Hunspell handle is guarded by a lock inside `SpellChecker`).
"""

from __future__ import annotations

import time

from services.analysis import text as seg
from services.analysis.grammar.checker import GrammarChecker
from services.analysis.grammar.levels import assess
from services.analysis.results import DimensionResult, EssayInput, Issue


class GrammarDimension:
    """Spelling, grammar and register findings, their densities and a C1 level estimate."""

    name = "grammar"
    version = "1.0.0"

    def __init__(self) -> None:
        started = time.perf_counter()
        self.checker = GrammarChecker()
        self.load_seconds = time.perf_counter() - started

    def warm_up(self) -> None:
        """Compile every Lightproof rule now (≈ 3 s CPU) instead of on the first essays."""
        self.checker.lightproof.compile_all()

    def analyse(self, essay: EssayInput) -> DimensionResult:
        started = time.perf_counter()
        text = essay.text
        findings = self.checker.check(text)
        words = len(seg.words(text))
        sentences = len(seg.sentences(text))
        assessment = assess(findings, text, words, sentences)
        issues = [
            Issue(
                start=f.start,
                end=f.end,
                category=f.category,
                message=f.message,
                suggestions=list(f.suggestions),
                rule=f.rule,
            )
            for f in findings
        ]
        return DimensionResult(
            dimension=self.name,
            version=self.version,
            level=assessment.level,
            metrics=assessment.metrics,
            issues=issues,
            feedback=assessment.feedback,
            details={
                "level_reasons": assessment.reasons,
                "counts_by_category": assessment.counts,
                "sources": {
                    "lightproof_rules": len(self.checker.lightproof.rules),
                    "project_rules": len(self.checker.project.rules),
                    "dictionary": "hunspell pt_BR (VERO)",
                },
            },
            elapsed_ms=(time.perf_counter() - started) * 1000.0,
        )
