"""The RQ job functions: run one dimension, consolidate a job, index a finished essay.

Each is idempotent. `run_dimension` does nothing for an action that has already ended;
`consolidate` finalises a job once (the MongoDB filter guarantees it); `index_essay` overwrites the
document whose id is the essay id. Transient backend errors are re-raised while RQ has retries left
(RQ schedules them with exponential backoff); a bad input or the last failed attempt marks the
action FAILED and returns normally, so consolidation still runs and the job ends PARTIAL.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import httpx
from rq import get_current_job

from services.analysis.pipeline import get_scorer
from services.analysis.pipeline import run_dimension as analyse_dimension
from services.analysis.results import DimensionResult, EssayInput
from services.analysis.rubric import get_rubric
from services.core import batches, jobs, metrics, webhooks
from services.core.errors import backend_of, is_transient
from services.core.events import JobEvent, publish
from services.core.logs import job_id_var
from services.core.models import AnalysisJob, Essay, JobStatus, Tenant, WebhookDelivery, utcnow
from services.core.queues import Enqueue, rq_job_id
from services.core.search import essay_document
from services.core.storage import ObjectNotFound
from services.core.submission import consolidation_step
from services.workers.context import WorkerContext, context

log = logging.getLogger(__name__)

INDEX_ESSAY = "services.workers.tasks.index_essay"
DELIVER_WEBHOOK = "services.workers.tasks.deliver_webhook"


F = TypeVar("F", bound=Callable[..., str])


def correlated(task: F) -> F:
    """Tag every log line written while the task runs with its job id (and only those)."""

    @functools.wraps(task)
    def wrapper(job_id: str, *args: Any) -> str:
        token = job_id_var.set(job_id)
        try:
            return task(job_id, *args)
        finally:
            job_id_var.reset(token)

    return cast(F, wrapper)


class BadInput(Exception):
    """The essay cannot be analysed (missing text, undecodable): retrying will not help."""


def _emit(ctx: WorkerContext, job: AnalysisJob, kind: str, dimension: str | None = None) -> None:
    done, total = job.progress
    action = job.actions.get(dimension) if dimension else None
    event = JobEvent(
        job_id=job.id,
        seq=job.seq,
        kind=kind,
        status=action.status.value if action else job.status.value,
        job_status=job.status.value,
        dimension=dimension,
        done=done,
        total=total,
        elapsed_ms=action.elapsed_ms if action else None,
        error=action.error if action else job.error,
    )
    try:
        publish(ctx.queues.redis, ctx.settings, event)
    except Exception as exc:  # events are best effort: the state is already in MongoDB
        log.warning("event for job %s not published: %s", job.id, exc)


def _retries_left() -> int:
    current = get_current_job()
    return int(current.retries_left or 0) if current is not None else 0


def _essay_input(ctx: WorkerContext, essay: Essay) -> EssayInput:
    try:
        text = ctx.essay_text(essay.s3_key)
    except ObjectNotFound as exc:
        raise BadInput(f"original text missing from object storage: {essay.s3_key}") from exc
    except UnicodeDecodeError as exc:
        raise BadInput(f"original text is not UTF-8: {exc}") from exc
    return EssayInput(
        text=text,
        title=essay.title,
        prompt_text=essay.prompt_text,
        prompt_id=essay.prompt_id,
        language=essay.language,
    )


@correlated
def run_dimension(job_id: str, dimension: str) -> str:
    """Analyse one essay along one dimension and store the result in its action."""
    ctx = context()
    current = get_current_job()
    job = ctx.run(jobs.start_action(job_id, dimension, current.id if current else None))
    if job is None:
        return "skipped: action already ended or job finalised"
    metrics.JOBS_STARTED.labels(dimension).inc()
    _emit(ctx, job, "action", dimension)
    started = time.perf_counter()
    try:
        essay = ctx.run(Essay.get(job.essay_id))
        if essay is None:
            raise BadInput(f"essay {job.essay_id} not found")
        result = analyse_dimension(get_rubric(job.rubric), dimension, _essay_input(ctx, essay))
    except Exception as exc:
        return _handle_failure(ctx, job_id, dimension, exc)
    elapsed = (time.perf_counter() - started) * 1000.0
    done = ctx.run(jobs.finish_action(job_id, dimension, result.model_dump(mode="json"), elapsed))
    ctx.queues.record_duration(dimension, elapsed / 1000.0)
    metrics.JOB_DURATION.labels(dimension).observe(elapsed / 1000.0)
    metrics.JOBS_FINISHED.labels(dimension).inc()
    if done is not None:
        _emit(ctx, done, "action", dimension)
        _consolidate_if_last(ctx, done)
    return "done"


def _consolidate_if_last(ctx: WorkerContext, job: AnalysisJob) -> None:
    """Enqueue consolidation when this update ended the job's last open action.

    `job` is the document as the atomic update left it, so exactly one finisher sees every
    action ended; if it dies before enqueueing, the reconciler does it (same RQ job id)."""
    if all(a.status.terminal for a in job.actions.values()):
        ctx.queues.enqueue(consolidation_step(job.id))


def _handle_failure(ctx: WorkerContext, job_id: str, dimension: str, exc: Exception) -> str:
    """Retry transient errors while RQ can; fail the action for good otherwise."""
    message = f"{type(exc).__name__}: {exc}"
    if is_transient(exc) and _retries_left() > 0:
        metrics.JOBS_RETRIED.labels(dimension).inc()
        log.warning(
            "job %s %s: transient %s error, will retry: %s",
            job_id,
            dimension,
            backend_of(exc),
            message,
        )
        try:
            job = ctx.run(jobs.note_retry(job_id, dimension, message))
            if job is not None:
                _emit(ctx, job, "action", dimension)
        except Exception as note_exc:
            log.warning("could not record the retry of %s/%s: %s", job_id, dimension, note_exc)
        raise exc
    if not isinstance(exc, BadInput | ValueError):
        log.exception("job %s %s failed for good", job_id, dimension, exc_info=exc)
    metrics.JOBS_FAILED.labels(dimension).inc()
    job = ctx.run(jobs.fail_action(job_id, dimension, message))
    if job is not None:
        _emit(ctx, job, "action", dimension)
        _consolidate_if_last(ctx, job)
    return f"failed: {message}"


@correlated
def consolidate(job_id: str) -> str:
    """Score the essay from its dimension results and finalise the job (once)."""
    ctx = context()
    started = time.perf_counter()
    job = ctx.run(jobs.get_job(job_id))
    if job is None or job.status.terminal:
        return "skipped: job missing or already final"
    if not all(a.status.terminal for a in job.actions.values()):
        return "skipped: actions still open (the last one to end enqueues consolidation)"
    essay = ctx.run(Essay.get(job.essay_id))
    if essay is None:
        return "skipped: essay deleted"
    status = jobs.final_status(job)
    result, error = _score(ctx, job, essay)
    if error and status == JobStatus.COMPLETED:
        status = JobStatus.PARTIAL
    final = ctx.run(jobs.finalise_job(job_id, status, result, error))
    elapsed_s = time.perf_counter() - started
    ctx.queues.record_duration("consolidate", elapsed_s)
    metrics.JOB_DURATION.labels("consolidate").observe(elapsed_s)
    if final is None:
        return "skipped: finalised concurrently"
    _emit(ctx, final, "job")
    after_final(ctx, final)
    return final.status.value


def after_final(ctx: WorkerContext, job: AnalysisJob) -> None:
    """What follows a final job: its batch's progress and report, search indexing and the
    tenant's webhook (each on its own queue)."""
    if job.batch_id is not None:
        try:
            ctx.run(batches.on_job_final(job))
        except Exception as exc:  # the batch view is recomputed on read: never fail the job
            log.warning("batch %s not refreshed after job %s: %s", job.batch_id, job.id, exc)
    steps = [
        Enqueue(queue="index", func=INDEX_ESSAY, args=(job.id,), job_id=rq_job_id(job.id, "index"))
    ]
    delivery = ctx.run(webhooks.create_delivery(job))
    if delivery is not None:
        steps.append(
            Enqueue(
                queue="webhooks",
                func=DELIVER_WEBHOOK,
                args=(delivery.id,),
                job_id=rq_job_id(delivery.id, "webhook"),
                max_attempts=ctx.settings.webhook_max_attempts,
                backoff_base_s=ctx.settings.webhook_backoff_base_s,
            )
        )
    ctx.queues.enqueue_many(steps)


