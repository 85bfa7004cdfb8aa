"""Load benchmark: submit latency at increasing offered rates until the gateway saturates.

A real gateway (`elysia serve`, a child process, real servers behind it) is driven over loopback
by this process, open loop: request i of a step is sent at t0 + i/rate whether or not earlier ones
have answered, and its latency is counted from that *scheduled* instant, so a stalled server
cannot hide its queueing by slowing the client (no coordinated omission). Each step is bounded
in count (`rate × --step-seconds`, at most `--max-per-step`) and in time (answers still missing
`--timeout` s after the last send are errors).

Per step: offered and achieved rate (answers / time from first send to last answer), p50/p99/max
latency of `POST /v1/essays`, error rate, and the CPU per request of the gateway and of this
driver (they share the machine's cores: a driver near a full core is itself the limit).
The knee is the first step where the achieved rate falls below 90% of the offered one, more
than 1% of requests fail, p50 exceeds `--k` × the first step's p50, or p99 exceeds `--k` × the
first step's p99 in this step and the next (one slow request among a few dozen decides a p99, so
a p99 jump alone must be confirmed); the run stops there.
No workers run: an accepted essay waits in its queues, which is what the submit path promises
(tenant limits are set high so backpressure never answers 429).

Needs `scripts/infra/up`. Usage: python bench/load.py [--rates 5,10,20,40,80,160,320]
[--step-seconds 8] [--k 3] [--with-reads]. The last line printed is a JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dotenv import load_dotenv  # noqa: E402

from bench.common import cleanup, cpu_seconds, load_texts  # noqa: E402
from services.core.config import Settings  # noqa: E402
from tests.harness import Platform  # noqa: E402


@dataclass
class Step:
    offered_per_s: float
    sent: int
    ok: int
    errors: int
    achieved_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    read_p50_ms: float | None
    gateway_cpu_ms_per_request: float
    client_cpu_ms_per_request: float

    @property
    def error_rate(self) -> float:
        return self.errors / self.sent if self.sent else 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)]


async def run_step(
    client: httpx.AsyncClient,
    rate: float,
    count: int,
    texts: list[str],
    job_ids: list[str],
    with_reads: bool,
    drain_s: float,
) -> tuple[list[float], list[float], int, float]:
    """Open-loop step: (submit latencies of successes, read latencies, errors, wall seconds)."""
    latencies: list[float] = []
    reads: list[float] = []
    errors = 0
    rng = random.Random(int(rate * 1000))

    async def one(i: int, scheduled: float) -> None:
        nonlocal errors
        try:
            response = await client.post(
                "/v1/essays", json={"text": texts[i % len(texts)], "title": f"load {i}"}
            )
        except httpx.HTTPError:
            errors += 1
            return
        if response.status_code != 202:
            errors += 1
            return
        latencies.append((time.perf_counter() - scheduled) * 1000)
        job_ids.append(response.json()["job_id"])
        if with_reads and job_ids:
            started = time.perf_counter()
            read = await client.get(f"/v1/jobs/{rng.choice(job_ids)}")
            if read.status_code == 200:
                reads.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1

    tasks = []
    t0 = time.perf_counter()
    for i in range(count):
        scheduled = t0 + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    _, pending = await asyncio.wait(tasks, timeout=drain_s)
    for task in pending:  # still unanswered `drain_s` after the last send: counted as errors
        task.cancel()
        errors += 1
    return latencies, reads, errors, time.perf_counter() - t0


def knee_reason(step: Step, first: Step, k: float) -> str | None:
    """Why `step` is saturated, from the signals that one outlier cannot fake."""
    if step.error_rate > 0.01:
        return f"error rate {step.error_rate:.1%} > 1%"
    if step.achieved_per_s < 0.9 * step.offered_per_s:
        return f"achieved {step.achieved_per_s:.1f}/s < 90% of offered {step.offered_per_s:g}/s"
    if step.p50_ms > k * first.p50_ms:
        return f"p50 {step.p50_ms:.0f} ms > {k:g} × low-rate p50 {first.p50_ms:.0f} ms"
    return None


def tail_reason(step: Step, first: Step, k: float) -> str | None:
    """A p99 jump: a knee only if the next step confirms it."""
    if step.p99_ms > k * first.p99_ms:
        return f"p99 {step.p99_ms:.0f} ms > {k:g} × low-rate p99 {first.p99_ms:.0f} ms"
    return None


def last_good(steps: list[Step], knee: dict[str, Any] | None) -> float | None:
    """The highest offered rate below the knee (None without a knee or below the first step)."""
    if knee is None:
        return None
    below = [s.offered_per_s for s in steps if s.offered_per_s < knee["rate_per_s"]]
    return max(below) if below else None


def drive(base_url: str, key: str, gateway_pid: int, args: argparse.Namespace) -> dict[str, Any]:
    texts = load_texts(200)
    rates = [float(r) for r in args.rates.split(",")]
    steps: list[Step] = []
    knee: dict[str, Any] | None = None
    job_ids: list[str] = []
    limits = httpx.Limits(max_connections=args.connections, max_keepalive_connections=64)

    async def main() -> None:
        nonlocal knee
        suspect: Step | None = None
        suspect_reason: str | None = None
        async with httpx.AsyncClient(
            base_url=base_url, headers={"X-API-Key": key}, timeout=args.timeout, limits=limits
        ) as client:
            for _ in range(5):  # warm the connection pool and the gateway's first-call paths
                await client.post("/v1/essays", json={"text": texts[0]})
            for rate in rates:
                count = min(max(int(rate * args.step_seconds), 10), args.max_per_step)
                cpu0, own0 = cpu_seconds(gateway_pid), time.process_time()
                lat, reads, errors, wall = await run_step(
                    client, rate, count, texts, job_ids, args.with_reads, args.timeout
                )
                cpu, own = cpu_seconds(gateway_pid) - cpu0, time.process_time() - own0
                step = Step(
                    offered_per_s=rate,
                    sent=count,
                    ok=len(lat),
                    errors=errors,
                    achieved_per_s=len(lat) / wall,
                    p50_ms=percentile(lat, 50),
                    p99_ms=percentile(lat, 99),
                    max_ms=max(lat) if lat else float("nan"),
                    read_p50_ms=percentile(reads, 50) if reads else None,
                    gateway_cpu_ms_per_request=cpu / count * 1000,
                    client_cpu_ms_per_request=own / count * 1000,
                )
                steps.append(step)
                print(
                    f"offered {rate:>6g}/s  achieved {step.achieved_per_s:7.1f}/s  "
                    f"p50 {step.p50_ms:8.1f} ms  p99 {step.p99_ms:8.1f} ms  "
                    f"errors {step.error_rate:6.1%}  gateway CPU "
                    f"{step.gateway_cpu_ms_per_request:5.1f} ms/req, client "
                    f"{step.client_cpu_ms_per_request:4.1f} ms/req"
                    + (f"  read p50 {step.read_p50_ms:.1f} ms" if step.read_p50_ms else ""),
                    flush=True,
                )
                reason = knee_reason(step, steps[0], args.k)
                if reason:
                    knee = {"rate_per_s": rate, "reason": reason}
                    break
                tail = tail_reason(step, steps[0], args.k)
                if tail and suspect is not None:
                    knee = {
                        "rate_per_s": suspect.offered_per_s,
                        "reason": f"{suspect_reason}, confirmed at {rate:g}/s ({tail})",
                    }
                    break
                suspect, suspect_reason = (step, tail) if tail else (None, None)

    asyncio.run(main())
    best = max(steps, key=lambda s: s.achieved_per_s)
    return {
        "steps": [asdict(s) | {"error_rate": s.error_rate} for s in steps],
        "knee_rate_per_s": knee["rate_per_s"] if knee else None,
        "knee_reason": knee["reason"] if knee else "no knee within the offered rates",
        "last_good_rate_per_s": last_good(steps, knee),
        "max_achieved_per_s": best.achieved_per_s,
        "low_rate_p50_ms": steps[0].p50_ms,
        "low_rate_p99_ms": steps[0].p99_ms,
        "gateway_cpu_ms_per_request": steps[0].gateway_cpu_ms_per_request,
        "k": args.k,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", default="5,10,20,40,80,160,320", help="offered rates, req/s")
    parser.add_argument("--step-seconds", type=float, default=8.0)
    parser.add_argument("--max-per-step", type=int, default=2000)
    parser.add_argument("--k", type=float, default=3.0, help="knee: p99 > k × low-rate p99")
    parser.add_argument("--timeout", type=float, default=15.0, help="per request, seconds")
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--with-reads", action="store_true", help="GET a job after each submit")
    args = parser.parse_args()

    load_dotenv(ROOT / ".elysia" / "infra.env")
    run = uuid.uuid4().hex[:8]
    bootstrap = f"load-{run}"
    settings = Settings(
        mongodb_db=f"elysia_load_{run}",
        s3_bucket=f"elysia-load-{run}",
        es_index_prefix=f"elysia-load-{run}",
        queue_prefix=f"load{run}:",
        admin_bootstrap_key=bootstrap,
    )
    logs = ROOT / "out" / "bench-load"
    logs.mkdir(parents=True, exist_ok=True)
    platform = Platform(settings, logs)
    try:
        platform.start_gateway()
        assert platform.gateway is not None
        created = httpx.post(
            f"{platform.base_url}/v1/tenants",
            headers={"X-API-Key": bootstrap},
            json={"name": "load", "limits": {"requests": 1_000_000, "max_pending": 10_000_000}},
            timeout=30,
        )
        created.raise_for_status()
        result = drive(platform.base_url, created.json()["key"]["key"], platform.gateway.pid, args)
    finally:
        platform.stop()
        cleanup(settings)
    print(
        f"knee: {result['knee_rate_per_s']}/s ({result['knee_reason']}); "
        f"best achieved {result['max_achieved_per_s']:.1f} submissions/s; "
        f"low-rate p50 {result['low_rate_p50_ms']:.1f} ms, p99 {result['low_rate_p99_ms']:.1f} ms"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
