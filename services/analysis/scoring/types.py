"""The scorer's contract: dimension results in, competency levels, total and traceable rules out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

from services.analysis.results import DimensionResult, EssayInput


class RuleFiring(BaseModel):
    """A rubric rule applied after the model (annulment, caps), with the evidence that fired it."""

    rule: str
    effect: str
    reason: str


class ScoreResult(BaseModel):
    """Levels per competency, the total, and why: what a teacher needs to trust the grade."""

    rubric: str
    model_version: str
    levels: dict[str, int]
    total: int = Field(ge=0)
    annulled: bool = False
    flags: list[str] = Field(default_factory=list)
    rules: list[RuleFiring] = Field(default_factory=list)
    confidence: dict[str, float] = Field(default_factory=dict)
    needs_human_review: bool = False
    reasons: dict[str, list[str]] = Field(default_factory=dict)


@runtime_checkable
class Scorer(Protocol):
    """Turns the dimension results of one essay into a `ScoreResult`, without re-analysing."""

    version: str

    def score(self, essay: EssayInput, results: Mapping[str, DimensionResult]) -> ScoreResult: ...
