"""Re-drive: find accepted work that nothing is doing any more, and enqueue it again.

Redis can lose its queues (a restart without persistence, a flush), and a worker killed with
SIGKILL leaves its job "started" forever. MongoDB is the source of truth: every job that is not
final and has been quiet for `reconcile_grace_s` is checked action by action; an open action whose
RQ job is not alive is enqueued again (same deterministic RQ job id, so at most one copy), and a
job whose actions have all ended gets its consolidation. Finished jobs missing from the search
index get re-indexed. Running it twice, or concurrently, is harmless.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from services.core.models import AnalysisJob, JobStatus, utcnow
from services.core.queues import Enqueue, Queues, rq_job_id
from services.core.submission import consolidation_step, plan_jobs
from services.workers.context import WorkerContext
from services.workers.ingest import resume_stalled
from services.workers.tasks import INDEX_ESSAY


class ReconcileReport(BaseModel):
    scanned: int = 0
    requeued_actions: int = 0
    requeued_consolidations: int = 0
    requeued_indexing: int = 0
    resumed_batches: list[str] = []


def _redrive(queues: Queues, job: AnalysisJob, report: ReconcileReport) -> None:
    """Enqueue what no live RQ job carries: open actions, or the consolidation of a job whose
    actions have all ended."""
    lost = [
        step for step in plan_jobs(queues.settings, job) if queues.live_job(step.job_id) is None
    ]
    if lost:
        queues.enqueue_many(lost)
        report.requeued_actions += len(lost)
        return
    if all(a.status.terminal for a in job.actions.values()):
        step = consolidation_step(job.id)
        if queues.live_job(step.job_id) is None:
            queues.enqueue(step)
            report.requeued_consolidations += 1


async def reconcile_once(ctx: WorkerContext, grace_s: float | None = None) -> ReconcileReport:
    """One pass over the open jobs (and finished-but-unindexed ones)."""
    grace = ctx.settings.reconcile_grace_s if grace_s is None else grace_s
    cutoff = utcnow() - timedelta(seconds=grace)
    report = ReconcileReport()
    open_jobs = AnalysisJob.find(
        {
            "status": {"$in": [JobStatus.PENDING.value, JobStatus.RUNNING.value]},
            "updated_at": {"$lte": cutoff},
        }
    )
    async for job in open_jobs:
        report.scanned += 1
        _redrive(ctx.queues, job, report)
    unindexed = AnalysisJob.find(
        {
            "status": {"$in": [s.value for s in JobStatus if s.terminal]},
            "indexed_at": None,
            "finished_at": {"$lte": cutoff},
        }
    )
    async for job in unindexed:
        report.scanned += 1
        step = Enqueue(
            queue="index", func=INDEX_ESSAY, args=(job.id,), job_id=rq_job_id(job.id, "index")
        )
        if ctx.queues.live_job(step.job_id) is None:
            ctx.queues.enqueue(step)
            report.requeued_indexing += 1
    report.resumed_batches = await resume_stalled(ctx, grace)
    return report
