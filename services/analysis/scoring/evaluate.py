"""Evaluation maths shared by training, the bench and the model card.

Quadratic weighted kappa (QWK) on ENEM levels is the agreement measure of the essay-scoring
literature (Essay-BR reports it), so every model choice here is made by QWK measured with
prompt-grouped cross-validation: essays of one prompt never sit on both sides of a split, which is
what "an unseen essay on an unseen prompt" looks like in production.

A regressor predicts a continuous value; mapping it to the level grid with thresholds tuned on
out-of-fold predictions (instead of plain rounding) is the classic QWK trick. To report an honest
figure, `cross_fitted_levels` tunes the thresholds for fold k on the OTHER folds' out-of-fold
predictions only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import GroupKFold

LEVELS: tuple[int, ...] = (0, 40, 80, 120, 160, 200)
COMPETENCIES: tuple[str, ...] = ("c1", "c2", "c3", "c4", "c5")
TOTAL_STEP = 40
TOTAL_CLASSES = 1000 // TOTAL_STEP + 1

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def qwk(
    y_true: Sequence[int] | IntArray, y_pred: Sequence[int] | IntArray, n_classes: int
) -> float:
    """Quadratic weighted kappa of two integer label vectors in 0..n_classes-1.

    Hand-written (a few numpy lines) because the threshold search calls it thousands of times and
    sklearn's `cohen_kappa_score` validates its inputs on every call.
    """
    a = np.asarray(y_true, dtype=np.int64)
    b = np.asarray(y_pred, dtype=np.int64)
    if a.size == 0:
        return 0.0
    observed = np.zeros((n_classes, n_classes), dtype=np.float64)
    np.add.at(observed, (a, b), 1.0)
    hist_a = observed.sum(axis=1)
    hist_b = observed.sum(axis=0)
    expected = np.outer(hist_a, hist_b) / a.size
    idx = np.arange(n_classes, dtype=np.float64)
    weights = (idx[:, None] - idx[None, :]) ** 2 / max((n_classes - 1) ** 2, 1)
    denom = float((weights * expected).sum())
    if denom == 0.0:
        return 1.0 if float((weights * observed).sum()) == 0.0 else 0.0
    return 1.0 - float((weights * observed).sum()) / denom


def level_index(levels: Sequence[int] | IntArray) -> IntArray:
    """ENEM level (0..200) -> class index 0..5."""
    return np.asarray(np.rint(np.asarray(levels, dtype=np.float64) / 40.0), dtype=np.int64)


def qwk_levels(y_true: Sequence[int] | IntArray, y_pred: Sequence[int] | IntArray) -> float:
    """QWK of two vectors of competency levels (0, 40, ..., 200)."""
    return qwk(level_index(y_true), level_index(y_pred), len(LEVELS))


def qwk_total(y_true: Sequence[int] | IntArray, y_pred: Sequence[int] | IntArray) -> float:
    """QWK of two vectors of totals (0..1000 in steps of 40)."""
    t = np.clip(np.rint(np.asarray(y_true, dtype=np.float64) / TOTAL_STEP), 0, TOTAL_CLASSES - 1)
    p = np.clip(np.rint(np.asarray(y_pred, dtype=np.float64) / TOTAL_STEP), 0, TOTAL_CLASSES - 1)
    return qwk(t.astype(np.int64), p.astype(np.int64), TOTAL_CLASSES)


def rmse(y_true: Sequence[float] | FloatArray, y_pred: Sequence[float] | FloatArray) -> float:
    diff = np.asarray(y_true, dtype=np.float64) - np.asarray(y_pred, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2))) if diff.size else 0.0


def default_thresholds() -> FloatArray:
    """Mid-points between levels: plain rounding to the nearest level."""
    return np.array([20.0, 60.0, 100.0, 140.0, 180.0])


def apply_thresholds(values: Sequence[float] | FloatArray, thresholds: FloatArray) -> IntArray:
    """Continuous predictions -> levels on the grid (value >= threshold i -> at least level i+1)."""
    idx = np.searchsorted(
        np.asarray(thresholds), np.asarray(values, dtype=np.float64), side="right"
    )
    return np.asarray(idx, dtype=np.int64) * 40


def optimise_thresholds(
    values: Sequence[float] | FloatArray, y_true: Sequence[int] | IntArray, passes: int = 3
) -> FloatArray:
    """Thresholds maximising QWK of `apply_thresholds(values)` against `y_true`.

    Coordinate search over the observed prediction quantiles (deterministic, no random restarts):
    each threshold in turn moves to the candidate between its neighbours that maximises QWK.
    """
    v = np.asarray(values, dtype=np.float64)
    y = level_index(y_true)
    thr = default_thresholds().copy()
    if v.size < 10:
        return thr
    candidates = np.unique(np.quantile(v, np.linspace(0.0, 1.0, 201)))
    for _ in range(passes):
        changed = False
        for i in range(len(thr)):
            lo = thr[i - 1] if i > 0 else -np.inf
            hi = thr[i + 1] if i < len(thr) - 1 else np.inf
            best_score = qwk(y, apply_thresholds(v, thr) // 40, len(LEVELS))
            best_value = thr[i]
            for c in candidates:
                if not lo < c < hi:
                    continue
                trial = thr.copy()
                trial[i] = c
                score = qwk(y, apply_thresholds(v, trial) // 40, len(LEVELS))
                if score > best_score + 1e-12:
                    best_score, best_value = score, float(c)
            if best_value != thr[i]:
                thr[i] = best_value
                changed = True
        if not changed:
            break
    return thr


def grouped_folds(groups: Sequence[str], n_folds: int) -> list[tuple[IntArray, IntArray]]:
    """(train, test) index pairs with every prompt entirely on one side (deterministic)."""
    g = np.asarray(groups)
    n_groups = len(set(g.tolist()))
    splitter = GroupKFold(n_splits=min(n_folds, n_groups))
    dummy = np.zeros(len(g))
    return [
        (np.asarray(tr, dtype=np.int64), np.asarray(te, dtype=np.int64))
        for tr, te in splitter.split(dummy, groups=g)
    ]


def fold_ids(folds: Sequence[tuple[IntArray, IntArray]], n: int) -> IntArray:
    """For each row, the index of the fold in which it is a test row."""
    out = np.full(n, -1, dtype=np.int64)
    for k, (_, te) in enumerate(folds):
        out[te] = k
    return out


def cross_fitted_levels(
    oof: FloatArray, y_true: IntArray, fold_of: IntArray
) -> tuple[IntArray, list[FloatArray]]:
    """Levels for out-of-fold predictions, fold k's thresholds tuned on the other folds only."""
    levels = np.zeros(len(oof), dtype=np.int64)
    per_fold: list[FloatArray] = []
    for k in sorted(set(fold_of.tolist())):
        test = fold_of == k
        train = ~test
        thr = optimise_thresholds(oof[train], y_true[train])
        per_fold.append(thr)
        levels[test] = apply_thresholds(oof[test], thr)
    return levels, per_fold
