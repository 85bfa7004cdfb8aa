"""Training of the ENEM scorer: prompt-grouped CV, model selection by QWK, thresholds, card.

`train_model` is what `elysia train` runs. Per competency it compares, by cross-fitted QWK under
GroupKFold on prompt_id:

- `ridge`        ridge regression on the dense features (text statistics + dimension metrics);
- `hgb`          HistGradientBoosting on the same dense features;
- `ngram`        ridge on hashed word/char n-grams (TF-IDF), alone;
- `stack_ridge`, `stack_hgb`: the dense models plus the out-of-fold n-gram predictions of all
                 five competencies and the total as six extra features.

The winner is refitted on all the data; its out-of-fold predictions give the thresholds (QWK
trick) and the confidence calibration. Everything is seeded and single-threaded, so the same data
and seed give the same model file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from services.analysis.results import DimensionResult
from services.analysis.scoring.corpus import CorpusRow
from services.analysis.scoring.evaluate import (
    COMPETENCIES,
    apply_thresholds,
    cross_fitted_levels,
    fold_ids,
    grouped_folds,
    optimise_thresholds,
    qwk_levels,
    qwk_total,
    rmse,
)
from services.analysis.scoring.features import (
    BASELINE_FEATURES,
    NgramEncoder,
    dimension_features,
    prompt_features,
    select_feature_names,
    text_features,
    vectorise,
)
from services.analysis.scoring.model import CompetencyModel, LinearModel, ModelArtifact
from services.analysis.scoring.rules import RuleConfig, apply_rules

FloatArray = NDArray[np.float64]
KINDS: tuple[str, ...] = ("ridge", "hgb", "ngram", "stack_ridge", "stack_hgb", "blend")
BLEND: tuple[str, ...] = ("ngram", "stack_ridge", "stack_hgb")
N_NGRAM_TARGETS = len(COMPETENCIES) + 1


@dataclass
class TrainConfig:
    """The knobs of a training run (all recorded in the model card)."""

    seed: int = 13
    folds: int = 5
    dimensions: tuple[str, ...] = ("grammar", "argumentation", "cohesion", "proposal", "metrics")
    kinds: tuple[str, ...] = KINDS
    ngram_features: int = 2**17
    ngram_alpha: float = 1.0
    ridge_alpha: float = 10.0
    hgb_iter: int = 250
    review_share: float = 0.15  # share of essays sent to review on low confidence alone
    max_false_annulment: float = 0.02


@dataclass
class NgramColumn:
    """The `ngram` candidate: reads its competency's n-gram prediction from the stacked row."""

    column: int

    def predict(self, x: FloatArray) -> FloatArray:
        return np.asarray(x[:, self.column], dtype=np.float64)


@dataclass
class Blend:
    """The `blend` candidate: the mean of the n-gram and both stacked models' predictions."""

    members: list[Any]

    def predict(self, x: FloatArray) -> FloatArray:
        return np.asarray(np.mean([m.predict(x) for m in self.members], axis=0), dtype=np.float64)


@dataclass
class Dataset:
    """Matrices of one training run."""

    rows: list[CorpusRow]
    dense: FloatArray
    feature_names: list[str]
    y: NDArray[np.int64]
    groups: list[str]
    counts: sparse.csr_matrix | None
    results: dict[str, dict[str, DimensionResult]] = field(default_factory=dict)


def build_dataset(
    rows: Sequence[CorpusRow],
    results: Mapping[str, Mapping[str, DimensionResult]],
    dims: Sequence[str],
    encoder: NgramEncoder | None,
    feature_names: Sequence[str] | None = None,
) -> Dataset:
    """Dense feature matrix (fixed names), labels, groups and hashed n-gram counts."""
    feats: list[dict[str, float]] = []
    for row in rows:
        f = text_features(row.text, row.title)
        f.update(prompt_features(row.text, row.prompt_text))
        got = results.get(row.id, {})
        f.update(dimension_features({d: r for d, r in got.items() if d in dims}))
        # Dimensions not used by this model still appear as absent, never as stale numbers.
        feats.append(f)
    names = list(feature_names) if feature_names is not None else select_feature_names(feats)
    y = np.array([[row.levels[c] for c in COMPETENCIES] for row in rows], dtype=np.int64)
    counts = encoder.counts([row.text for row in rows]) if encoder is not None else None
    return Dataset(
        rows=list(rows),
        dense=vectorise(feats, names),
        feature_names=names,
        y=y,
        groups=[row.prompt_id for row in rows],
        counts=counts,
        results={k: dict(v) for k, v in results.items()},
    )


