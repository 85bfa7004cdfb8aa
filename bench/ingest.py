"""Bulk CSV ingestion: rows/s into the queues and peak RSS of the gateway and ingestion worker.

Runs the real processes (`elysia serve`, `elysia worker ingest`) against the real servers of
`scripts/infra/up`, in a namespace of its own (database, bucket, queue prefix) that it removes at
the end. It generates a CSV of N essays (default 100,000; 1 row in 50 invalid) on disk, streams it
to `POST /v1/batches`, waits until every row is ingested, and prints:

- upload MB/s (gateway: request stream → S3 multipart) and ingestion rows/s (created_at →
  ingested_at of the batch: parse, validate, S3 part objects, insert_many, one Redis pipeline);
- peak RSS (VmHWM) of the gateway and of the ingestion worker processes;
- the worker's own split of ingestion time by step (s3 / build / mongo / redis);
- the baseline measured in the same run: the per-row path (`SubmissionService.submit`, one S3
  PUT + two inserts + per-job enqueue per essay) on a sample, and the ratio.

Usage: .venv/bin/python bench/ingest.py [--rows 100000] [--chunk-rows 500] [--baseline 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from dotenv import load_dotenv
from pymongo import MongoClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.core.config import Settings  # noqa: E402
from tests.batches import csvgen  # noqa: E402
from tests.batches.cleanup import empty_queues  # noqa: E402
from tests.harness import Platform  # noqa: E402


def peak_rss_mib(pid: int) -> float:
    """VmHWM (peak resident set) of a process and its live children, in MiB."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        status = Path(f"/proc/{one}/status")
        if not status.exists():
            continue
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024.0
    return total


def rss_by_process(pid: int) -> dict[int, float]:
    out: dict[int, float] = {}
    children = Path(f"/proc/{pid}/task/{pid}/children")
    pids = [pid] + ([int(p) for p in children.read_text().split()] if children.exists() else [])
    for one in pids:
        status = Path(f"/proc/{one}/status")
        if status.exists():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[one] = round(int(line.split()[1]) / 1024.0, 1)
    return out


async def make_key(settings: Settings) -> str:
    from services.core.apikeys import create_tenant
    from services.core.metadata import init_metadata

    client = await init_metadata(settings)
    try:
        _, key = await create_tenant("Bench Escola")
        return key.secret
    finally:
        await client.close()


async def baseline(settings: Settings, rows: int) -> float:
    """Rows/s of the per-row path: `SubmissionService.submit` for each row of a sample."""
    from services.core.metadata import init_metadata
    from services.core.queues import Queues
    from services.core.storage import ObjectStore
    from services.core.submission import EssaySubmission, SubmissionService

    client = await init_metadata(settings)
    store = ObjectStore(settings)
    store.ensure_bucket()
    service = SubmissionService(settings, store, Queues(settings))
    batch_id = uuid.uuid4().hex
    try:
        started = time.perf_counter()
        for n, row in enumerate(csvgen.rows(rows), start=1):
            submission = EssaySubmission(
                text=row[1], title=row[2], prompt_id=row[3], groups={"school": row[4]}
            )
            await service.submit("bench-baseline", submission, batch_id=batch_id, row_number=n)
        return rows / (time.perf_counter() - started)
    finally:
        await client.close()


async def mongo_ceiling(settings: Settings, rows: int) -> float:
    """Rows/s MongoDB alone can take: insert_many of an essay and a job document per row into
    the real collections (same indexes), 500 at a time — no parsing, S3 or Redis."""
    from services.core.metadata import init_metadata
    from services.core.models import Action, AnalysisJob, Essay, utcnow

    client = await init_metadata(settings)
    dimensions = ("grammar", "theme", "argumentation", "cohesion", "proposal", "metrics")
    try:
        now = utcnow()
        started = time.perf_counter()
        for start in range(0, rows, 500):
            essays, jobs = [], []
            for n in range(start, min(start + 500, rows)):
                essay = Essay(
                    id=f"ceiling-e{n}",
                    tenant_id="bench-ceiling",
                    s3_key="k",
                    sha256="0" * 64,
                    chars=700,
                    words=100,
                    batch_id="ceiling",
                    row_number=n,
                    job_id=f"ceiling-j{n}",
                    groups={"school": "A"},
                )
                job = AnalysisJob(
                    id=f"ceiling-j{n}",
                    tenant_id="bench-ceiling",
                    essay_id=essay.id,
                    batch_id="ceiling",
                    actions={d: Action(dimension=d, queued_at=now) for d in dimensions},
                )
                essays.append(essay.model_dump(by_alias=True, exclude_none=True))
                jobs.append(job.model_dump(by_alias=True, exclude_none=True))
            await Essay.get_pymongo_collection().insert_many(essays, ordered=False)
            await AnalysisJob.get_pymongo_collection().insert_many(jobs, ordered=False)
        return rows / (time.perf_counter() - started)
    finally:
        await client.close()


def write_csv(path: Path, rows: int, bad_every: int) -> int:
    with path.open("wb") as handle:
        for chunk in csvgen.csv_chunks(rows, bad_every, per_chunk=1000):
            handle.write(chunk)
    return path.stat().st_size


def file_chunks(path: Path, size: int = 256 * 1024) -> Any:
    with path.open("rb") as handle:
        while block := handle.read(size):
            yield block


def step_times(log: str) -> dict[str, float]:
    """The worker's `time by step` figures from its JSON log line."""
    for line in reversed(log.splitlines()):
        if "time by step" in line:
            try:
                message = json.loads(line).get("message", line)
            except ValueError:
                message = line
            start = message.rfind("{")
            try:
                parsed: dict[str, float] = json.loads(message[start:].replace("'", '"'))
            except ValueError:
                return {}
            return parsed
    return {}


