"""The trained ENEM scorer: dimension results + the essay text -> five levels, total, rules.

The model file (`resources/models/enem/model.joblib`, written by `elysia train`) holds everything
inference needs: the fixed dense feature list, the hashed n-gram encoder and its ridge, one
regressor per competency with its QWK-optimised thresholds and confidence calibration, and the rule
configuration. Scoring never re-runs a dimension: it reads the results it is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from numpy.typing import NDArray

from services.analysis.results import DimensionResult, EssayInput
from services.analysis.scoring.evaluate import COMPETENCIES, apply_thresholds
from services.analysis.scoring.features import (
    NgramEncoder,
    dimension_features,
    prompt_features,
    text_features,
    vectorise,
)
from services.analysis.scoring.rules import RuleConfig, apply_rules
from services.analysis.scoring.types import ScoreResult

FORMAT = 1
# services/analysis/resources/models/enem/model.joblib (shipped as package data).
MODEL_RELATIVE = ("resources", "models", "enem", "model.joblib")

# Which dimensions inform which competency (for the human-readable reasons only).
_COMPETENCY_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "c1": ("grammar", "metrics"),
    "c2": ("theme", "metrics"),
    "c3": ("argumentation",),
    "c4": ("cohesion",),
    "c5": ("proposal",),
}


@dataclass
class LinearModel:
    """A fitted `SimpleImputer(add_indicator) -> StandardScaler -> Ridge` pipeline as plain numpy.

    Scoring one essay through the sklearn pipeline costs milliseconds of input validation per
    step; this is the same arithmetic in microseconds (checked against the pipeline when built).
    """

    fill: NDArray[np.float64]
    indicator_columns: NDArray[np.int64]
    mean: NDArray[np.float64]
    scale: NDArray[np.float64]
    coef: NDArray[np.float64]
    intercept: float

    @classmethod
    def from_pipeline(cls, pipeline: Any, check: NDArray[np.float64]) -> LinearModel:
        imputer, scaler, ridge = (step for _, step in pipeline.steps)
        indicator = getattr(imputer, "indicator_", None)
        columns = (
            np.asarray(indicator.features_, dtype=np.int64)
            if indicator is not None
            else np.zeros(0, dtype=np.int64)
        )
        model = cls(
            fill=np.asarray(imputer.statistics_, dtype=np.float64),
            indicator_columns=columns,
            mean=np.asarray(scaler.mean_, dtype=np.float64),
            scale=np.asarray(scaler.scale_, dtype=np.float64),
            coef=np.asarray(ridge.coef_, dtype=np.float64).ravel(),
            intercept=float(np.asarray(ridge.intercept_).ravel()[0]),
        )
        if not np.allclose(model.predict(check), pipeline.predict(check), atol=1e-6):
            raise AssertionError("compiled linear model disagrees with its pipeline")
        return model

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        missing = np.isnan(x)
        filled = np.where(missing, self.fill[None, :], x)
        z = np.hstack([filled, missing[:, self.indicator_columns].astype(np.float64)])
        out: NDArray[np.float64] = ((z - self.mean) / self.scale) @ self.coef + self.intercept
        return out


@dataclass
class CompetencyModel:
    """One competency: a regressor on [dense features (+ n-gram predictions)], thresholds, and
    the calibration table turning distance-to-threshold into P(exact level)."""

    kind: str
    estimator: Any
    uses_ngram: bool
    thresholds: NDArray[np.float64]
    confidence_x: NDArray[np.float64]
    confidence_y: NDArray[np.float64]
    oof_qwk: float = math.nan

    def predict(self, dense: NDArray[np.float64], ngram: NDArray[np.float64] | None) -> float:
        x = dense if not self.uses_ngram or ngram is None else np.hstack([dense, ngram])
        return float(self.estimator.predict(x)[0])

    def confidence(self, value: float) -> float:
        distance = float(np.min(np.abs(self.thresholds - value)))
        return float(np.interp(distance, self.confidence_x, self.confidence_y))


@dataclass
class ModelArtifact:
    """Everything `elysia train` ships (pickled with joblib)."""

    version: str
    feature_names: list[str]
    dimensions: list[str]
    dimension_versions: dict[str, str]
    ngram_encoder: NgramEncoder | None
    ngram_model: Any
    competencies: dict[str, CompetencyModel]
    rules: RuleConfig
    review_below: float
    trained_at: str
    seed: int
    format: int = FORMAT
    card: dict[str, Any] = field(default_factory=dict)


class EnemScorer:
    """The `Scorer` the ENEM rubric registers (see `services.analysis.scoring.types.Scorer`)."""

    def __init__(self, artifact: ModelArtifact) -> None:
        if artifact.format != FORMAT:
            raise ValueError(f"model format {artifact.format} is not {FORMAT}: retrain the model")
        self.artifact = artifact
        self.version = artifact.version

    def predict_values(
        self, essay: EssayInput, results: Mapping[str, DimensionResult]
    ) -> dict[str, float]:
        """The continuous model outputs per competency (before thresholds and rules)."""
        a = self.artifact
        feats = text_features(essay.text, essay.title)
        feats.update(prompt_features(essay.text, essay.prompt_text))
        feats.update(dimension_features({d: r for d, r in results.items() if d in a.dimensions}))
        dense = vectorise([feats], a.feature_names)
        ngram = None
        if a.ngram_encoder is not None and a.ngram_model is not None:
            ngram = np.asarray(a.ngram_model.predict(a.ngram_encoder.transform([essay.text])))
            ngram = ngram.reshape(1, -1)
        return {c: a.competencies[c].predict(dense, ngram) for c in COMPETENCIES}

    def score(self, essay: EssayInput, results: Mapping[str, DimensionResult]) -> ScoreResult:
        a = self.artifact
        values = self.predict_values(essay, results)
        levels: dict[str, int] = {}
        confidence: dict[str, float] = {}
        reasons: dict[str, list[str]] = {}
        for comp in COMPETENCIES:
            model = a.competencies[comp]
            level = int(apply_thresholds(np.array([values[comp]]), model.thresholds)[0])
            levels[comp] = level
            confidence[comp] = round(model.confidence(values[comp]), 4)
            reasons[comp] = [f"model ({model.kind}): {values[comp]:.1f} -> level {level}"]
            for dim in _COMPETENCY_DIMENSIONS[comp]:
                result = results.get(dim)
                if result is None:
                    reasons[comp].append(f"{dim}: no result")
                    continue
                extra = result.details.get("level_reasons")
                if isinstance(extra, list):
                    reasons[comp].extend(f"{dim}: {r}" for r in extra[:3] if isinstance(r, str))
        outcome = apply_rules(levels, results, essay.text, a.rules)
        for firing in outcome.firings:
            for comp in COMPETENCIES:
                if firing.effect.startswith(comp) or firing.effect.startswith("annulled"):
                    reasons[comp].append(f"rule {firing.rule}: {firing.effect}")
        low = [c for c in COMPETENCIES if confidence[c] < a.review_below]
        flags = list(outcome.flags)
        if low and not outcome.annulled:
            flags.append("low_confidence:" + ",".join(low))
        # ENEM gives 0 in every competency only by annulment: a model that says so with no rule
        # behind it is outside what it can be trusted with, whatever its confidence.
        model_zero = not outcome.annulled and not any(outcome.levels.values())
        if model_zero:
            flags.append("model_zero_without_rule")
        return ScoreResult(
            rubric="enem",
            model_version=self.version,
            levels=outcome.levels,
            total=sum(outcome.levels.values()),
            annulled=outcome.annulled,
            flags=flags,
            rules=outcome.firings,
            confidence=confidence,
            needs_human_review=outcome.needs_review or bool(low) or model_zero,
            reasons=reasons,
        )


def load_artifact(path: Path) -> ModelArtifact:
    artifact = joblib.load(path)
    if not isinstance(artifact, ModelArtifact):
        raise TypeError(f"{path} does not hold an ENEM model artifact")
    return artifact


def save_artifact(artifact: ModelArtifact, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(artifact, path, compress=1)


def default_model_path() -> Path:
    """The shipped model inside the installed package (`resources` is not a regular package, so
    the path is taken from this module's location rather than `importlib.resources`)."""
    return Path(__file__).resolve().parents[1].joinpath(*MODEL_RELATIVE)


def load_scorer(path: Path | None = None) -> EnemScorer:
    return EnemScorer(load_artifact(path or default_model_path()))


def load_default_scorer() -> EnemScorer:
    """Entry point named by the ENEM rubric (`services.analysis.rubric.ENEM.scorer`)."""
    path = default_model_path()
    if not path.exists():
        raise FileNotFoundError(
            f"no ENEM model at {path}: train one with `elysia train --data DIR --out {path}`"
        )
    return load_scorer(path)
