"""Accepting an essay: original to S3, essay and job to MongoDB, one RQ job per dimension.

The order is what makes "nothing accepted is lost" true: the text is stored first, then the
metadata; only when both are durable is the essay *accepted*. Enqueueing comes last and may fail
(Redis down, queue full) without losing anything: the job stays PENDING in MongoDB and the
reconciler enqueues it later. Ids derive from the idempotency key (or the batch row), so a retried
request finds the job it already created instead of making a second one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymongo.errors import DuplicateKeyError
from redis.exceptions import RedisError

from services.analysis.rubric import get_rubric
from services.core.config import Settings
from services.core.csvio import GROUP_NAME
from services.core.models import (
    Action,
    AnalysisJob,
    Essay,
    derived_id,
    idempotent_ids,
    new_id,
    utcnow,
)
from services.core.queues import CONSOLIDATE, RUN_DIMENSION, Enqueue, Queues, rq_job_id
from services.core.storage import ObjectStore, essay_key

log = logging.getLogger(__name__)


class EssaySubmission(BaseModel):
    """What a client sends to have one essay analysed (validated at the gateway edge)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    text: str = Field(min_length=1, description="The essay, plain UTF-8 text.")
    title: str | None = Field(default=None, max_length=500)
    prompt_id: str | None = Field(default=None, max_length=200)
    prompt_text: str | None = Field(default=None, max_length=20_000)
    language: str = Field(default="pt-BR", max_length=16)
    rubric: str = Field(default="enem", max_length=32)
    external_id: str | None = Field(default=None, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict)
    groups: dict[str, str] = Field(default_factory=dict)
    dimensions: list[str] | None = Field(
        default=None, description="Subset of the rubric's dimensions (default: all)."
    )

    @field_validator("metadata")
    @classmethod
    def _metadata_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        _check_keys(value, "metadata")
        return value

    @field_validator("groups")
    @classmethod
    def _group_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not GROUP_NAME.match(name):
                raise ValueError(
                    f"group name {name!r} must match {GROUP_NAME.pattern} (like a CSV column)"
                )
        return value


