"""Quality of the `grammar` dimension (ENEM C1) on the hand-annotated gold set, plus speed.

    .venv/bin/python bench/analysis_quality_c1.py              # gold set + speed
    .venv/bin/python bench/analysis_quality_c1.py --corpus 200 # + density vs. C1 grade on the
                                                               #   ENEM essays in ../shared

Gold set: tests/analysis/gold/c1_gold.jsonl. "error" passages carry annotated spans (category
and expected correction); "clean" passages are correct ENEM-style prose (proper nouns,
numbers, quotations, legal citations). A gold error is found when an issue overlaps its span;
precision counts the issues on error passages that overlap an annotated span. Targets of the
issue: recall >= 0.85 and zero false flags on the clean passages.

Speed is measured on the gold passages after a warm-up, against an in-run baseline: the
Hunspell spelling pass alone over the same text (the cheapest useful checker), so the ratio
says what the rule engines cost on top of a dictionary lookup.

`evaluate_c1()` is imported by bench/analysis_quality.py.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from services.analysis import text as seg  # noqa: E402
from services.analysis.results import EssayInput  # noqa: E402
from services.analysis.rubric import get_rubric, load_dimension  # noqa: E402

GOLD = ROOT / "tests" / "analysis" / "gold" / "c1_gold.jsonl"
CORPUS = ROOT.parent / "shared" / "data" / "enem" / "essays.jsonl.gz"


def load_gold(path: Path = GOLD) -> list[dict[str, Any]]:
    """The gold passages, one dict per JSON line."""
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def score_gold(gold: list[dict[str, Any]], issues_by_id: dict[str, list[Any]]) -> dict[str, float]:
    """Recall, precision, per-category recall and clean-text false flags."""
    found = total = true_issues = all_issues = clean_flags = clean_texts = 0
    per_cat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in gold:
        spans = [(i.start, i.end) for i in issues_by_id[item["id"]]]
        if item["kind"] == "clean":
            clean_texts += 1
            clean_flags += len(spans)
            continue
        gold_spans = [(e["start"], e["end"]) for e in item["errors"]]
        for err, span in zip(item["errors"], gold_spans, strict=True):
            hit = any(_overlaps(span, s) for s in spans)
            total += 1
            found += hit
            per_cat[err["category"]][0] += hit
            per_cat[err["category"]][1] += 1
        all_issues += len(spans)
        true_issues += sum(any(_overlaps(s, g) for g in gold_spans) for s in spans)
    recall = found / total if total else 0.0
    precision = true_issues / all_issues if all_issues else 0.0
    result = {
        "recall": recall,
        "precision": precision,
        "f1": 2 * recall * precision / (recall + precision) if recall + precision else 0.0,
        "gold_errors": float(total),
        "gold_found": float(found),
        "clean_texts": float(clean_texts),
        "clean_false_flags": float(clean_flags),
    }
    for category, (hit, n) in sorted(per_cat.items()):
        result[f"recall_{category.replace('.', '_')}"] = hit / n
    return result


def evaluate_c1(measure_speed: bool = True) -> dict[str, float]:
    """Gold-set quality of the grammar dimension (and speed), as flat float metrics."""
    started = time.perf_counter()
    dimension = load_dimension(get_rubric("enem"), "grammar")
    load_seconds = time.perf_counter() - started
    gold = load_gold()
    issues = {g["id"]: dimension.analyse(EssayInput(text=g["text"])).issues for g in gold}
    result = score_gold(gold, issues)
    result["load_seconds"] = load_seconds
    if measure_speed:
        result.update(_speed(dimension, [g["text"] for g in gold]))
    return result


def _speed(dimension: Any, texts: list[str], rounds: int = 3) -> dict[str, float]:
    words = sum(len(seg.words(t)) for t in texts) * rounds
    started = time.perf_counter()
    for _ in range(rounds):
        for t in texts:
            dimension.analyse(EssayInput(text=t))
    full = time.perf_counter() - started
    spelling = dimension.checker.spelling
    started = time.perf_counter()
    for _ in range(rounds):
        for t in texts:
            spelling.check(t, seg.tokens(t), seg.sentences(t))
    base = time.perf_counter() - started
    return {
        "words_per_second": words / full,
        "baseline_spelling_words_per_second": words / base,
        "slowdown_vs_spelling_only": full / base,
    }


def corpus_density(limit: int, path: Path = CORPUS) -> dict[str, float]:
    """Mean error density per C1 level on up to `limit` ENEM essays per level (if available)."""
    if not path.exists():
        return {}
    dimension = load_dimension(get_rubric("enem"), "grammar")
    by_level: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            essay = json.loads(line)
            if len(by_level[essay["c1"]]) < limit:
                by_level[essay["c1"]].append(essay)
    out: dict[str, float] = {}
    pairs: list[tuple[float, int, int | None]] = []
    elapsed = 0.0
    words = 0
    for level in sorted(by_level):
        densities = []
        for essay in by_level[level]:
            started = time.perf_counter()
            result = dimension.analyse(EssayInput(text=essay["text"]))
            elapsed += time.perf_counter() - started
            words += int(result.metrics["words"])
            densities.append(result.metrics["errors_per_100_words"])
            pairs.append((result.metrics["errors_per_100_words"], level, result.level))
        out[f"mean_density_c1_{level}"] = statistics.mean(densities)
        out[f"n_c1_{level}"] = float(len(densities))
    if pairs:
        out["essays_ms_per_essay"] = 1000.0 * elapsed / len(pairs)
        out["essays_words_per_second"] = words / elapsed if elapsed else 0.0
    if len(pairs) > 2:
        out["spearman_density_vs_c1"] = _spearman([p[0] for p in pairs], [p[1] for p in pairs])
        predicted = [p[2] if p[2] is not None else 0 for p in pairs]
        out["exact_level_agreement"] = sum(
            int(p == t) for p, (_, t, _) in zip(predicted, pairs, strict=True)
        ) / len(pairs)
        out["within_40_agreement"] = sum(
            int(abs(p - t) <= 40) for p, (_, t, _) in zip(predicted, pairs, strict=True)
        ) / len(pairs)
    return out


def _ranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0
        i = j + 1
    return ranks


def _spearman(x: list[float], y: list[float]) -> float:
    rx, ry = _ranks(x), _ranks([float(v) for v in y])
    mx, my = statistics.mean(rx), statistics.mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sx = sum((a - mx) ** 2 for a in rx) ** 0.5
    sy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (sx * sy) if sx and sy else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=int, default=0, help="essays per C1 level (0 = skip)")
    args = parser.parse_args()
    result = evaluate_c1()
    print("C1 grammar dimension — gold set")
    for key, value in result.items():
        print(f"  {key:40s} {value:10.3f}")
    ok = result["recall"] >= 0.85 and result["clean_false_flags"] == 0
    print(f"  targets (recall >= 0.85, 0 false flags): {'MET' if ok else 'NOT MET'}")
    if args.corpus:
        print(f"ENEM corpus ({CORPUS}), up to {args.corpus} essays per C1 level")
        for key, value in corpus_density(args.corpus).items():
            print(f"  {key:40s} {value:10.3f}")


if __name__ == "__main__":
    main()
