"""Where a worker's CPU goes per essay: the analysis itself vs the platform around it.

`bench/flow.py` measures the platform's overhead as a whole; this script splits it, so the
benchmark report can name its cause. A real gateway (child process) accepts the essays; the
worker loop (`services.workers.runner.run_worker`, every queue, burst mode) runs in THIS process
under cProfile with a CPU clock (both rounds), against the real servers.

Two rounds of `--essays` essays each (different essays, same corpus):
- cold: the first essays a freshly started worker sees (models are preloaded before it, as the
  real worker does); its CPU minus the warm round's is the per-process warm-up that every new
  worker pays on its first essays (lazy compilation and caches; regex compilation is shown);
- warm: the steady state. Its CPU is split by call-tree boundaries into the analysis (the
  dimensions' `run_dimension` and the scorer) and the platform parts: S3 reads of the essay,
  MongoDB work (every `ctx.run`), RQ's own job handling (everything in `Worker.work` outside
  the job functions) and the rest of the task code (events, metrics, Redis duration records).

cProfile slows Python code (roughly ×1.3–2): the shares are the figure to read, the absolute
milliseconds are inflated. Needs `scripts/infra/up`. Usage: python bench/worker_profile.py
[--essays 12]. The last line printed is a JSON object (read by bench/run_all.py).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dotenv import load_dotenv  # noqa: E402

from bench.common import cleanup, load_texts  # noqa: E402
from services.core.config import Settings  # noqa: E402
from tests.harness import Platform  # noqa: E402

# (label, file suffix, function name): cumulative CPU of these calls is the part's cost.
ANALYSIS = [
    ("analysis: dimensions", "services/analysis/pipeline.py", "run_dimension"),
    ("analysis: scorer", "services/workers/tasks.py", "_score"),
]
PLATFORM = [
    ("S3 reads of the essay", "services/core/storage.py", "get_bytes"),
    ("MongoDB (every ctx.run)", "services/workers/context.py", "run"),
]


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> float:
    """Cumulative seconds of every function `name` defined in a file ending with `suffix`."""
    total = 0.0
    for (filename, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.endswith(suffix):
            total += row[3]
    return total


def submit(base_url: str, key: str, texts: list[str]) -> None:
    with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=60) as client:
        for text in texts:
            response = client.post("/v1/essays", json={"text": text})
            response.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--essays", type=int, default=12, help="essays per round")
    parser.add_argument("--dump", type=Path, help="write the warm round's pstats file here")
    args = parser.parse_args()

    load_dotenv(ROOT / ".elysia" / "infra.env")
    run = uuid.uuid4().hex[:8]
    bootstrap = f"prof-{run}"
    settings = Settings(
        mongodb_db=f"elysia_prof_{run}",
        s3_bucket=f"elysia-prof-{run}",
        es_index_prefix=f"elysia-prof-{run}",
        queue_prefix=f"prof{run}:",
        admin_bootstrap_key=bootstrap,
    )
    from services.workers import context as worker_context
    from services.workers.runner import preload, resolve_queues, run_worker

    texts = load_texts(2 * args.essays)
    cold_texts, warm_texts = texts[: args.essays], texts[args.essays :]
    logs = ROOT / "out" / "bench-worker-profile"
    logs.mkdir(parents=True, exist_ok=True)
    platform = Platform(settings, logs)
    queues = resolve_queues([], True)
    try:
        platform.start_gateway()
        created = httpx.post(
            f"{platform.base_url}/v1/tenants",
            headers={"X-API-Key": bootstrap},
            json={"name": "prof", "limits": {"requests": 100_000, "max_pending": 100_000}},
            timeout=30,
        )
        created.raise_for_status()
        key = created.json()["key"]["key"]
        preload(settings, queues)  # as the real worker does before it registers
        submit(platform.base_url, key, cold_texts)
        cold_profile = cProfile.Profile(time.process_time)
        started = time.process_time()
        cold_profile.enable()
        run_worker(settings, queues, burst=True, with_scheduler=False)
        cold_profile.disable()
        cold = time.process_time() - started
        # run_worker closed its context on return; a second init_context would close it again.
        worker_context._context = None
        submit(platform.base_url, key, warm_texts)
        profile = cProfile.Profile(time.process_time)
        started = time.process_time()
        profile.enable()
        run_worker(settings, queues, burst=True, with_scheduler=False)
        profile.disable()
        warm = time.process_time() - started
    finally:
        platform.stop()
        cleanup(settings)

    stats = pstats.Stats(profile)
    if args.dump:
        stats.dump_stats(args.dump)
    n = len(warm_texts)
    regex_cold = cumulative(pstats.Stats(cold_profile), "re/__init__.py", "_compile") / n * 1000
    regex_warm = cumulative(stats, "re/__init__.py", "_compile") / n * 1000
    per_essay = {label: cumulative(stats, f, name) / n * 1000 for label, f, name in ANALYSIS}
    analysis = sum(per_essay.values())
    work = cumulative(stats, "rq/worker/base.py", "work") / n * 1000
    jobs = cumulative(stats, "rq/job.py", "_execute") / n * 1000
    parts = {label: cumulative(stats, f, name) / n * 1000 for label, f, name in PLATFORM}
    parts["RQ job handling (outside the job functions)"] = work - jobs
    platform_ms = work - analysis
    parts["rest of the task code (events, metrics, records)"] = platform_ms - sum(parts.values())
    warmup = (cold - warm) / n * 1000

    print(f"{n} essays per round, {len(queues)} queues in one worker process (profiled, CPU clock)")
    print(f"cold round {cold / n * 1000:.0f} ms CPU/essay, warm {warm / n * 1000:.0f} ms/essay: ")
    print(f"  per-process warm-up ≈ {warmup:.0f} ms/essay over the first {n} essays")
    print(f"  regex compilation: cold {regex_cold:.0f} ms/essay, warm {regex_warm:.0f} ms/essay")
    print(f"warm worker, per essay: {work:.0f} ms in Worker.work, of which")
    for label, ms in per_essay.items():
        print(f"  {label:<52} {ms:7.0f} ms  {ms / work * 100:5.1f}%")
    for label, ms in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<52} {ms:7.0f} ms  {ms / work * 100:5.1f}%")
    print(f"platform share of the worker's CPU: {platform_ms / work * 100:.1f}%")
    result: dict[str, Any] = {
        "essays": n,
        "cold_cpu_ms_per_essay": cold / n * 1000,
        "warm_cpu_ms_per_essay": warm / n * 1000,
        "warmup_ms_per_essay": warmup,
        "regex_compile_cold_ms_per_essay": regex_cold,
        "regex_compile_warm_ms_per_essay": regex_warm,
        "work_ms_per_essay": work,
        "analysis_ms_per_essay": analysis,
        "platform_ms_per_essay": platform_ms,
        "platform_share_pct": platform_ms / work * 100,
        "parts_ms_per_essay": parts,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
