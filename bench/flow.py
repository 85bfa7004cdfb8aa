"""End-to-end flow benchmark: submit → workers → consolidated, against the real servers.

Prints: essays/s end to end, submit latency p50/p99 at a fixed request rate, and the CPU the
platform spends per essay against the CPU of the same analysis run embedded in one process (the
baseline, measured in this run) — their difference is the platform's overhead (HTTP, storage,
queues, metadata, events, consolidation, indexing).

Needs `scripts/infra/up`. Usage: python bench/flow.py [--essays 60] [--rate 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dotenv import load_dotenv  # noqa: E402

from bench.common import cpu_seconds  # noqa: E402
from services.analysis.pipeline import analyse_essay  # noqa: E402
from services.analysis.results import EssayInput  # noqa: E402
from services.analysis.rubric import get_rubric, load_dimension, warm_up  # noqa: E402
from services.core.config import Settings  # noqa: E402
from tests.harness import Platform  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "enem" / "essays.jsonl.gz"


def load_texts(n: int) -> list[dict[str, Any]]:
    """Essays to submit: the shared ENEM corpus when present, else the bundled samples."""
    rows: list[dict[str, Any]] = []
    if SHARED.exists():
        with gzip.open(SHARED, "rt", encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                rows.append({"text": row["text"], "title": row.get("title")})
                if len(rows) >= n:
                    break
    else:
        samples = (ROOT / "samples" / "essays.jsonl").read_text(encoding="utf-8").splitlines()
        base = [json.loads(line) for line in samples if line.strip()]
        rows = [{"text": base[i % len(base)]["text"], "title": f"s{i}"} for i in range(n)]
    return rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)
    return ordered[index]


async def submit_at_rate(
    base_url: str, key: str, essays: list[dict[str, Any]], rate: float
) -> tuple[list[str], list[float]]:
    """Open-loop submissions at `rate`/s: latency is measured per request, not per batch."""
    latencies: list[float] = []
    job_ids: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": key}, timeout=60) as c:

        async def one(body: dict[str, Any]) -> None:
            started = time.perf_counter()
            response = await c.post("/v1/essays", json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            job_ids.append(response.json()["job_id"])

        tasks = []
        t0 = time.perf_counter()
        for i, body in enumerate(essays):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(body)))
        await asyncio.gather(*tasks)
    return job_ids, latencies


def wait_all(base_url: str, key: str, job_ids: list[str], timeout: float) -> dict[str, Any]:
    pending = set(job_ids)
    finals: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=30) as c:
        while pending and time.monotonic() < deadline:
            for job_id in list(pending):
                body = c.get(f"/v1/jobs/{job_id}").json()
                if body["status"] in {"COMPLETED", "PARTIAL", "FAILED"}:
                    finals[job_id] = body
                    pending.discard(job_id)
            time.sleep(0.5)
    if pending:
        raise SystemExit(f"{len(pending)} jobs did not finish within {timeout}s")
    return finals


def wait_registered(settings: Settings, count: int, timeout: float = 300) -> None:
    """Block until `count` workers serve the grammar queue (they register after preloading)."""
    from rq import Worker

    from services.core.queues import Queues

    queues = Queues(settings)
    deadline = time.monotonic() + timeout
    while len(Worker.all(queue=queues.queue("grammar"))) < count:
        if time.monotonic() > deadline:
            raise SystemExit("workers did not register in time")
        time.sleep(0.5)


def embedded_cpu(essays: list[dict[str, Any]]) -> float:
    """Baseline: CPU seconds to analyse and score the same essays in this one process.

    Loaded and warmed up as a worker is before its first job (`runner.preload`), so both sides
    of the ratio start from the same state and the difference is what the platform adds.
    """
    rubric = get_rubric("enem")
    for name in rubric.dimensions:
        warm_up(load_dimension(rubric, name))
    analyse_essay(EssayInput(text=essays[0]["text"]))  # the scorer and caches, outside too
    started = time.process_time()
    for body in essays:
        analyse_essay(EssayInput(text=body["text"], title=body.get("title")))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--essays", type=int, default=60)
    parser.add_argument("--rate", type=float, default=5.0, help="submissions per second")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    load_dotenv(ROOT / ".elysia" / "infra.env")
    run = uuid.uuid4().hex[:8]
    bootstrap = f"bench-{run}"
    settings = Settings(
        mongodb_db=f"elysia_bench_{run}",
        s3_bucket=f"elysia-bench-{run}",
        es_index_prefix=f"elysia-bench-{run}",
        queue_prefix=f"bench{run}:",
        admin_bootstrap_key=bootstrap,
    )
    essays = load_texts(args.essays)
    logs = ROOT / "out" / "bench-flow"
    logs.mkdir(parents=True, exist_ok=True)
    platform = Platform(settings, logs)
    try:
        platform.start_gateway()
        with httpx.Client(base_url=platform.base_url, timeout=30) as c:
            created = c.post(
                "/v1/tenants",
                headers={"X-API-Key": bootstrap},
                json={"name": "bench", "limits": {"requests": 100000, "max_pending": 100000}},
            ).json()
        key = created["key"]["key"]
        workers = [platform.start_worker() for _ in range(args.workers)]
        wait_registered(settings, args.workers)  # model loading stays out of the measurement
        assert platform.gateway is not None
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in [platform.gateway, *workers]}
        t0 = time.perf_counter()
        job_ids, latencies = asyncio.run(submit_at_rate(platform.base_url, key, essays, args.rate))
        finals = wait_all(platform.base_url, key, job_ids, args.timeout)
        wall = time.perf_counter() - t0
        cpu_after = {p.pid: cpu_seconds(p.pid) for p in [platform.gateway, *workers]}
    finally:
        platform.stop()

    statuses = [f["status"] for f in finals.values()]
    analysis_ms = sum(a["elapsed_ms"] or 0 for f in finals.values() for a in f["actions"].values())
    platform_cpu = sum(cpu_after[pid] - cpu_before[pid] for pid in cpu_after)
    baseline_cpu = embedded_cpu(essays)
    print(f"essays: {len(job_ids)}  statuses: { {s: statuses.count(s) for s in set(statuses)} }")
    print(
        f"end-to-end throughput: {len(job_ids) / wall:.2f} essays/s over {wall:.1f}s "
        f"({args.workers} workers, offered {args.rate}/s)"
    )
    print(
        f"submit latency at {args.rate}/s: p50 {percentile(latencies, 50):.1f} ms, "
        f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms"
    )
    print(
        f"analysis time inside workers: {analysis_ms / len(job_ids):.0f} ms/essay (sum of actions)"
    )
    print(
        f"CPU per essay: platform (gateway + workers) {platform_cpu / len(job_ids) * 1000:.0f} ms, "
        f"embedded baseline {baseline_cpu / len(job_ids) * 1000:.0f} ms"
    )
    overhead = (platform_cpu - baseline_cpu) / platform_cpu if platform_cpu else 0.0
    print(
        f"ratio platform/analysis CPU: {platform_cpu / baseline_cpu:.2f}  "
        f"(platform overhead {overhead * 100:.1f}% of total CPU)"
    )
    print(
        json.dumps(
            {
                "essays": len(job_ids),
                "essays_per_s": len(job_ids) / wall,
                "submit_p50_ms": percentile(latencies, 50),
                "submit_p99_ms": percentile(latencies, 99),
                "platform_cpu_ms_per_essay": platform_cpu / len(job_ids) * 1000,
                "baseline_cpu_ms_per_essay": baseline_cpu / len(job_ids) * 1000,
                "overhead_pct": overhead * 100,
                "median_analysis_ms": statistics.median(
                    sum(a["elapsed_ms"] or 0 for a in f["actions"].values())
                    for f in finals.values()
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
