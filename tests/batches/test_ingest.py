"""Bulk ingestion against the real MongoDB, S3 and Redis: counts, texts, queues, resumption."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import pytest

from services.analysis.rubric import get_rubric
from services.core import batches
from services.core.config import Settings
from services.core.csvio import CsvFormatError
from services.core.models import AnalysisJob, Batch, BatchStatus, Essay, JobStatus
from services.core.queues import Queues
from services.core.storage import ObjectStore
from tests.batches import csvgen
from tests.batches.cleanup import empty_queues

pytestmark = pytest.mark.integration


async def aiter_of(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.fixture(scope="module", autouse=True)
def empty_queues_afterwards(settings: Settings) -> Iterator[None]:
    """These tests queue thousands of RQ jobs on the session's queues and no worker runs them:
    remove them, so later tests (and their burst workers) start from empty queues."""
    yield None
    empty_queues(settings)


@pytest.fixture
async def tenant(metadata: Any) -> AsyncIterator[str]:
    """A fresh tenant; its documents are removed afterwards (keeps the session's final drop
    short: SecantusDB serves nothing else while it drops, and the driver's heartbeat gives up)."""
    tenant_id = f"tenant-{uuid.uuid4().hex[:8]}"
    yield tenant_id
    for batch_id in await Batch.get_pymongo_collection().distinct("_id", {"tenant_id": tenant_id}):
        await batches.errors_collection().delete_many({"batch_id": batch_id})
    for model in (Essay, AnalysisJob, Batch):
        await model.get_pymongo_collection().delete_many({"tenant_id": tenant_id})


async def upload(
    store: ObjectStore, queues: Queues, tenant: str, data: Iterable[bytes], chunk_rows: int = 100
) -> Batch:
    batch, queued = await batches.create_batch(
        store, queues, tenant, aiter_of(data), "essays.csv", 10**9, chunk_rows
    )
    assert queued
    return batch


async def test_ingest_counts_texts_errors_and_queues(
    settings: Settings, metadata: Any, object_store: ObjectStore, queues: Queues, tenant: str
) -> None:
    count, bad_every = 450, 50
    batch = await upload(object_store, queues, tenant, csvgen.csv_chunks(count, bad_every))
    assert batch.status == BatchStatus.UPLOADED and batch.columns == csvgen.HEADER
    assert batch.group_columns == ["school", "class", "student"]
    assert queues.live_job(batches.ingest_job_id(batch.id)) is not None

    ingestor = batches.Ingestor(settings, object_store, queues, chunk_rows=100)
    before = {d: queues.depth(d) for d in get_rubric(settings.rubric).dimension_names}
    done = await ingestor.run(batch.id)
    assert done is not None
    valid = csvgen.valid_count(count, bad_every)
    assert (done.rows_total, done.rows_accepted, done.rows_rejected) == (
        count,
        valid,
        count - valid,
    )
    assert done.status == BatchStatus.PROCESSING and done.resume_row == count
    assert await Essay.find({"batch_id": batch.id}).count() == valid
    assert await AnalysisJob.find({"batch_id": batch.id}).count() == valid

    # Row 7's essay: deterministic id, its text read back through the ranged key.
    essay_id, job_id = batches.row_ids(tenant, batch.id, 7)
    essay = await Essay.get(essay_id)
    assert essay is not None and essay.row_number == 7 and essay.job_id == job_id
    expected = list(csvgen.rows(count, bad_every))[6]
    assert object_store.get_text(essay.s3_key) == expected[1]
    assert essay.groups == {"school": expected[4], "class": expected[5], "student": expected[6]}
    assert essay.metadata["line"] > 7  # multi-line texts: line numbers run ahead of rows

    # Every accepted essay is queued on every dimension; consolidation is not queued yet (the
    # dimension whose update ends the job's last open action enqueues it).
    for name, depth in before.items():
        assert queues.depth(name) - depth == valid, name
    for dimension in get_rubric(settings.rubric).dimension_names:
        assert queues.fetch(f"{job_id}-{dimension}") is not None
    assert queues.fetch(f"{job_id}-consolidate") is None

    errors = await batches.errors_collection().find({"batch_id": batch.id}).to_list()
    assert len(errors) == count - valid
    by_row = {e["row"]: e for e in errors}
    assert by_row[50]["code"] == "empty_text" and by_row[50]["column"] == 2
    assert by_row[100]["code"] == "bad_prompt_id" and by_row[100]["field"] == "prompt_id"


async def test_crash_mid_chunk_then_resume_creates_each_essay_once(
    settings: Settings,
    metadata: Any,
    object_store: ObjectStore,
    queues: Queues,
    tenant: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    count, bad_every = 700, 30
    batch = await upload(object_store, queues, tenant, csvgen.csv_chunks(count, bad_every))
    real_advance = batches._advance
    calls = 0

    async def dying_advance(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:  # chunk 3's essays, jobs and queue entries exist; its counters do not
            raise RuntimeError("worker killed")
        await real_advance(*args)

    monkeypatch.setattr(batches, "_advance", dying_advance)
    with pytest.raises(RuntimeError):
        await batches.Ingestor(settings, object_store, queues, chunk_rows=100).run(batch.id)
    half = await Batch.get(batch.id)
    assert half is not None and half.status == BatchStatus.INGESTING and half.resume_row == 200
    assert await Essay.find({"batch_id": batch.id}).count() > half.rows_accepted

    monkeypatch.setattr(batches, "_advance", real_advance)
    done = await batches.Ingestor(settings, object_store, queues, chunk_rows=100).run(batch.id)
    valid = csvgen.valid_count(count, bad_every)
    assert done is not None and done.status == BatchStatus.PROCESSING
    assert (done.rows_total, done.rows_accepted, done.rows_rejected) == (
        count,
        valid,
        count - valid,
    )
    rows = await Essay.get_pymongo_collection().distinct("row_number", {"batch_id": batch.id})
    assert await Essay.find({"batch_id": batch.id}).count() == valid == len(rows)
    errors = batches.errors_collection()
    assert await errors.count_documents({"batch_id": batch.id}) == count - valid

    # A second full run changes nothing.
    again = await batches.Ingestor(settings, object_store, queues).run(batch.id)
    assert again is not None and again.rows_total == count
    assert await Essay.find({"batch_id": batch.id}).count() == valid


async def test_refused_header_stores_nothing(
    metadata: Any, object_store: ObjectStore, queues: Queues, tenant: str
) -> None:
    with pytest.raises(CsvFormatError) as info:
        await upload(object_store, queues, tenant, [b"texto,escola\nabc,A\n"])
    assert info.value.code == "missing_column"
    assert await Batch.find({"tenant_id": tenant}).count() == 0
    assert not list(object_store.list_keys(f"tenants/{tenant}/"))


async def test_progress_and_report_follow_finished_jobs(
    settings: Settings, metadata: Any, object_store: ObjectStore, queues: Queues, tenant: str
) -> None:
    """Finish jobs by hand (as consolidation would) and watch counts, status and report."""
    batch = await upload(object_store, queues, tenant, csvgen.csv_chunks(40))
    await batches.Ingestor(settings, object_store, queues, chunk_rows=100).run(batch.id)
    jobs = await AnalysisJob.find({"batch_id": batch.id}).to_list()
    essays = {e.id: e for e in await Essay.find({"batch_id": batch.id}).to_list()}
    for index, job in enumerate(jobs):
        levels = {f"c{i}": 40 * ((index + i) % 6) for i in range(1, 6)}
        job.status = JobStatus.COMPLETED if index % 10 else JobStatus.PARTIAL
        job.result = {
            "score": {"levels": levels, "total": sum(levels.values()), "flags": ["short"]}
            if index % 2
            else {"levels": levels, "total": sum(levels.values()), "flags": []}
        }
        job.actions["grammar"].result = {"issues": [{"category": "crase"}] * (index % 3)}
        await job.save()
        if index == 19:
            half = await batches.refresh_progress(batch.id)
            assert half is not None and half.essays_completed == 20
            assert half.status == BatchStatus.PROCESSING
            assert batches.progress(half).percent == 50.0
            for job in jobs[:20]:
                await batches.on_job_final(job)
    final = await batches.refresh_progress(batch.id)
    assert final is not None and final.status == BatchStatus.COMPLETED
    report = await batches.compute_report(final)
    totals = [j.result["score"]["total"] for j in jobs if j.result]
    assert report["essays"] == 40
    assert report["scores"]["total"]["mean"] == round(sum(totals) / len(totals), 2)
    assert sum(report["scores"]["c1"]["distribution"].values()) == 40
    assert report["flags"] == [{"flag": "short", "count": 20}]
    crase = sum(index % 3 for index in range(40))
    assert report["issue_categories"] == [
        {"dimension": "grammar", "category": "crase", "count": crase}
    ]
    grouped = await batches.grouped_report(final, "school")
    assert sum(g["essays"] for g in grouped) == 40
    by_school: dict[str, list[int]] = {}
    for job in jobs:
        school = essays[job.essay_id].groups["school"]
        by_school.setdefault(school, []).append(job.result["score"]["total"])  # type: ignore[index]
    for group in grouped:
        values = by_school[group["value"]]
        assert group["scores"]["total"]["n"] == len(values)
        assert group["scores"]["total"]["mean"] == round(sum(values) / len(values), 2)
        assert group["scores"]["total"]["max"] == max(values)


async def test_stalled_ingestion_is_redriven_with_a_new_rq_job(
    settings: Settings, metadata: Any, object_store: ObjectStore, queues: Queues, tenant: str
) -> None:
    from datetime import timedelta

    from services.core.models import utcnow
    from services.workers.context import WorkerContext
    from services.workers.ingest import resume_stalled

    batch = await upload(object_store, queues, tenant, csvgen.csv_chunks(10))
    ctx = WorkerContext(settings=settings, store=object_store, queues=queues)
    try:
        assert batch.id not in await resume_stalled(ctx, grace_s=60)  # fresh: left alone
        old = utcnow() - timedelta(minutes=5)
        await Batch.get_pymongo_collection().update_one(
            {"_id": batch.id}, {"$set": {"updated_at": old, "status": "INGESTING"}}
        )
        assert batch.id in await resume_stalled(ctx, grace_s=60)
        ingest = queues.queue("ingest")
        redriven = [j for j in ingest.get_job_ids() if j.startswith(f"batch-{batch.id}-ingest-")]
        assert len(redriven) == 1
        assert queues.fetch(redriven[0]).args == (batch.id, batches.DEFAULT_CHUNK_ROWS)  # type: ignore[union-attr]
    finally:
        ctx.loop.close()
