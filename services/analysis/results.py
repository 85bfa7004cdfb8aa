"""The shapes every analyser speaks: input essay, issues with offsets, one result per dimension.

These are plain pydantic models (no database or web types) so the same objects travel from an
in-process pipeline, through RQ job results, into MongoDB documents and JSON responses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EssayInput(BaseModel):
    """What an analyser sees: the original text (offsets index it) and the prompt, if any."""

    model_config = ConfigDict(frozen=True)

    text: str
    title: str | None = None
    prompt_text: str | None = None
    prompt_id: str | None = None
    language: str = "pt-BR"


class Issue(BaseModel):
    """One finding anchored in the original text: `text[start:end]` is the evidence."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    category: str
    message: str
    suggestions: list[str] = Field(default_factory=list)
    rule: str | None = None


class DimensionResult(BaseModel):
    """The result of one dimension on one essay (see docs/architecture.md, 'A dimension result')."""

    dimension: str
    version: str
    level: int | None = Field(default=None, ge=0, le=200)
    metrics: dict[str, float] = Field(default_factory=dict)
    issues: list[Issue] = Field(default_factory=list)
    feedback: list[str] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    elapsed_ms: float = 0.0