def _ridge(alpha: float) -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        Ridge(alpha=alpha),
    )


def _hgb(seed: int, iters: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        max_iter=iters,
        learning_rate=0.05,
        max_leaf_nodes=15,
        min_samples_leaf=30,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )


def _ngram_targets(y: NDArray[np.int64]) -> FloatArray:
    out: FloatArray = np.c_[y.astype(np.float64), y.sum(axis=1) / len(COMPETENCIES)]
    return out


def fit_ngram(
    counts: sparse.csr_matrix, y: NDArray[np.int64], cfg: TrainConfig
) -> tuple[NgramEncoder, Any]:
    """TF-IDF weights and a multi-output ridge on the hashed n-grams."""
    from sklearn.linear_model import Ridge

    encoder = NgramEncoder(cfg.ngram_features).fit_counts(counts)
    model = Ridge(alpha=cfg.ngram_alpha, solver="sparse_cg", random_state=cfg.seed)
    model.fit(encoder.transform_counts(counts), _ngram_targets(y))
    # float32 halves the shipped size; predictions differ by < 1e-4 points.
    model.coef_ = model.coef_.astype(np.float32)
    return encoder, model


def ngram_oof(data: Dataset, folds: Sequence[tuple[Any, Any]], cfg: TrainConfig) -> FloatArray:
    """Out-of-fold n-gram predictions (5 competencies + total/5) for every row."""
    assert data.counts is not None
    out = np.zeros((len(data.rows), N_NGRAM_TARGETS))
    for tr, te in folds:
        encoder, model = fit_ngram(data.counts[tr], data.y[tr], cfg)
        out[te] = model.predict(encoder.transform_counts(data.counts[te]))
    return out


def _make(kind: str, j: int, n_dense: int, cfg: TrainConfig) -> tuple[Any, bool]:
    if kind == "ridge":
        return _ridge(cfg.ridge_alpha), False
    if kind == "hgb":
        return _hgb(cfg.seed, cfg.hgb_iter), False
    if kind == "stack_ridge":
        return _ridge(cfg.ridge_alpha), True
    if kind == "stack_hgb":
        return _hgb(cfg.seed, cfg.hgb_iter), True
    if kind == "ngram":
        return NgramColumn(n_dense + j), True
    if kind == "blend":
        return Blend([_make(k, j, n_dense, cfg)[0] for k in BLEND]), True
    raise ValueError(f"unknown model kind {kind!r}")


def _fit(
    kind: str, j: int, x: FloatArray, y: NDArray[np.int64], n_dense: int, cfg: TrainConfig
) -> Any:
    estimator, _ = _make(kind, j, n_dense, cfg)
    if kind == "blend":
        estimator.members = [_fit(k, j, x, y, n_dense, cfg) for k in BLEND]
    elif kind != "ngram":
        estimator.fit(x, y.astype(np.float64))
    return estimator


