"""The queue's physical limit: raw RQ enqueue → execute of a no-op job on the real Redis.

Whatever the platform does per essay, it cannot move jobs faster than RQ itself on this machine.
This script measures that floor with nothing of Elysia in the path: `operator.add` jobs on a
fresh, uniquely prefixed queue, one `SimpleWorker` (no fork per job) in a child process.

Two figures, both from RQ's own timestamps (`enqueued_at` set by the producer, `ended_at` by the
worker; same machine, same clock):
- latency: `--light` jobs enqueued open-loop at `--rate`/s (well below capacity), so each finds
  an idle worker; enqueue → executed p50/p99 is the fixed cost of one hop through the queue.
- throughput: `--jobs` enqueued at once (pipelined `enqueue_many`), drained by the one worker;
  jobs/s from the first enqueue to the last job's end. The producer's enqueue rate alone is
  printed too.
Every key it creates carries the run's prefix and is deleted at the end.

Needs Redis (`scripts/infra/up`). Usage: python bench/rq_baseline.py [--jobs 2000] [--light 100]
[--rate 10]. The last line printed is a JSON object with every figure (read by bench/run_all.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dotenv import load_dotenv  # noqa: E402
from redis import Redis  # noqa: E402
from rq import Queue, SimpleWorker  # noqa: E402
from rq.job import Job, JobStatus  # noqa: E402

from services.core.config import Settings  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)]


def serve(redis_url: str, queue_name: str, max_jobs: int) -> None:
    """Child process: one SimpleWorker that stops after `max_jobs` jobs."""
    connection = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    worker = SimpleWorker([queue], connection=connection, name=f"{queue_name}-w")
    worker.work(burst=False, max_jobs=max_jobs, logging_level="WARNING")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, from /proc (the worker's cost per job)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12)) / os.sysconf("SC_CLK_TCK")


def seconds(start: datetime | None, end: datetime | None) -> float:
    assert start is not None and end is not None
    return (end - start).total_seconds()


def wait_done(queue: Queue, ids: list[str], timeout: float) -> list[Job]:
    """Poll (cheaply: one pipelined status read per 0.2 s) until every job has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [j for j in Job.fetch_many(ids, connection=queue.connection) if j is not None]
        if len(jobs) == len(ids) and all(
            j.get_status(refresh=False) in (JobStatus.FINISHED, JobStatus.FAILED) for j in jobs
        ):
            return jobs
        time.sleep(0.2)
    raise SystemExit(f"jobs did not finish within {timeout}s")


def light_latency(queue: Queue, count: int, rate: float) -> list[float]:
    """Open loop at `rate`/s: ms from enqueue to the end of execution, per job."""
    ids = []
    t0 = time.perf_counter()
    for i in range(count):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        ids.append(queue.enqueue("operator.add", 1, i, result_ttl=600).id)
    jobs = wait_done(queue, ids, timeout=120)
    return [seconds(j.enqueued_at, j.ended_at) * 1000 for j in jobs]


def backlog_throughput(queue: Queue, count: int) -> dict[str, float]:
    """Enqueue `count` jobs at once; the worker drains them. Rates in jobs/s."""
    datas = [Queue.prepare_data("operator.add", (1, i), result_ttl=600) for i in range(count)]
    started = time.perf_counter()
    jobs = []
    for start in range(0, count, 500):  # pipelines of 500: the producer's realistic best
        with queue.connection.pipeline() as pipe:
            jobs += queue.enqueue_many(datas[start : start + 500], pipeline=pipe)
            pipe.execute()
    enqueue_s = time.perf_counter() - started
    done = wait_done(queue, [j.id for j in jobs], timeout=600)
    first = min(j.enqueued_at for j in done if j.enqueued_at is not None)
    last = max(j.ended_at for j in done if j.ended_at is not None)
    return {"enqueue_per_s": count / enqueue_s, "execute_per_s": count / seconds(first, last)}


def cleanup(connection: Redis, prefix: str) -> int:
    keys = list(connection.scan_iter(match=f"*{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        connection.delete(*keys[start : start + 1000])
    return len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000, help="jobs for the throughput run")
    parser.add_argument("--light", type=int, default=100, help="jobs for the latency run")
    parser.add_argument("--rate", type=float, default=10.0, help="offered rate of the latency run")
    parser.add_argument("--serve", nargs=2, metavar=("QUEUE", "MAX_JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    load_dotenv(ROOT / ".elysia" / "infra.env")
    settings = Settings()
    if args.serve:
        serve(settings.redis_url, args.serve[0], int(args.serve[1]))
        return

    prefix = f"rqbase{uuid.uuid4().hex[:8]}"
    connection = Redis.from_url(settings.redis_url)
    queue = Queue(f"{prefix}:noop", connection=connection)
    total = args.jobs + args.light
    worker = subprocess.Popen(
        [sys.executable, __file__, "--serve", queue.name, str(total)], cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while not SimpleWorker.all(queue=queue):  # registered: the start-up stays out
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the RQ worker did not start")
            time.sleep(0.1)
        latencies = light_latency(queue, args.light, args.rate)
        cpu0 = cpu_seconds(worker.pid)
        rates = backlog_throughput(queue, args.jobs)
        worker_cpu_ms = (cpu_seconds(worker.pid) - cpu0) / args.jobs * 1000
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            worker.terminate()
            worker.wait(timeout=10)
        cleanup(connection, prefix)

    figures = {
        "rq_version": __import__("rq").__version__,
        "redis_version": connection.info("server").get("redis_version"),
        "light_jobs": args.light,
        "light_rate_per_s": args.rate,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
        "backlog_jobs": args.jobs,
        "enqueue_per_s": rates["enqueue_per_s"],
        "execute_per_s": rates["execute_per_s"],
        "worker_cpu_ms_per_job": worker_cpu_ms,
    }
    print(f"RQ {figures['rq_version']} on Redis {figures['redis_version']}, one SimpleWorker")
    print(
        f"enqueue → executed latency at {args.rate:g}/s ({args.light} no-op jobs): "
        f"p50 {figures['latency_p50_ms']:.2f} ms, p99 {figures['latency_p99_ms']:.2f} ms"
    )
    print(
        f"backlog of {args.jobs}: enqueue {figures['enqueue_per_s']:.0f} jobs/s (pipelined), "
        f"execute {figures['execute_per_s']:.0f} jobs/s (one worker) — the queue's physical limit"
    )
    print(f"worker CPU per no-op job: {worker_cpu_ms:.2f} ms (RQ's own bookkeeping)")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
