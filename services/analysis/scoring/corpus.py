"""The training corpus and the (cached, parallel) extraction of dimension results over it.

Running the six dimensions over the 3,881 ENEM essays is the expensive part of training (grammar
and theme cost about a CPU second per essay each), so every result is cached on disk, keyed by
dimension version and essay id (`FeatureCache`), extracted by a small process pool, and training
uses whatever the cache holds for the dimensions it was asked to use.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.analysis.results import DimensionResult, EssayInput
from services.analysis.scoring.evaluate import COMPETENCIES
from services.analysis.scoring.features import FeatureCache, compact_result, result_from_compact


@dataclass(frozen=True)
class CorpusRow:
    """One scored essay of the training data, with its prompt text when the prompt file has it."""

    id: str
    source: str
    prompt_id: str
    title: str
    text: str
    prompt_text: str | None
    levels: dict[str, int]

    def essay(self) -> EssayInput:
        return EssayInput(
            text=self.text,
            title=self.title or None,
            prompt_text=self.prompt_text,
            prompt_id=self.prompt_id,
        )


def _read_jsonl_gz(path: Path) -> Iterable[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def stable_order(ids: Iterable[str]) -> list[str]:
    """Ids in a pseudo-random but fixed order (hash of the id): deterministic subsamples."""
    return sorted(ids, key=lambda i: hashlib.sha1(i.encode("utf-8")).hexdigest())


def prompt_grouped_sample(rows: Sequence[CorpusRow], size: int) -> list[str]:
    """Ids of whole prompts, in a fixed hashed prompt order, until about `size` essays.

    Whole prompts keep an expensive prompt-dependent dimension (theme embeds each prompt once)
    cheap on a subsample, and the order is fixed so the same call picks the same essays.
    """
    by_prompt: dict[str, list[str]] = {}
    for row in rows:
        by_prompt.setdefault(row.prompt_id, []).append(row.id)
    out: list[str] = []
    for prompt in stable_order(by_prompt):
        if len(out) >= size:
            break
        out.extend(sorted(by_prompt[prompt]))
    return out


def load_corpus(data_dir: Path, limit: int | None = None) -> list[CorpusRow]:
    """`essays.jsonl.gz` joined with `prompts.jsonl.gz`; `limit` keeps a fixed hashed subsample."""
    prompts: dict[str, str] = {}
    prompt_path = data_dir / "prompts.jsonl.gz"
    if prompt_path.exists():
        for p in _read_jsonl_gz(prompt_path):
            prompts[str(p["prompt_id"])] = str(p.get("prompt_text") or "")
    rows = [
        CorpusRow(
            id=str(r["id"]),
            source=str(r.get("source", "")),
            prompt_id=str(r["prompt_id"]),
            title=str(r.get("title") or ""),
            text=str(r["text"]),
            prompt_text=prompts.get(str(r["prompt_id"])) or None,
            levels={c: int(r[c]) for c in COMPETENCIES},
        )
        for r in _read_jsonl_gz(data_dir / "essays.jsonl.gz")
    ]
    if limit is not None and limit < len(rows):
        keep = set(stable_order(r.id for r in rows)[:limit])
        rows = [r for r in rows if r.id in keep]
    return rows


def dimension_version(rubric_name: str, dimension: str) -> str:
    """The version of a dimension, read from its class when possible (no model loading)."""
    import importlib

    from services.analysis.rubric import get_rubric, load_dimension

    rubric = get_rubric(rubric_name)
    module_name, _, attr = rubric.dimensions[dimension].partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    version = getattr(cls, "version", None)
    if isinstance(version, str):
        return version
    return load_dimension(rubric, dimension).version


def _worker_init() -> None:
    # Two processes on a shared 2-core machine: no nested thread pools.
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _extract_one(
    args: tuple[str, dict[str, Any], tuple[str, ...], str, str],
) -> tuple[str, dict[str, dict[str, Any]], dict[str, str]]:
    """Run the requested dimensions on one essay in a worker; write the cache there too."""
    essay_id, essay_data, dims, rubric_name, cache_root = args
    from services.analysis.pipeline import run_dimension
    from services.analysis.rubric import get_rubric

    rubric = get_rubric(rubric_name)
    essay = EssayInput(**essay_data)
    cache = FeatureCache(Path(cache_root))
    records: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for dim in dims:
        try:
            result = run_dimension(rubric, dim, essay)
        except Exception as exc:  # a dimension crash on one essay must not stop the corpus
            errors[dim] = f"{type(exc).__name__}: {exc}"
            continue
        record = compact_result(result)
        cache.put(dim, result.version, essay_id, record)
        records[dim] = record
    return essay_id, records, errors


def extract_dimensions(
    rows: Sequence[CorpusRow],
    dims_for_row: Callable[[CorpusRow], Sequence[str]],
    cache: FeatureCache,
    rubric_name: str = "enem",
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, dict[str, DimensionResult]]:
    """Dimension results for every row (cache first, missing ones computed by a process pool).

    `dims_for_row` says which dimensions each row needs (e.g. an expensive dimension only on a
    subsample). Returns essay id -> dimension -> (compact) result; failures are simply absent.
    """
    versions = {d: dimension_version(rubric_name, d) for d in _all_dims(rows, dims_for_row)}
    out: dict[str, dict[str, DimensionResult]] = {r.id: {} for r in rows}
    todo: list[tuple[str, dict[str, Any], tuple[str, ...], str, str]] = []
    for row in rows:
        missing: list[str] = []
        for dim in dims_for_row(row):
            record = cache.get(dim, versions[dim], row.id)
            if record is None:
                missing.append(dim)
            else:
                out[row.id][dim] = result_from_compact(record)
        if missing:
            essay = row.essay().model_dump()
            todo.append((row.id, essay, tuple(missing), rubric_name, str(cache.root)))
    done = 0
    if progress:
        progress(done, len(todo))
    if not todo:
        return out
    if workers <= 1:
        results: Iterable[tuple[str, dict[str, dict[str, Any]], dict[str, str]]] = map(
            _extract_one, todo
        )
        for essay_id, records, _errors in results:
            out[essay_id].update({d: result_from_compact(r) for d, r in records.items()})
            done += 1
            if progress:
                progress(done, len(todo))
        return out
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)
    try:
        for essay_id, records, _errors in pool.map(_extract_one, todo, chunksize=4):
            out[essay_id].update({d: result_from_compact(r) for d, r in records.items()})
            done += 1
            if progress:
                progress(done, len(todo))
    except BaseException:
        # Ctrl-C: drop the queued essays instead of finishing the corpus (what is done is cached).
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return out


def _all_dims(
    rows: Sequence[CorpusRow], dims_for_row: Callable[[CorpusRow], Sequence[str]]
) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        for d in dims_for_row(row):
            seen[d] = None
    return list(seen)


def cached_results(
    rows: Sequence[CorpusRow], dims: Sequence[str], cache: FeatureCache, rubric_name: str = "enem"
) -> dict[str, dict[str, DimensionResult]]:
    """What the cache already holds for `dims` (no extraction): the bench's fast path."""
    versions = {d: dimension_version(rubric_name, d) for d in dims}
    out: dict[str, dict[str, DimensionResult]] = {}
    for row in rows:
        got: dict[str, DimensionResult] = {}
        for dim in dims:
            record = cache.get(dim, versions[dim], row.id)
            if record is not None:
                got[dim] = result_from_compact(record)
        out[row.id] = got
    return out


def coverage(
    results: Mapping[str, Mapping[str, DimensionResult]], dims: Sequence[str]
) -> dict[str, int]:
    """How many essays have a result for each dimension."""
    return {d: sum(1 for r in results.values() if d in r) for d in dims}