def _check_keys(value: Any, where: str, depth: int = 0) -> None:
    """Document keys must be storable as MongoDB field names: no NUL, no leading '$', no '.'."""
    if depth > 8:
        raise ValueError(f"{where} is nested too deeply (at most 8 levels)")
    if isinstance(value, dict):
        for key, item in value.items():
            if not key or "\x00" in key or key.startswith("$") or "." in key:
                raise ValueError(
                    f"{where} key {key!r} is not allowed (empty, NUL, leading '$' or '.')"
                )
            _check_keys(item, f"{where}.{key}", depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_keys(item, where, depth + 1)


class IdempotencyConflict(Exception):
    """The idempotency key was already used with a different request body."""


@dataclass
class Accepted:
    essay: Essay
    job: AnalysisJob
    created: bool
    queued: bool


def request_fingerprint(submission: EssaySubmission) -> str:
    return hashlib.sha256(submission.model_dump_json().encode("utf-8")).hexdigest()


def plan_jobs(settings: Settings, job: AnalysisJob) -> list[Enqueue]:
    """The RQ work of a job: one job per open action, on that dimension's queue.

    Consolidation is not enqueued here: the dimension whose (atomic) update ends the job's last
    open action enqueues it (see `services.workers.tasks`), and the reconciler does so for a job
    whose actions have all ended without it. RQ's own dependencies were dropped on purpose: they
    live only in Redis, and under concurrency RQ may defer a ready dependent until its periodic
    maintenance ("changed while enqueueing"), stalling an essay for minutes.
    """
    return [
        Enqueue(queue=name, func=RUN_DIMENSION, args=(job.id, name), job_id=rq_job_id(job.id, name))
        for name, action in job.actions.items()
        if not action.status.terminal
    ]


def consolidation_step(job_id: str) -> Enqueue:
    """The RQ job that scores and finalises a job whose actions have all ended."""
    return Enqueue(
        queue="consolidate",
        func=CONSOLIDATE,
        args=(job_id,),
        job_id=rq_job_id(job_id, "consolidate"),
    )


class SubmissionService:
    """Accepts essays for a deployment: S3, MongoDB and RQ wired from one `Settings`."""

    def __init__(self, settings: Settings, store: ObjectStore, queues: Queues) -> None:
        self.settings = settings
        self.store = store
        self.queues = queues

    def resolve_dimensions(self, submission: EssaySubmission) -> list[str]:
        rubric = get_rubric(submission.rubric)
        if not submission.dimensions:
            return list(rubric.dimension_names)
        unknown = sorted(set(submission.dimensions) - set(rubric.dimension_names))
        if unknown:
            raise ValueError(
                f"unknown dimensions {unknown}; rubric {rubric.name!r} has "
                f"{list(rubric.dimension_names)}"
            )
        return list(dict.fromkeys(submission.dimensions))

    async def submit(
        self,
        tenant_id: str,
        submission: EssaySubmission,
        idempotency_key: str | None = None,
        batch_id: str | None = None,
        row_number: int | None = None,
    ) -> Accepted:
        dimensions = self.resolve_dimensions(submission)
        fingerprint = request_fingerprint(submission)
        if idempotency_key:
            essay_id, job_id = idempotent_ids(tenant_id, idempotency_key)
        elif batch_id is not None and row_number is not None:
            essay_id = derived_id(tenant_id, batch_id, "essay", str(row_number))
            job_id = derived_id(tenant_id, batch_id, "job", str(row_number))
        else:
            essay_id, job_id = new_id(), new_id()

        existing = await AnalysisJob.get(job_id)
        if existing is not None:
            return await self._existing(existing, tenant_id, fingerprint)

        essay = self._essay(tenant_id, essay_id, job_id, submission, batch_id, row_number)
        await asyncio.to_thread(
            self.store.put_text, essay.s3_key, submission.text, tenant=tenant_id, essay=essay_id
        )
        job = self._job(tenant_id, essay, job_id, dimensions, batch_id, fingerprint)
        with contextlib.suppress(DuplicateKeyError):
            await essay.insert()  # a concurrent duplicate (same key) may have inserted it first
        try:
            await job.insert()
        except DuplicateKeyError:
            raced = await AnalysisJob.get(job_id)
            assert raced is not None
            return await self._existing(raced, tenant_id, fingerprint)
        queued = await self.enqueue(job)
        return Accepted(essay=essay, job=job, created=True, queued=queued)

    async def enqueue(self, job: AnalysisJob) -> bool:
        """Enqueue a job's open work; False (and a log line) when Redis refuses: re-driven later."""
        try:
            await asyncio.to_thread(self.queues.enqueue_many, plan_jobs(self.settings, job))
        except RedisError as exc:
            log.warning("enqueue failed, job %s left for the reconciler: %s", job.id, exc)
            return False
        return True

    async def _existing(self, job: AnalysisJob, tenant_id: str, fingerprint: str) -> Accepted:
        if job.tenant_id != tenant_id or (job.request_sha256 and job.request_sha256 != fingerprint):
            raise IdempotencyConflict(job.id)
        essay = await Essay.get(job.essay_id)
        assert essay is not None, f"job {job.id} without its essay"
        return Accepted(essay=essay, job=job, created=False, queued=True)

    def _essay(
        self,
        tenant_id: str,
        essay_id: str,
        job_id: str,
        submission: EssaySubmission,
        batch_id: str | None,
        row_number: int | None,
    ) -> Essay:
        text = submission.text
        return Essay(
            id=essay_id,
            tenant_id=tenant_id,
            external_id=submission.external_id,
            title=submission.title,
            prompt_id=submission.prompt_id,
            prompt_text=submission.prompt_text,
            language=submission.language,
            rubric=submission.rubric,
            s3_key=essay_key(tenant_id, essay_id),
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            chars=len(text),
            words=len(text.split()),
            metadata=submission.metadata,
            groups=submission.groups,
            batch_id=batch_id,
            row_number=row_number,
            job_id=job_id,
        )

    def _job(
        self,
        tenant_id: str,
        essay: Essay,
        job_id: str,
        dimensions: Sequence[str],
        batch_id: str | None,
        fingerprint: str,
    ) -> AnalysisJob:
        now = utcnow()
        return AnalysisJob(
            id=job_id,
            tenant_id=tenant_id,
            essay_id=essay.id,
            batch_id=batch_id,
            rubric=essay.rubric,
            actions={d: Action(dimension=d, queued_at=now) for d in dimensions},
            request_sha256=fingerprint,
        )
