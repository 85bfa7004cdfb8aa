"""ENEM scorer evaluation: prompt-grouped CV QWK per competency and total, against a baseline.

    .venv/bin/python bench/score_eval.py [--data DIR] [--folds 5] [--limit N] [--no-ngram]
                                         [--timing-essays 20] [--analysis-essays 3]

Prints, from ONE run on the shared data (dimension results read from the feature cache,
`~/.cache/elysia/features`, filled by `elysia train`; missing ones count as absent):
- grouped-CV QWK (GroupKFold on prompt_id, thresholds cross-fitted) of every candidate model,
  the per-competency selection, the selection after the ENEM rules, and the baseline (ridge on 5
  length features), plus the RMSE of the total;
- the shipped model's load time and scoring time per essay (model + rules on cached dimension
  results), next to the time the six dimensions take on a few essays (the analysis it sits on).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from services.analysis.results import EssayInput
from services.analysis.scoring.corpus import cached_results, dimension_version, load_corpus
from services.analysis.scoring.evaluate import COMPETENCIES
from services.analysis.scoring.features import DIMENSIONS, FeatureCache, NgramEncoder
from services.analysis.scoring.model import default_model_path, load_artifact, load_scorer
from services.analysis.scoring.train import KINDS, TrainConfig, build_dataset, train_model

COLS = [*COMPETENCIES, "total", "total_rmse"]
_COLD_START = (
    "import time; t = time.perf_counter(); "
    "from services.analysis.scoring.model import load_default_scorer; load_default_scorer(); "
    "print(time.perf_counter() - t)"
)


def _row(label: str, scores: dict[str, float]) -> str:
    return f"{label:<20}" + "".join(f"{scores[c]:>10.3f}" for c in COLS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/enem"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--no-ngram", action="store_true")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--timing-essays", type=int, default=20)
    ap.add_argument("--analysis-essays", type=int, default=3)
    args = ap.parse_args()

    # Cold start in a fresh process: imports (sklearn, scipy) plus the model file, which is what
    # a worker pays once when the rubric registry first asks for the scorer.
    cold = subprocess.run(
        [sys.executable, "-c", _COLD_START],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    cold_s = float(cold.stdout.strip())
    started = time.perf_counter()
    artifact = load_artifact(default_model_path())
    load_s = time.perf_counter() - started
    dims = tuple(artifact.dimensions)
    rule_dims = tuple(d for d in ("theme",) if d not in dims)

    rows = load_corpus(args.data, limit=args.limit)
    cache = (
        FeatureCache(args.cache)
        if args.cache
        else FeatureCache(Path.home() / ".cache/elysia/features")
    )
    results = cached_results(rows, (*dims, *rule_dims), cache)
    cfg = TrainConfig(
        seed=args.seed,
        folds=args.folds,
        dimensions=dims,
        kinds=tuple(k for k in KINDS if not args.no_ngram or k in ("ridge", "hgb")),
    )
    encoder = None if args.no_ngram else NgramEncoder(cfg.ngram_features)
    data = build_dataset(rows, results, dims, encoder)
    versions = {d: dimension_version("enem", d) for d in (*dims, *rule_dims)}
    out = train_model(data, cfg, versions, {"essays": len(rows)}, log=lambda s: None)
    ev = out.card["evaluation"]
    print(f"{len(rows)} essays, {len({r.prompt_id for r in rows})} prompts, {args.folds} folds")
    print(f"{'QWK':<20}" + "".join(f"{c:>10}" for c in COLS))
    for kind, scores in ev["qwk_by_candidate"].items():
        if kind != "baseline":
            print(_row(kind, scores))
    print(_row("SELECTED", ev["qwk_selected"]))
    print(_row("selected+rules", ev["qwk_selected_after_rules"]))
    print(_row("BASELINE", ev["qwk_baseline"]))
    print("chosen:", ev["chosen"])
    gain = {
        c: round(ev["qwk_selected"][c] - ev["qwk_baseline"][c], 3) for c in (*COMPETENCIES, "total")
    }
    print("selected - baseline:", gain)
    print("rules:", out.card["rules"]["oof"])

    # Timing of the SHIPPED model on cached dimension results.
    scorer = load_scorer(default_model_path())
    sample = rows[: args.timing_essays]
    times = []
    for row in sample:
        essay = EssayInput(text=row.text, title=row.title or None, prompt_text=row.prompt_text)
        got = results.get(row.id, {})
        t0 = time.perf_counter()
        scorer.score(essay, got)
        times.append((time.perf_counter() - t0) * 1000.0)
    score_ms = statistics.median(times[1:] or times)
    print(
        f"model load: {load_s:.2f} s file only, {cold_s:.2f} s cold (fresh process with its "
        f"imports; target <= 2 s); scoring: median {score_ms:.1f} ms/essay (target <= 50 ms), "
        f"max {max(times):.1f} ms"
    )
    if args.analysis_essays:
        from services.analysis.pipeline import run_dimension
        from services.analysis.rubric import get_rubric, load_dimension

        rubric = get_rubric("enem")
        for d in DIMENSIONS:
            load_dimension(rubric, d)
        spent = []
        for row in rows[: args.analysis_essays]:
            essay = EssayInput(text=row.text, title=row.title or None, prompt_text=row.prompt_text)
            t0 = time.perf_counter()
            for d in DIMENSIONS:
                run_dimension(rubric, d, essay)
            spent.append((time.perf_counter() - t0) * 1000.0)
        analysis_ms = statistics.median(spent)
        print(
            f"analysis (six dimensions): median {analysis_ms:.0f} ms/essay; scoring adds "
            f"{score_ms / analysis_ms:.1%} on top"
        )


if __name__ == "__main__":
    main()
