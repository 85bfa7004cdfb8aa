"""Action updates are atomic: dimensions finishing at the same moment never lose an update."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.core import jobs
from services.core.models import Action, ActionStatus, AnalysisJob, JobStatus

pytestmark = pytest.mark.integration

DIMENSIONS = ["grammar", "theme", "argumentation", "cohesion", "proposal", "metrics"]


async def new_job() -> AnalysisJob:
    job = AnalysisJob(
        tenant_id="t-concurrency",
        essay_id="e",
        actions={d: Action(dimension=d) for d in DIMENSIONS},
    )
    await job.insert()
    return job


async def test_concurrent_finishes_are_all_kept(metadata: Any) -> None:
    created = [await new_job() for _ in range(20)]

    async def work(job_id: str, dimension: str) -> None:
        assert await jobs.start_action(job_id, dimension, None) is not None
        result = {"dimension": dimension, "level": 120}
        assert await jobs.finish_action(job_id, dimension, result, 1.0) is not None

    # 120 updates in flight at once, six per document.
    await asyncio.gather(*(work(j.id, d) for j in created for d in DIMENSIONS))
    for job in created:
        stored = await jobs.get_job(job.id)
        assert stored is not None
        assert all(a.status == ActionStatus.DONE for a in stored.actions.values())
        assert {a.result["dimension"] for a in stored.actions.values() if a.result} == set(
            DIMENSIONS
        )
        assert stored.seq == 2 * len(DIMENSIONS)  # every transition counted once
        assert all(a.attempts == 1 for a in stored.actions.values())


async def test_transitions_respect_their_preconditions(metadata: Any) -> None:
    job = await new_job()
    assert await jobs.start_action(job.id, "grammar", "rq-1") is not None
    assert await jobs.finish_action(job.id, "grammar", {"ok": True}, 2.0) is not None
    # A retried RQ job can neither restart nor re-finish a DONE action.
    assert await jobs.start_action(job.id, "grammar", "rq-2") is None
    assert await jobs.finish_action(job.id, "grammar", {"ok": False}, 2.0) is None
    # A job is not finalised while actions are open, and only once when they have all ended.
    assert await jobs.finalise_job(job.id, JobStatus.COMPLETED, {}) is None
    for dimension in DIMENSIONS[1:]:
        await jobs.fail_action(job.id, dimension, "boom")
    finals = await asyncio.gather(
        *(jobs.finalise_job(job.id, JobStatus.PARTIAL, {"n": i}) for i in range(5))
    )
    assert sum(f is not None for f in finals) == 1
    stored = await jobs.get_job(job.id)
    assert stored is not None and stored.status == JobStatus.PARTIAL
    assert stored.consolidations == 1


async def test_whole_document_writes_would_lose_updates(metadata: Any) -> None:
    """The hazard the per-field updates avoid: two workers that read, modify and save the whole
    document overwrite each other. (This control shows the test above could fail.)"""
    job = await new_job()
    first = await AnalysisJob.get(job.id)
    second = await AnalysisJob.get(job.id)
    assert first is not None and second is not None
    first.actions["grammar"].status = ActionStatus.DONE
    second.actions["theme"].status = ActionStatus.DONE
    await first.save()
    await second.save()
    stored = await AnalysisJob.get(job.id)
    assert stored is not None
    assert stored.actions["theme"].status == ActionStatus.DONE
    assert stored.actions["grammar"].status == ActionStatus.PENDING  # lost
