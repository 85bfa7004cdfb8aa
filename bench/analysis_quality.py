"""Quality of the analysis dimensions against gold data: C5 elements, C1 (imported), theme check.

Usage:
    .venv/bin/python bench/analysis_quality.py                 # C5 + C1 + theme sample of 20
    .venv/bin/python bench/analysis_quality.py --theme-sample 200
    .venv/bin/python bench/analysis_quality.py --no-theme --verbose

C5 — `tests/analysis/gold/c5_gold.jsonl`: hand-written ENEM conclusions, each element annotated
with exact substring spans (written before the detector was tuned). A predicted span MATCHES a
gold span of the same element when they overlap by at least half of the shorter of the two: the
position must be right, while the exact extent of a clause ("promover campanhas" vs "promover
campanhas de conscientização") is a matter of convention. Precision = matched predictions /
predictions, recall = matched gold spans / gold spans (micro over the whole set). The baseline
printed beside it is a naive marker-only detector (first marker to end of sentence), measured in
the same run, so the figure says what the role/clause logic adds.

C1 — `evaluate_c1()` from `bench/analysis_quality_c1.py` (the grammar engineer's bench).

Theme — mean `prompt_similarity` of (essay, its own prompt) vs (essay, another prompt) on a
seeded sample of the shared ENEM data (`/work/shared/data/enem`), and how often each pair is
flagged off-topic: the evidence that the off-topic flag separates the two.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from services.analysis.results import EssayInput  # noqa: E402

GOLD_C5 = ROOT / "tests" / "analysis" / "gold" / "c5_gold.jsonl"
# Written after the detector. Its first run (before any change) gave per-element F1 agent 0.63,
# action 0.64, means 0.83, purpose 0.92, detailing 0.44 (macro 0.69): the honest generalisation
# figure. Its misses then prompted generic fixes (agent complements, passive subjects, relative
# pronouns), so the figure printed now is no longer a clean held-out measure.
HOLDOUT_C5 = ROOT / "tests" / "analysis" / "gold" / "c5_holdout.jsonl"
SHARED_ENEM = ROOT.parent / "shared" / "data" / "enem"
ELEMENTS = ("agent", "action", "means", "purpose", "detailing")

Spans = dict[str, list[tuple[int, int]]]


def load_gold(path: Path = GOLD_C5) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def spans_match(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Overlap of at least half the shorter span (see module docstring)."""
    inter = min(a[1], b[1]) - max(a[0], b[0])
    return inter > 0 and inter >= 0.5 * min(a[1] - a[0], b[1] - b[0])


def score_spans(gold: list[Spans], pred: list[Spans]) -> dict[str, dict[str, float]]:
    """Per-element micro precision/recall/F1 over paired documents."""
    out: dict[str, dict[str, float]] = {}
    for e in ELEMENTS:
        tp_pred = n_pred = tp_gold = n_gold = 0
        for g, p in zip(gold, pred, strict=True):
            gs, ps = g.get(e, []), p.get(e, [])
            n_pred += len(ps)
            n_gold += len(gs)
            tp_pred += sum(any(spans_match(x, y) for y in gs) for x in ps)
            tp_gold += sum(any(spans_match(y, x) for x in ps) for y in gs)
        precision = tp_pred / n_pred if n_pred else 1.0
        recall = tp_gold / n_gold if n_gold else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[e] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "gold": float(n_gold),
            "predicted": float(n_pred),
        }
    return out


def gold_spans(item: dict[str, Any]) -> Spans:
    return {e: [(s["start"], s["end"]) for s in item["elements"][e]] for e in ELEMENTS}


def proposal_spans(text: str) -> Spans:
    """The detector under test: `ProposalDimension.analyse` on the paragraph alone."""
    result = _proposal().analyse(EssayInput(text=text))
    return {e: [(s["start"], s["end"]) for s in result.details["elements"][e]] for e in ELEMENTS}


_PROPOSAL: Any = None


def _proposal() -> Any:
    global _PROPOSAL
    if _PROPOSAL is None:
        from services.analysis.dimensions.proposal import ProposalDimension

        _PROPOSAL = ProposalDimension()
    return _PROPOSAL


