"""Beanie documents: tenants, API keys, essays, analysis jobs (one action per dimension), batches.

Identifiers are strings chosen by the platform, not ObjectIds: an essay submitted with an
`Idempotency-Key`, or row N of a CSV batch, gets an id derived from that key, so a retried request
or a resumed ingestion lands on the same document instead of creating a duplicate.

A job's actions are a mapping dimension → action, so one dimension's update is a `$set` on
`actions.<dimension>.*` fields: atomic on the server, and two dimensions finishing at once never
overwrite each other (no read-modify-write of the whole list).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from beanie import Document
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


def derived_id(*parts: str) -> str:
    """A stable 32-hex id from its parts (tenant + idempotency key, batch + row number…)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:32]


def idempotent_ids(tenant_id: str, idempotency_key: str) -> tuple[str, str]:
    """(essay id, job id) that a tenant's idempotency key always maps to."""
    return (
        derived_id(tenant_id, "essay", idempotency_key),
        derived_id(tenant_id, "job", idempotency_key),
    )


class ActionStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self in (ActionStatus.DONE, ActionStatus.FAILED)


class JobStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.FAILED)


class Action(BaseModel):
    """One dimension's work on one essay."""

    dimension: str
    status: ActionStatus = ActionStatus.PENDING
    attempts: int = 0
    queued_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    elapsed_ms: float | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    rq_job_id: str | None = None


class TenantLimits(BaseModel):
    """A tenant's budget: at most `requests` per `window_s` per API key (sliding window), and at
    most `max_pending` essays accepted but not yet finished (backpressure instead of a queue that
    grows without bound)."""

    requests: int = Field(default=100, ge=1, le=1_000_000)
    window_s: float = Field(default=1.0, gt=0, le=3600)
    max_pending: int = Field(default=10_000, ge=1)


class Tenant(Document):
    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    name: str
    created_at: datetime = Field(default_factory=utcnow)
    active: bool = True
    limits: TenantLimits = Field(default_factory=TenantLimits)
    webhook_url: str | None = None
    webhook_secret: str | None = None

    class Settings:
        name = "tenants"


class ApiKey(Document):
    """An API key: only its SHA-256 is stored; the prefix identifies it in listings and logs."""

    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    prefix: str
    secret_hash: str
    tenant_id: str
    name: str = ""
    scopes: list[str] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    class Settings:
        name = "api_keys"
        indexes = [
            IndexModel([("prefix", ASCENDING)], unique=True),
            IndexModel([("tenant_id", ASCENDING)]),
        ]


class Essay(Document):
    """An accepted essay: its metadata here, its original text in S3 under `s3_key`."""

    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    tenant_id: str
    external_id: str | None = None
    title: str | None = None
    prompt_id: str | None = None
    prompt_text: str | None = None
    language: str = "pt-BR"
    rubric: str = "enem"
    s3_key: str
    sha256: str
    chars: int
    words: int
    metadata: dict[str, Any] = Field(default_factory=dict)
    groups: dict[str, str] = Field(default_factory=dict)
    batch_id: str | None = None
    row_number: int | None = None
    job_id: str | None = None
    created_at: datetime = Field(default_factory=utcnow)

    class Settings:
        name = "essays"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("external_id", ASCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("batch_id", ASCENDING)]),
            IndexModel([("batch_id", ASCENDING), ("row_number", ASCENDING)]),
        ]


class AnalysisJob(Document):
    """The analysis of one essay: one action per dimension, then a consolidated result."""

    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    tenant_id: str
    essay_id: str
    batch_id: str | None = None
    rubric: str = "enem"
    status: JobStatus = JobStatus.PENDING
    actions: dict[str, Action] = Field(default_factory=dict)
    seq: int = 0
    request_sha256: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    consolidations: int = 0
    indexed_at: datetime | None = None

    class Settings:
        name = "jobs"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("status", ASCENDING)]),
            IndexModel([("status", ASCENDING), ("updated_at", ASCENDING)]),
            IndexModel([("essay_id", ASCENDING)]),
            IndexModel([("batch_id", ASCENDING), ("status", ASCENDING)]),
        ]

    @property
    def progress(self) -> tuple[int, int]:
        """(ended actions, total actions)."""
        ended = sum(1 for a in self.actions.values() if a.status.terminal)
        return ended, len(self.actions)


class BatchStatus(StrEnum):
    UPLOADED = "UPLOADED"  # the CSV is in object storage, ingestion not started
    INGESTING = "INGESTING"  # rows are being validated and turned into essays and jobs
    PROCESSING = "PROCESSING"  # every row is ingested; essays are being analysed
    COMPLETED = "COMPLETED"  # every accepted essay's job has ended
    FAILED = "FAILED"  # the file could not be ingested at all (see `error`)


class Batch(Document):
    """A CSV upload: its file in S3, ingestion progress, counts, and the aggregated report."""

    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    tenant_id: str
    s3_key: str
    filename: str | None = None
    status: BatchStatus = BatchStatus.UPLOADED
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] = Field(default_factory=list)
    group_columns: list[str] = Field(default_factory=list)
    bytes: int = 0
    rows_total: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    essays_completed: int = 0
    resume_row: int = 0  # rows before this one are ingested (resumable ingestion)
    chunk_rows: int | None = None  # rows per ingestion chunk (fixed for the batch's life)
    error: str | None = None
    report: dict[str, Any] | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    ingested_at: datetime | None = None
    finished_at: datetime | None = None

    class Settings:
        name = "batches"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)])]


class WebhookDelivery(Document):
    """One event for a tenant's webhook and every attempt to deliver it."""

    id: str = Field(default_factory=new_id)  # type: ignore[assignment]
    tenant_id: str
    event: str  # "job.completed" | "job.partial" | "job.failed"
    job_id: str
    url: str
    payload: dict[str, Any]
    status: str = "PENDING"  # PENDING | DELIVERED | FAILED
    attempts: list[dict[str, Any]] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None

    class Settings:
        name = "webhook_deliveries"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
            IndexModel([("job_id", ASCENDING)]),
        ]


DOCUMENT_MODELS: list[type[Document]] = [Tenant, ApiKey, Essay, AnalysisJob, Batch, WebhookDelivery]
