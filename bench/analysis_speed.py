"""How fast is each ENEM dimension? Prints per-dimension latency, CPU per 400-word essay, load time.

Usage:
    .venv/bin/python bench/analysis_speed.py [--limit 200] [--data PATH] [--dimensions a,b]
                                             [--segmenter]

Every dimension of the ENEM rubric is loaded through `services.analysis.rubric.load_dimension`
(a dimension whose module does not import yet is skipped with a note) and run over the first
`--limit` essays of the shared ENEM set. Reported per dimension: model load time (import +
construction), wall ms/essay (mean, p50, p95) and CPU ms/essay (this process plus waited-for
children; on a shared machine wall time includes waiting for a core, CPU time does not).
The total CPU seconds are normalised to a 400-word essay (sum of CPU / sum of words x 400)
and compared with the issue's target (<= 1.5 s for all dimensions together). The floor,
measured in the same run, is a plain `str.split()` word count over the same essays; every
figure is also printed as a ratio to it.

`--segmenter` also compares `services.analysis.text.sentences` with the SRX segmenter
`choppa-srx` (LanguageTool's Portuguese rules) on the same essays, if it is installed: speed and
how many essays get a different split.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.analysis.results import EssayInput  # noqa: E402
from services.analysis.rubric import ENEM, load_dimension  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/enem/essays.jsonl.gz")
TARGET_CPU_S_PER_400 = 1.5


def load_essays(path: Path, limit: int) -> list[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    out: list[dict[str, Any]] = []
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                out.append(json.loads(line))
            if len(out) >= limit:
                break
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def baseline(texts: list[str], repeat: int = 20) -> float:
    """CPU seconds of one `str.split()` word-count pass (best of `repeat`)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        total = sum(len(t.split()) for t in texts)
        best = min(best, time.process_time() - t0)
    assert total >= 0
    return max(best, 1e-9)


def cpu_seconds() -> float:
    """User + system CPU of this process and of any child processes it waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_dimensions(
    names: list[str], inputs: list[EssayInput], floor_cpu: float
) -> tuple[float, list[str]]:
    """Run each dimension; print its row; return total CPU seconds and the names that ran."""
    total_cpu = 0.0
    ran: list[str] = []
    header = (
        f"{'dimension':<14}{'load s':>8}{'mean ms':>9}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'cpu ms':>8}{'x floor':>10}{'rss MiB':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in names:
        t0 = time.perf_counter()
        try:
            dim = load_dimension(ENEM, name)
        except (ImportError, AttributeError) as exc:
            print(
                f"{name:<14} skipped: module does not import yet ({exc.__class__.__name__}: {exc})"
            )
            continue
        load_s = time.perf_counter() - t0
        walls: list[float] = []
        c0 = cpu_seconds()
        for essay in inputs:
            w0 = time.perf_counter()
            dim.analyse(essay)
            walls.append((time.perf_counter() - w0) * 1000)
        cpu = cpu_seconds() - c0
        total_cpu += cpu
        ran.append(name)
        print(
            f"{name:<14}{load_s:>8.2f}{statistics.fmean(walls):>9.2f}"
            f"{percentile(walls, 0.5):>8.2f}{percentile(walls, 0.95):>8.2f}"
            f"{cpu * 1000 / len(inputs):>8.2f}{cpu / floor_cpu:>10.0f}{peak_rss_mib():>9.0f}"
        )
    return total_cpu, ran


def bench_segmenter(texts: list[str]) -> None:
    from services.analysis.text import sentences

    try:
        import choppa  # type: ignore[import-not-found]
        from choppa import SrxDocument, SrxTextIterator
    except ImportError:
        print("segmenter: choppa-srx is not installed (pip install choppa-srx); comparison skipped")
        return
    srx = Path(choppa.__file__).parent / "data" / "srx" / "languagetool_segment.srx"
    doc = SrxDocument(ruleset=str(srx))

    def srx_split(t: str) -> list[str]:
        return [s.strip() for s in SrxTextIterator(doc, "pt_one", t) if s.strip()]

    t0 = time.process_time()
    ours = [[s.text for s in sentences(t)] for t in texts]
    t_ours = time.process_time() - t0
    t0 = time.process_time()
    theirs = [srx_split(t) for t in texts]
    t_srx = time.process_time() - t0
    differ = sum(a != b for a, b in zip(ours, theirs, strict=True))
    print(
        f"segmenter: rules {t_ours * 1000 / len(texts):.3f} ms/essay, "
        f"{sum(map(len, ours))} sentences; choppa-srx {t_srx * 1000 / len(texts):.3f} ms/essay, "
        f"{sum(map(len, theirs))} sentences; ratio srx/rules {t_srx / max(t_ours, 1e-9):.1f}; "
        f"{differ}/{len(texts)} essays split differently"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dimensions", default=",".join(ENEM.dimension_names))
    parser.add_argument("--segmenter", action="store_true")
    args = parser.parse_args()

    essays = load_essays(args.data, args.limit)
    texts = [e["text"] for e in essays]
    inputs = [
        EssayInput(text=e["text"], title=e.get("title") or None, prompt_id=e.get("prompt_id"))
        for e in essays
    ]
    words = sum(len(t.split()) for t in texts)
    floor_cpu = baseline(texts)
    print(
        f"{len(essays)} essays from {args.data}, {words / len(essays):.0f} words/essay; "
        f"floor (str.split word count): {floor_cpu * 1e6 / len(essays):.2f} µs/essay"
    )
    total_cpu, ran = bench_dimensions(args.dimensions.split(","), inputs, floor_cpu)
    if ran:
        per_400 = total_cpu / words * 400
        verdict = "within" if per_400 <= TARGET_CPU_S_PER_400 else "ABOVE"
        print(
            f"all {len(ran)} dimensions ({', '.join(ran)}): {per_400:.3f} CPU s per 400-word "
            f"essay ({verdict} the {TARGET_CPU_S_PER_400} s target); "
            f"{total_cpu / floor_cpu:.0f}x the str.split floor; peak RSS {peak_rss_mib():.0f} MiB"
        )
    if args.segmenter:
        bench_segmenter(texts)


if __name__ == "__main__":
    main()