def _compile(estimator: Any, x: FloatArray) -> Any:
    """Swap fitted ridge pipelines for their numpy form (fast single-essay scoring)."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Blend):
        estimator.members = [_compile(m, x) for m in estimator.members]
        return estimator
    if isinstance(estimator, Pipeline):
        return LinearModel.from_pipeline(estimator, x[:200])
    return estimator


def candidate_oof(
    data: Dataset,
    folds: Sequence[tuple[Any, Any]],
    ngram: FloatArray | None,
    cfg: TrainConfig,
    log: Callable[[str], None] = print,
) -> dict[str, FloatArray]:
    """Out-of-fold continuous predictions (n x 5) of every candidate kind."""
    n_dense = data.dense.shape[1]
    stacked = np.hstack([data.dense, ngram]) if ngram is not None else data.dense
    out: dict[str, FloatArray] = {}
    for kind in cfg.kinds:
        _, uses_ngram = _make(kind, 0, n_dense, cfg)
        if uses_ngram and ngram is None:
            continue
        if kind == "blend":
            if all(k in out for k in BLEND):  # the mean of already computed predictions
                out[kind] = np.mean([out[k] for k in BLEND], axis=0)
            continue
        x = stacked if uses_ngram else data.dense
        oof = np.zeros((len(data.rows), len(COMPETENCIES)))
        for tr, te in folds:
            for j in range(len(COMPETENCIES)):
                est = _fit(kind, j, x[tr], data.y[tr, j], n_dense, cfg)
                oof[te, j] = est.predict(x[te])
        out[kind] = oof
        log(f"  candidate {kind}: done")
    return out


def _confidence_table(
    values: FloatArray, y: NDArray[np.int64], fold_of: NDArray[np.int64]
) -> tuple[FloatArray, FloatArray]:
    """P(level within 40 points of the rater's) as a non-decreasing function of the distance to
    the nearest threshold. Within one level, not exact: ENEM itself accepts that much between two
    raters, and P(exact) is low for every essay on this single-rater data (useless for triage)."""
    from sklearn.isotonic import IsotonicRegression

    levels, per_fold = cross_fitted_levels(values, y, fold_of)
    dist = np.array(
        [float(np.min(np.abs(per_fold[int(k)] - v))) for v, k in zip(values, fold_of, strict=True)]
    )
    correct = (np.abs(levels - y) <= 40).astype(np.float64)
    iso = IsotonicRegression(increasing=True, out_of_bounds="clip").fit(dist, correct)
    grid = np.quantile(dist, np.linspace(0.0, 1.0, 21))
    return grid.astype(np.float64), np.asarray(iso.predict(grid), dtype=np.float64)


def _summary(y: NDArray[np.int64], levels: NDArray[np.int64]) -> dict[str, float]:
    out = {c: round(qwk_levels(y[:, j], levels[:, j]), 4) for j, c in enumerate(COMPETENCIES)}
    out["total"] = round(qwk_total(y.sum(axis=1), levels.sum(axis=1)), 4)
    out["total_rmse"] = round(rmse(y.sum(axis=1), levels.sum(axis=1)), 2)
    return out


def baseline_oof(data: Dataset, folds: Sequence[tuple[Any, Any]], cfg: TrainConfig) -> FloatArray:
    """Ridge on the five length features: the floor every competency must beat."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    idx = [data.feature_names.index(n) for n in BASELINE_FEATURES]
    x = data.dense[:, idx]
    oof = np.zeros((len(data.rows), len(COMPETENCIES)))
    for tr, te in folds:
        for j in range(len(COMPETENCIES)):
            m = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x[tr], data.y[tr, j])
            oof[te, j] = m.predict(x[te])
    return oof