_NAIVE = {
    "means": r"\b(por meio d\w*|mediante|atrav[ée]s d\w*|por intermédio d\w*)",
    "purpose": r"\b(a fim de|para que|com o (intuito|objetivo) de|visando)",
    "detailing": r"\b(ou seja|isto é|por exemplo|como)\b",
    "action": r"\b(deve|devem|precisa|precisam)\s",
    "agent": r"\b(governo|estado|ministério|escolas?|mídia|ongs?|família|sociedade)\b",
}


def naive_spans(text: str) -> Spans:
    """Baseline: every marker opens a span that runs to the end of its sentence."""
    out: Spans = {e: [] for e in ELEMENTS}
    for e, pattern in _NAIVE.items():
        for m in re.finditer(pattern, text, flags=re.IGNORECASE):
            end = len(text)
            stop = re.search(r"[.!?]", text[m.end() :])
            if stop:
                end = m.end() + stop.start()
            out[e].append((m.start(), end))
    return out


def evaluate_c5(
    detector: Callable[[str], Spans] = proposal_spans, path: Path = GOLD_C5
) -> dict[str, dict[str, float]]:
    gold = load_gold(path)
    return score_spans([gold_spans(g) for g in gold], [detector(g["text"]) for g in gold])


def c5_mistakes(path: Path = GOLD_C5) -> Iterable[str]:
    """Human-readable misses and false positives (for --verbose)."""
    for item in load_gold(path):
        g, p, text = gold_spans(item), proposal_spans(item["text"]), item["text"]
        for e in ELEMENTS:
            for y in g[e]:
                if not any(spans_match(x, y) for x in p[e]):
                    yield f"{item['id']} MISS {e}: {text[y[0] : y[1]]!r}"
            for x in p[e]:
                if not any(spans_match(x, y) for y in g[e]):
                    yield f"{item['id']} FP   {e}: {text[x[0] : x[1]]!r}"


def print_c5(verbose: bool, path: Path = GOLD_C5, label: str = "gold set") -> None:
    started = time.perf_counter()
    ours = evaluate_c5(path=path)
    elapsed = time.perf_counter() - started
    base = evaluate_c5(naive_spans, path=path)
    gold = load_gold(path)
    n = len(gold)
    print(f"== C5 proposal elements — {label}: {n} conclusions ({elapsed * 1000:.0f} ms)")
    print(f"{'element':<10} {'gold':>5} {'pred':>5} {'P':>6} {'R':>6} {'F1':>6}   naive F1  ratio")
    for e in ELEMENTS:
        r, b = ours[e], base[e]
        ratio = r["f1"] / b["f1"] if b["f1"] else float("inf")
        print(
            f"{e:<10} {r['gold']:>5.0f} {r['predicted']:>5.0f} {r['precision']:>6.2f} "
            f"{r['recall']:>6.2f} {r['f1']:>6.2f}   {b['f1']:>8.2f}  {ratio:>5.2f}x"
        )
    macro = sum(ours[e]["f1"] for e in ELEMENTS) / len(ELEMENTS)
    print(f"macro F1 {macro:.3f} (target on the gold set: every element >= 0.80)")
    hr_ok = sum(
        bool(_proposal().analyse(EssayInput(text=g["text"])).details["human_rights_violation"])
        == g["human_rights_violation"]
        for g in gold
    )
    print(f"human-rights flag agrees with the annotation on {hr_ok}/{n}")
    if verbose:
        for line in c5_mistakes(path):
            print("   ", line)


def print_c1() -> None:
    print("== C1 grammar")
    try:
        from analysis_quality_c1 import evaluate_c1  # type: ignore[import-not-found]
    except ImportError as exc:
        print(f"NOTE: bench/analysis_quality_c1.py is not available yet ({exc}); C1 skipped.")
        return
    result = evaluate_c1()
    if result is not None:
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))