def cleanup(settings: Settings) -> None:
    from services.core.queues import Queues
    from services.core.storage import ObjectStore

    with MongoClient(settings.mongodb_uri, socketTimeoutMS=600_000) as mongo:
        mongo.drop_database(settings.mongodb_db)
    store = ObjectStore(settings)
    keys = list(store.list_keys(""))
    for start in range(0, len(keys), 1000):
        store.client.delete_objects(
            Bucket=store.bucket,
            Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]},
        )
    store.client.delete_bucket(Bucket=store.bucket)
    # RQ job hashes are keyed by job id alone (no queue prefix): empty the queues and deferred
    # registries first, which deletes the jobs they hold; the prefix scan then takes the rest.
    empty_queues(settings)
    redis = Queues(settings).redis
    pipe = redis.pipeline(transaction=False)
    for n, key in enumerate(redis.scan_iter(f"*{settings.queue_prefix}*", count=5000), start=1):
        pipe.unlink(key)
        if n % 5000 == 0:
            pipe.execute()
    pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad-every", type=int, default=50)
    parser.add_argument("--chunk-rows", type=int, default=500)
    parser.add_argument("--baseline", type=int, default=300, help="rows for the per-row path")
    parser.add_argument("--ceiling", type=int, default=5000, help="rows for the Mongo ceiling")
    parser.add_argument("--timeout", type=float, default=1500.0)
    args = parser.parse_args()

    load_dotenv(ROOT / ".elysia" / "infra.env", override=False)
    run = uuid.uuid4().hex[:8]
    settings = Settings(
        mongodb_db=f"elysia_bench_{run}",
        s3_bucket=f"elysia-bench-{run}",
        es_index_prefix=f"elysia-bench-{run}",
        queue_prefix=f"bench{run}:",
        log_json=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="elysia-bench-ingest-"))
    csv_path = workdir / "essays.csv"
    size = write_csv(csv_path, args.rows, args.bad_every)
    valid = csvgen.valid_count(args.rows, args.bad_every)
    print(f"CSV: {args.rows} rows ({valid} valid), {size / 2**20:.1f} MiB, {csv_path}")

    key = asyncio.run(make_key(settings))
    platform = Platform(settings, workdir)
    try:
        platform.start_gateway()
        worker = platform.start_worker("ingest", name="ingest")
        time.sleep(2.0)  # the worker registers before the upload (its start-up is not ingestion)
        assert platform.gateway is not None
        gateway_idle = peak_rss_mib(platform.gateway.pid)
        worker_idle = rss_by_process(worker.pid)

        started = time.perf_counter()
        with httpx.Client(base_url=platform.base_url, timeout=600) as http:
            response = http.post(
                "/v1/batches",
                params={"chunk_rows": args.chunk_rows},
                content=file_chunks(csv_path),
                headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
            )
        upload_s = time.perf_counter() - started
        if response.status_code != 202:
            raise SystemExit(f"upload refused: {response.status_code} {response.text}")
        batch_id = response.json()["id"]

        with MongoClient(settings.mongodb_uri) as mongo:
            batches = mongo[settings.mongodb_db]["batches"]
            deadline = time.monotonic() + args.timeout
            while True:
                batch = batches.find_one({"_id": batch_id}) or {}
                if batch.get("status") not in {"UPLOADED", "INGESTING"}:
                    break
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise SystemExit(f"ingestion did not finish: {platform.log('ingest')}")
                time.sleep(0.5)
        ingest_s = (batch["ingested_at"] - batch["created_at"]).total_seconds()
        gateway_peak = peak_rss_mib(platform.gateway.pid)
        worker_peak = rss_by_process(worker.pid)
        steps: dict[str, float] = {}
        for _ in range(40):  # the worker logs its split just after the batch flips
            steps = step_times((workdir / "ingest.log").read_text(errors="replace"))
            if steps:
                break
            time.sleep(0.25)
    finally:
        platform.stop()

    base_rate = asyncio.run(baseline(settings, args.baseline))
    ceiling = asyncio.run(mongo_ceiling(settings, args.ceiling))
    cleanup(settings)

    rate = batch["rows_total"] / ingest_s
    accepted_rate = batch["rows_accepted"] / ingest_s
    print(
        f"status: {batch['status']}  rows total/accepted/rejected: {batch['rows_total']}/"
        f"{batch['rows_accepted']}/{batch['rows_rejected']}"
    )
    print(f"upload: {upload_s:.1f} s, {size / 2**20 / upload_s:.1f} MiB/s (stream → S3 multipart)")
    print(
        f"ingestion: {ingest_s:.1f} s, {rate:,.0f} rows/s, {accepted_rate:,.0f} accepted rows/s "
        f"into the queues (target ≥ 2,000)"
    )
    print(f"ingestion time by step (worker): {steps}")
    print(f"peak RSS gateway: {gateway_peak:.0f} MiB (idle {gateway_idle:.0f})  (target < 200)")
    print(f"peak RSS ingestion worker: {worker_peak} MiB (idle {worker_idle}) (target < 200 each)")
    print(f"baseline per-row submit(): {base_rate:,.0f} rows/s on {args.baseline} rows")
    print(f"ratio bulk / per-row: {accepted_rate / base_rate:.1f}x")
    print(
        f"MongoDB ceiling (insert_many essay+job, same indexes): {ceiling:,.0f} rows/s on "
        f"{args.ceiling} rows; ingestion reaches {rate / ceiling:.0%} of it"
    )
    ok = accepted_rate >= 2000 and gateway_peak < 200 and max(worker_peak.values()) < 200
    print("targets met" if ok else "TARGETS NOT MET")


if __name__ == "__main__":
    main()