def levels_of(
    oof: FloatArray, y: NDArray[np.int64], fold_of: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Cross-fitted levels for every competency column."""
    return np.column_stack(
        [cross_fitted_levels(oof[:, j], y[:, j], fold_of)[0] for j in range(len(COMPETENCIES))]
    )


def rule_report(
    data: Dataset, levels: NDArray[np.int64], cfg: RuleConfig
) -> tuple[dict[str, Any], NDArray[np.int64]]:
    """Apply the rules to out-of-fold levels: firing counts, false annulments, QWK after rules."""
    after = levels.copy()
    fired: dict[str, int] = {}
    false_annul: dict[str, int] = {}
    annulled_true_zero = 0
    checked: dict[str, int] = {"metrics": 0, "theme": 0, "proposal": 0}
    true_total = data.y.sum(axis=1)
    for i, row in enumerate(data.rows):
        results = data.results.get(row.id, {})
        for d in checked:
            checked[d] += int(d in results)
        out = apply_rules(
            dict(zip(COMPETENCIES, levels[i].tolist(), strict=True)), results, row.text, cfg
        )
        after[i] = [out.levels[c] for c in COMPETENCIES]
        for f in out.firings:
            fired[f.rule] = fired.get(f.rule, 0) + 1
            if out.annulled and true_total[i] >= 400 and f.effect.startswith("annulled"):
                false_annul[f.rule] = false_annul.get(f.rule, 0) + 1
        if out.annulled and true_total[i] == 0:
            annulled_true_zero += 1
    well = int((true_total >= 400).sum())
    return (
        {
            "essays_with_result": checked,
            "fired": fired,
            "well_scored_essays": well,
            "false_annulments_on_well_scored": false_annul,
            "annulled_and_truly_zero": annulled_true_zero,
            "truly_zero": int((true_total == 0).sum()),
        },
        after,
    )


def choose_rule_config(
    data: Dataset, levels: NDArray[np.int64], cfg: TrainConfig
) -> tuple[RuleConfig, dict[str, Any]]:
    """Keep each theme/proposal verdict as a score-changing rule only when the training data
    supports it; otherwise it becomes a review flag.

    An annulment rule must annul at most `max_false_annulment` of the well-scored (>= 400) essays
    that have a theme result AND must not lower the out-of-fold total QWK; the tangential cap must
    not lower the total QWK; the human-rights zeroing must not lower C5's QWK. Measured on the
    essays that have a theme result (a subsample when the theme dimension is too slow to run over
    the whole corpus).
    """
    rules = RuleConfig()
    true_total = data.y.sum(axis=1)
    themed = [i for i, r in enumerate(data.rows) if "theme" in data.results.get(r.id, {})]
    well_themed = sum(1 for i in themed if true_total[i] >= 400)
    decisions: dict[str, Any] = {"theme_essays": len(themed), "theme_well_scored": well_themed}

    def total_qwk(trial: RuleConfig) -> float:
        _, after = rule_report(data, levels, trial)
        return qwk_total(true_total, after.sum(axis=1))

    for rule, attr, strong in (
        ("off_topic", "off_topic_action", "annul"),
        ("not_dissertative", "not_dissertative_action", "annul"),
        ("tangential", "tangential_action", "cap"),
    ):
        strong_cfg = rules.model_copy(update={attr: strong})
        flag_cfg = rules.model_copy(update={attr: "flag"})
        q_strong, q_flag = total_qwk(strong_cfg), total_qwk(flag_cfg)
        entry: dict[str, Any] = {
            f"total_qwk_if_{strong}": round(q_strong, 4),
            "total_qwk_if_flag": round(q_flag, 4),
        }
        ok = bool(well_themed) and q_strong >= q_flag
        if strong == "annul":
            report, _ = rule_report(data, levels, strong_cfg)
            bad = report["false_annulments_on_well_scored"].get(rule, 0)
            rate = bad / well_themed if well_themed else math.nan
            entry["false_annulment_rate"] = round(rate, 4) if well_themed else None
            entry["fired"] = report["fired"].get(rule, 0)
            ok = ok and rate <= cfg.max_false_annulment
        setattr(rules, attr, strong if ok else "flag")
        entry["action"] = getattr(rules, attr)
        decisions[rule] = entry
    c5 = COMPETENCIES.index("c5")
    scores = {}
    for action in ("zero", "flag"):
        trial = rules.model_copy(update={"human_rights_action": action})
        _, after = rule_report(data, levels, trial)
        scores[action] = qwk_levels(data.y[:, c5], after[:, c5])
    rules.human_rights_action = "zero" if scores["zero"] >= scores["flag"] else "flag"
    decisions["human_rights"] = {
        "c5_qwk_if_zeroed": round(scores["zero"], 4),
        "c5_qwk_if_flagged": round(scores["flag"], 4),
        "action": rules.human_rights_action,
    }
    return rules, decisions


@dataclass
class TrainOutput:
    artifact: ModelArtifact
    card: dict[str, Any]


def train_model(
    data: Dataset,
    cfg: TrainConfig,
    dimension_versions: Mapping[str, str],
    data_description: Mapping[str, Any],
    log: Callable[[str], None] = print,
) -> TrainOutput:
    """Grouped CV of every candidate, per-competency selection, final refit; see module doc."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _train(data, cfg, dimension_versions, data_description, log)


def _train(
    data: Dataset,
    cfg: TrainConfig,
    dimension_versions: Mapping[str, str],
    data_description: Mapping[str, Any],
    log: Callable[[str], None],
) -> TrainOutput:
    np.random.seed(cfg.seed)
    folds = grouped_folds(data.groups, cfg.folds)
    fold_of = fold_ids(folds, len(data.rows))
    use_ngram = data.counts is not None and any(
        k in ("ngram", "stack_ridge", "stack_hgb") for k in cfg.kinds
    )
    log(
        f"{len(data.rows)} essays, {len(set(data.groups))} prompts, {len(folds)} grouped folds, "
        f"{data.dense.shape[1]} dense features"
    )
    ngram = ngram_oof(data, folds, cfg) if use_ngram else None
    if ngram is not None:
        log("  n-gram out-of-fold predictions: done")
    oofs = candidate_oof(data, folds, ngram, cfg, log)
    base = baseline_oof(data, folds, cfg)
    cv: dict[str, dict[str, float]] = {}
    for kind, oof in oofs.items():
        cv[kind] = _summary(data.y, levels_of(oof, data.y, fold_of))
    base_levels = levels_of(base, data.y, fold_of)
    cv["baseline"] = _summary(data.y, base_levels)
    chosen = {
        c: max(oofs, key=lambda k, j=j: (cv[k][COMPETENCIES[j]], -list(oofs).index(k)))  # type: ignore[misc]
        for j, c in enumerate(COMPETENCIES)
    }
    chosen_oof = np.column_stack([oofs[chosen[c]][:, j] for j, c in enumerate(COMPETENCIES)])
    chosen_levels = levels_of(chosen_oof, data.y, fold_of)
    selected = _summary(data.y, chosen_levels)
    sources = np.array([row.source for row in data.rows])
    by_source = {
        str(src): _summary(data.y[sources == src], chosen_levels[sources == src])
        for src in sorted(set(sources.tolist()))
    }
    rules, rule_decisions = choose_rule_config(data, chosen_levels, cfg)
    rules_stats, after = rule_report(data, chosen_levels, rules)
    with_rules = _summary(data.y, after)
    log(f"  selected: {chosen} -> {selected}")

    # Final refit on all data.
    n_dense = data.dense.shape[1]
    encoder = ngram_model = None
    stacked = data.dense
    if use_ngram and ngram is not None:
        assert data.counts is not None
        encoder, ngram_model = fit_ngram(data.counts, data.y, cfg)
        stacked = np.hstack([data.dense, ngram])
    competencies: dict[str, CompetencyModel] = {}
    for j, c in enumerate(COMPETENCIES):
        kind = chosen[c]
        _, uses_ngram = _make(kind, j, n_dense, cfg)
        x = stacked if uses_ngram else data.dense
        est = _compile(_fit(kind, j, x, data.y[:, j], n_dense, cfg), x)
        thresholds = optimise_thresholds(chosen_oof[:, j], data.y[:, j])
        conf_x, conf_y = _confidence_table(chosen_oof[:, j], data.y[:, j], fold_of)
        competencies[c] = CompetencyModel(
            kind=kind,
            estimator=est,
            uses_ngram=uses_ngram,
            thresholds=thresholds,
            confidence_x=conf_x,
            confidence_y=conf_y,
            oof_qwk=selected[c],
        )
    min_conf = np.min(
        [
            [competencies[c].confidence(float(v)) for v in chosen_oof[:, j]]
            for j, c in enumerate(COMPETENCIES)
        ],
        axis=0,
    )
    review_below = round(float(np.quantile(min_conf, cfg.review_share)), 4)
    trained_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    digest = hashlib.sha1(
        ("|".join(data.feature_names) + repr(sorted(chosen.items())) + str(cfg.seed)).encode()
    ).hexdigest()[:8]
    version = f"enem-scorer-1.{cfg.seed}-{digest}"
    card = _card(
        by_source,
        cfg,
        data,
        dimension_versions,
        data_description,
        cv,
        chosen,
        selected,
        with_rules,
        rules,
        rule_decisions,
        rules_stats,
        competencies,
        version,
        trained_at,
        review_below,
    )
    artifact = ModelArtifact(
        version=version,
        feature_names=list(data.feature_names),
        dimensions=list(cfg.dimensions),
        dimension_versions=dict(dimension_versions),
        ngram_encoder=encoder,
        ngram_model=ngram_model,
        competencies=competencies,
        rules=rules,
        review_below=review_below,
        trained_at=trained_at,
        seed=cfg.seed,
        card=card,
    )
    return TrainOutput(artifact=artifact, card=card)


def _versions() -> dict[str, str]:
    import joblib
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def _card(
    by_source: Mapping[str, Mapping[str, float]],
    cfg: TrainConfig,
    data: Dataset,
    dimension_versions: Mapping[str, str],
    data_description: Mapping[str, Any],
    cv: Mapping[str, Mapping[str, float]],
    chosen: Mapping[str, str],
    selected: Mapping[str, float],
    with_rules: Mapping[str, float],
    rules: RuleConfig,
    rule_decisions: Mapping[str, Any],
    rules_stats: Mapping[str, Any],
    competencies: Mapping[str, CompetencyModel],
    version: str,
    trained_at: str,
    review_below: float,
) -> dict[str, Any]:
    return {
        "model_version": version,
        "trained_at": trained_at,
        "seed": cfg.seed,
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.__dict__.items()},
        "data": dict(data_description),
        "features": {
            "dense": len(data.feature_names),
            "names": list(data.feature_names),
            "dimensions": list(cfg.dimensions),
            "dimension_versions": dict(dimension_versions),
            "ngram": f"hashed word 1-2 + char_wb 2-4 grams, 2x{cfg.ngram_features} buckets, TF-IDF",
        },
        "evaluation": {
            "method": f"GroupKFold({cfg.folds}) by prompt_id; thresholds cross-fitted "
            "(fold k's thresholds tuned on the other folds' out-of-fold predictions)",
            "qwk_by_candidate": {k: dict(v) for k, v in cv.items()},
            "chosen": dict(chosen),
            "qwk_selected": dict(selected),
            "qwk_selected_after_rules": dict(with_rules),
            "qwk_baseline": dict(cv["baseline"]),
            "qwk_selected_by_source": {k: dict(v) for k, v in by_source.items()},
        },
        "thresholds": {
            c: [round(float(t), 3) for t in m.thresholds] for c, m in competencies.items()
        },
        "rules": {
            "config": rules.model_dump(),
            "decisions": dict(rule_decisions),
            "oof": dict(rules_stats),
        },
        "review_below": review_below,
        "versions": _versions(),
    }