def _score(ctx: WorkerContext, job: AnalysisJob, essay: Essay) -> tuple[dict[str, Any], str | None]:
    """The consolidated result: the score (when the scorer can run) and a short summary."""
    results = {
        name: DimensionResult.model_validate(action.result)
        for name, action in job.actions.items()
        if action.result is not None
    }
    summary: dict[str, Any] = {
        "dimensions": {
            name: {"status": a.status.value, "level": (a.result or {}).get("level")}
            for name, a in job.actions.items()
        },
        "issues": sum(len(r.issues) for r in results.values()),
    }
    if not results:
        return {"score": None, "summary": summary}, "no dimension succeeded"
    try:
        essay_input = _essay_input(ctx, essay)
        score = get_scorer(get_rubric(job.rubric)).score(essay_input, results)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("scoring job %s failed", job.id)
        return {"score": None, "summary": summary}, f"scoring failed: {type(exc).__name__}: {exc}"
    return {"score": score.model_dump(mode="json"), "summary": summary}, None


@correlated
def index_essay(job_id: str) -> str:
    """Put a finalised essay into the search index (document id = essay id)."""
    ctx = context()
    job = ctx.run(jobs.get_job(job_id))
    if job is None or not job.status.terminal:
        return "skipped: job missing or not final"
    essay = ctx.run(Essay.get(job.essay_id))
    if essay is None:
        return "skipped: essay deleted"
    text = ctx.essay_text(essay.s3_key)
    ctx.search.index(essay.id, essay_document(essay, job, text))  # bootstraps the index if none
    ctx.run(jobs.mark_indexed(job_id))
    return "indexed"


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx: RQ retries with backoff while attempts remain."""


def deliver_webhook(delivery_id: str) -> str:
    """POST one signed event to the tenant's URL and record the attempt."""
    ctx = context()
    delivery = ctx.run(WebhookDelivery.get(delivery_id))
    if delivery is None or delivery.status == "DELIVERED":
        return "skipped"
    tenant = ctx.run(Tenant.get(delivery.tenant_id))
    if tenant is None or not tenant.webhook_secret:
        return "skipped: tenant has no webhook any more"
    body = webhooks.encode(delivery.payload)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Elysia-Webhooks/1",
        webhooks.TIMESTAMP_HEADER: str(timestamp),
        webhooks.SIGNATURE_HEADER: webhooks.sign(tenant.webhook_secret, timestamp, body),
        webhooks.EVENT_HEADER: delivery.event,
        webhooks.DELIVERY_HEADER: delivery.id,
    }
    started = time.perf_counter()
    attempt: dict[str, Any] = {"at": utcnow(), "status_code": None, "error": None}
    try:
        response = httpx.post(
            delivery.url, content=body, headers=headers, timeout=ctx.settings.webhook_timeout_s
        )
        attempt["status_code"] = response.status_code
        ok = 200 <= response.status_code < 300
    except httpx.HTTPError as exc:
        attempt["error"] = f"{type(exc).__name__}: {exc}"[:500]
        ok = False
    attempt["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    last_try = _retries_left() == 0
    status = "DELIVERED" if ok else ("FAILED" if last_try else "PENDING")
    update: dict[str, Any] = {"$push": {"attempts": attempt}, "$set": {"status": status}}
    if ok:
        update["$set"]["delivered_at"] = utcnow()
    ctx.run(WebhookDelivery.get_pymongo_collection().update_one({"_id": delivery.id}, update))
    metrics.WEBHOOK_DELIVERIES.labels("delivered" if ok else "failed").inc()
    if not ok and not last_try:
        raise DeliveryFailed(attempt["error"] or f"HTTP {attempt['status_code']}")
    return status