def _load_enem() -> tuple[list[dict[str, Any]], dict[str, str]]:
    with gzip.open(SHARED_ENEM / "prompts.jsonl.gz", "rt", encoding="utf-8") as fh:
        prompts = {p["prompt_id"]: p["prompt_text"] for p in map(json.loads, fh)}
    with gzip.open(SHARED_ENEM / "essays.jsonl.gz", "rt", encoding="utf-8") as fh:
        essays = [e for e in map(json.loads, fh) if e.get("prompt_id") in prompts]
    return essays, prompts


def print_theme(sample: int, seed: int = 7) -> None:
    print(f"== theme: own-prompt vs other-prompt similarity (sample {sample}, seed {seed})")
    if not (SHARED_ENEM / "essays.jsonl.gz").exists():
        print(f"NOTE: {SHARED_ENEM} not found; theme check skipped.")
        return
    from services.analysis.dimensions.theme import ThemeDimension

    essays, prompts = _load_enem()
    rng = random.Random(seed)
    chosen = rng.sample(essays, min(sample, len(essays)))
    pids = sorted(prompts)
    theme = ThemeDimension()
    rows: list[tuple[int, float, float, bool, bool, bool, bool, float, float]] = []
    started = time.perf_counter()
    for e in chosen:
        other = rng.choice([p for p in pids if p != e["prompt_id"]])
        own_r = theme.analyse(EssayInput(text=e["text"], prompt_text=prompts[e["prompt_id"]]))
        oth_r = theme.analyse(EssayInput(text=e["text"], prompt_text=prompts[other]))
        rows.append(
            (
                e["c2"],
                own_r.metrics["prompt_similarity"],
                oth_r.metrics["prompt_similarity"],
                bool(own_r.details["off_topic"]),
                bool(oth_r.details["off_topic"]),
                bool(own_r.details["tangential"]),
                bool(oth_r.details["tangential"]),
                own_r.metrics["prompt_similarity_raw"],
                oth_r.metrics["prompt_similarity_raw"],
            )
        )
    elapsed = time.perf_counter() - started
    n = len(rows)
    own = [r[1] for r in rows]
    oth = [r[2] for r in rows]
    auc = sum(a > b for a in own for b in oth) / (n * n)
    raw_own = [r[7] for r in rows]
    raw_oth = [r[8] for r in rows]
    raw_auc = sum(a > b for a in raw_own for b in raw_oth) / (n * n)
    print(f"pairs {n} x 2 in {elapsed:.1f} s ({elapsed / (2 * n) * 1000:.0f} ms/analysis)")
    print(f"mean prompt_similarity own prompt   {sum(own) / n:.3f}")
    print(f"mean prompt_similarity other prompt {sum(oth) / n:.3f}")
    print(f"difference own - other {(sum(own) - sum(oth)) / n:.3f}  AUC(own > other) {auc:.3f}")
    print(
        f"baseline, raw cosine (same run): own {sum(raw_own) / n:.3f}, other "
        f"{sum(raw_oth) / n:.3f}, AUC {raw_auc:.3f}; centred/raw AUC ratio {auc / raw_auc:.2f}x"
    )
    print(
        f"off_topic flagged: own {sum(r[3] for r in rows)}/{n}, "
        f"other {sum(r[4] for r in rows)}/{n}; tangential: own {sum(r[5] for r in rows)}/{n}, "
        f"other {sum(r[6] for r in rows)}/{n}"
    )
    zero = [r for r in rows if r[0] == 0]
    if zero:
        print(
            f"essays with c2 == 0 in sample: {len(zero)}, mean own similarity "
            f"{sum(r[1] for r in zero) / len(zero):.3f}, "
            f"flagged off-topic {sum(r[3] for r in zero)}"
        )
    print(f"own-prompt essays with c2 > 0 flagged off-topic: {sum(r[3] for r in rows if r[0] > 0)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--theme-sample", type=int, default=20)
    parser.add_argument("--no-theme", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    print_c5(args.verbose)
    print()
    print_c5(args.verbose, HOLDOUT_C5, "second set (first run macro F1 0.69, see HOLDOUT_C5)")
    print()
    print_c1()
    if not args.no_theme:
        print()
        print_theme(args.theme_sample)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