def card_markdown(card: Mapping[str, Any]) -> str:
    """The human-readable model card written beside `model_card.json`."""
    ev = card["evaluation"]
    cols = [*COMPETENCIES, "total", "total_rmse"]
    lines = [
        f"# ENEM scorer — model card (`{card['model_version']}`)",
        "",
        f"Trained {card['trained_at']} with seed {card['seed']} by `elysia train`.",
        "",
        "## Data",
        "",
        *[f"- {k}: {v}" for k, v in card["data"].items()],
        "",
        "## Features",
        "",
        f"- {card['features']['dense']} dense features: text statistics plus the metrics of the "
        f"dimensions {', '.join(card['features']['dimensions'])} "
        f"(versions {card['features']['dimension_versions']}).",
        f"- {card['features']['ngram']}.",
        "",
        "## Grouped cross-validation (QWK on levels; total in steps of 40)",
        "",
        f"{ev['method']}.",
        "",
        "| model | " + " | ".join(cols) + " |",
        "|---|" + "---|" * len(cols),
    ]
    for kind, scores in ev["qwk_by_candidate"].items():
        lines.append(f"| {kind} | " + " | ".join(f"{scores[c]:.3f}" for c in cols) + " |")
    for label, key in (
        ("**selected**", "qwk_selected"),
        ("selected + rules", "qwk_selected_after_rules"),
    ):
        lines.append(f"| {label} | " + " | ".join(f"{ev[key][c]:.3f}" for c in cols) + " |")
    for src, scores in ev.get("qwk_selected_by_source", {}).items():
        lines.append(
            f"| selected, {src} only | " + " | ".join(f"{scores[c]:.3f}" for c in cols) + " |"
        )
    lines += [
        "",
        f"Chosen per competency: {ev['chosen']}. Baseline = ridge on 5 length features.",
        "",
        "## Thresholds (continuous prediction -> level 40, 80, 120, 160, 200)",
        "",
        *[f"- {c}: {t}" for c, t in card["thresholds"].items()],
        "",
        "## Rules",
        "",
        f"- configuration: {card['rules']['config']}",
        f"- decisions on the training data: {card['rules']['decisions']}",
        f"- firings on out-of-fold predictions: {card['rules']['oof']}",
        "",
        "Confidence = P(level within 40 points of the rater's), calibrated out of fold. Human "
        f"review when a rule fires or a competency's confidence < {card['review_below']} "
        "(the 15 % least confident essays of the training data).",
        "",
        "## Versions",
        "",
        *[f"- {k} {v}" for k, v in card["versions"].items()],
        "",
    ]
    return "\n".join(lines)


def predict_levels(values: FloatArray, thresholds: FloatArray) -> NDArray[np.int64]:
    return apply_thresholds(values, thresholds)
