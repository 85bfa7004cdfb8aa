"""The embedded mode: every dimension of a rubric run in-process, then the scorer.

This is what `elysia analyze` and `elysia score` run, and it calls the very same `analyse`
functions the distributed workers call, so both modes give identical results.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import cast

from pydantic import BaseModel

from services.analysis.results import DimensionResult, EssayInput
from services.analysis.rubric import Rubric, get_rubric, load_dimension, load_scorer_object
from services.analysis.scoring.types import Scorer, ScoreResult


class AnalysisReport(BaseModel):
    """All dimension results of one essay plus its score."""

    results: dict[str, DimensionResult]
    score: ScoreResult | None = None
    elapsed_ms: float = 0.0


def run_dimension(rubric: Rubric, name: str, essay: EssayInput) -> DimensionResult:
    """Run one dimension, timing it (the elapsed time is part of the result)."""
    started = time.perf_counter()
    result = load_dimension(rubric, name).analyse(essay)
    if not result.elapsed_ms:
        result.elapsed_ms = (time.perf_counter() - started) * 1000.0
    return result


def get_scorer(rubric: Rubric) -> Scorer:
    """The rubric's scorer, loaded once per process."""
    return cast(Scorer, load_scorer_object(rubric))


def analyse_essay(
    essay: EssayInput,
    rubric: Rubric | None = None,
    dimensions: Sequence[str] | None = None,
    score: bool = True,
) -> AnalysisReport:
    """Analyse one essay along `dimensions` (default: all of the rubric's) and score it."""
    rubric = rubric or get_rubric("enem")
    started = time.perf_counter()
    names = list(dimensions) if dimensions else list(rubric.dimension_names)
    results = {name: run_dimension(rubric, name, essay) for name in names}
    scored = get_scorer(rubric).score(essay, results) if score else None
    return AnalysisReport(
        results=results, score=scored, elapsed_ms=(time.perf_counter() - started) * 1000.0
    )


def analyse_many(
    essays: Iterable[EssayInput], rubric: Rubric | None = None, score: bool = True
) -> Iterable[AnalysisReport]:
    """Analyse a stream of essays lazily (the CLI wraps this with a progress bar)."""
    for essay in essays:
        yield analyse_essay(essay, rubric=rubric, score=score)
