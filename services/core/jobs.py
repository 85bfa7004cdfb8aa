"""Job state transitions, each one atomic on the MongoDB server.

Every transition is a single `find_one_and_update` whose filter states the precondition (e.g. an
action can only start while PENDING or RUNNING; a job is finalised only once) and whose update
touches only that action's fields plus `$inc seq`. Two dimensions finishing at the same moment
therefore never lose each other's update, a retried RQ job never re-opens a finished action, and
the sequence number gives every event a total order per job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ReturnDocument

from services.core.models import ActionStatus, AnalysisJob, JobStatus, idempotent_ids, utcnow

_OPEN_ACTION = [ActionStatus.PENDING.value, ActionStatus.RUNNING.value]
_OPEN_JOB = [JobStatus.PENDING.value, JobStatus.RUNNING.value]


async def _update(filter_: dict[str, Any], update: dict[str, Any]) -> AnalysisJob | None:
    collection = AnalysisJob.get_pymongo_collection()
    update.setdefault("$inc", {})["seq"] = 1
    update.setdefault("$set", {})["updated_at"] = utcnow()
    raw = await collection.find_one_and_update(
        filter_, update, return_document=ReturnDocument.AFTER
    )
    return None if raw is None else AnalysisJob.model_validate(raw)


async def get_job(job_id: str, tenant_id: str | None = None) -> AnalysisJob | None:
    """A job by id; with `tenant_id`, only if it belongs to that tenant."""
    query: dict[str, Any] = {"_id": job_id}
    if tenant_id is not None:
        query["tenant_id"] = tenant_id
    raw = await AnalysisJob.get_pymongo_collection().find_one(query)
    return None if raw is None else AnalysisJob.model_validate(raw)


async def start_action(job_id: str, dimension: str, rq_job_id: str | None) -> AnalysisJob | None:
    """Mark an action RUNNING and count the attempt; None when there is nothing left to do."""
    prefix = f"actions.{dimension}"
    now = utcnow()
    return await _update(
        {"_id": job_id, "status": {"$in": _OPEN_JOB}, f"{prefix}.status": {"$in": _OPEN_ACTION}},
        {
            "$set": {
                f"{prefix}.status": ActionStatus.RUNNING.value,
                f"{prefix}.started_at": now,
                f"{prefix}.rq_job_id": rq_job_id,
                "status": JobStatus.RUNNING.value,
            },
            "$inc": {f"{prefix}.attempts": 1},
        },
    )


async def finish_action(
    job_id: str, dimension: str, result: dict[str, Any], elapsed_ms: float
) -> AnalysisJob | None:
    """Store a dimension's result and mark its action DONE (once)."""
    prefix = f"actions.{dimension}"
    return await _update(
        {"_id": job_id, f"{prefix}.status": {"$in": _OPEN_ACTION}},
        {
            "$set": {
                f"{prefix}.status": ActionStatus.DONE.value,
                f"{prefix}.result": result,
                f"{prefix}.finished_at": utcnow(),
                f"{prefix}.elapsed_ms": round(elapsed_ms, 3),
                f"{prefix}.error": None,
            }
        },
    )


async def fail_action(job_id: str, dimension: str, error: str) -> AnalysisJob | None:
    """Mark an action FAILED for good (bad input, or retries exhausted)."""
    prefix = f"actions.{dimension}"
    return await _update(
        {"_id": job_id, f"{prefix}.status": {"$in": _OPEN_ACTION}},
        {
            "$set": {
                f"{prefix}.status": ActionStatus.FAILED.value,
                f"{prefix}.finished_at": utcnow(),
                f"{prefix}.error": error[:2000],
            }
        },
    )


async def note_retry(job_id: str, dimension: str, error: str) -> AnalysisJob | None:
    """Record a transient error; the action goes back to PENDING until RQ retries it."""
    prefix = f"actions.{dimension}"
    return await _update(
        {"_id": job_id, f"{prefix}.status": {"$in": _OPEN_ACTION}},
        {"$set": {f"{prefix}.status": ActionStatus.PENDING.value, f"{prefix}.error": error[:2000]}},
    )


async def finalise_job(
    job_id: str, status: JobStatus, result: dict[str, Any] | None, error: str | None = None
) -> AnalysisJob | None:
    """Write the consolidated result and the final status, exactly once per job.

    The filter requires every action to be terminal, so a consolidation that runs too early (a
    re-driven dependency) changes nothing and the reconciler tries again later.
    """
    job = await get_job(job_id)
    if job is None or job.status.terminal:
        return None
    open_actions = {
        f"actions.{name}.status": {"$in": [ActionStatus.DONE.value, ActionStatus.FAILED.value]}
        for name in job.actions
    }
    finished: datetime = utcnow()
    return await _update(
        {"_id": job_id, "status": {"$in": _OPEN_JOB}, **open_actions},
        {
            "$set": {
                "status": status.value,
                "result": result,
                "finished_at": finished,
                "error": error,
            },
            "$inc": {"consolidations": 1},
        },
    )


async def mark_indexed(job_id: str) -> None:
    await AnalysisJob.get_pymongo_collection().update_one(
        {"_id": job_id}, {"$set": {"indexed_at": utcnow()}}
    )


def final_status(job: AnalysisJob) -> JobStatus:
    """COMPLETED when every action is DONE, FAILED when none is, PARTIAL otherwise."""
    statuses = [a.status for a in job.actions.values()]
    if statuses and all(s == ActionStatus.DONE for s in statuses):
        return JobStatus.COMPLETED
    if not any(s == ActionStatus.DONE for s in statuses):
        return JobStatus.FAILED
    return JobStatus.PARTIAL


async def pending_count(tenant_id: str, limit: int) -> int:
    """How many of a tenant's jobs are not final, counting at most `limit` (a bounded query)."""
    return int(
        await AnalysisJob.get_pymongo_collection().count_documents(
            {"tenant_id": tenant_id, "status": {"$in": _OPEN_JOB}}, limit=limit
        )
    )


async def get_job_by_key(tenant_id: str, idempotency_key: str) -> AnalysisJob | None:
    """The job an idempotency key already created for this tenant, if any."""
    return await get_job(idempotent_ids(tenant_id, idempotency_key)[1], tenant_id)
