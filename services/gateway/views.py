"""Response models: what the API promises to return (and what the OpenAPI schema documents)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from services.core.models import AnalysisJob, Essay


class Progress(BaseModel):
    done: int
    total: int
    percent: float


class ActionView(BaseModel):
    dimension: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_ms: float | None
    error: str | None
    level: int | None
    result: dict[str, Any] | None


class JobView(BaseModel):
    job_id: str
    essay_id: str
    batch_id: str | None
    status: str
    progress: Progress
    actions: dict[str, ActionView]
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    seq: int


class SubmitResponse(BaseModel):
    job_id: str
    essay_id: str
    status: str
    created: bool
    queued: bool
    status_url: str
    events_url: str
    ws_url: str
    essay_url: str


class EssayView(BaseModel):
    essay_id: str
    external_id: str | None
    title: str | None
    prompt_id: str | None
    language: str
    rubric: str
    chars: int
    words: int
    sha256: str
    metadata: dict[str, Any]
    groups: dict[str, str]
    batch_id: str | None
    created_at: datetime
    job_id: str | None
    status: str | None
    result: dict[str, Any] | None
    text_url: str


def progress_of(job: AnalysisJob) -> Progress:
    done, total = job.progress
    return Progress(done=done, total=total, percent=round(100.0 * done / total, 1) if total else 0)


def job_view(job: AnalysisJob, include_results: bool = True) -> JobView:
    return JobView(
        job_id=job.id,
        essay_id=job.essay_id,
        batch_id=job.batch_id,
        status=job.status.value,
        progress=progress_of(job),
        actions={
            name: ActionView(
                dimension=name,
                status=a.status.value,
                attempts=a.attempts,
                started_at=a.started_at,
                finished_at=a.finished_at,
                elapsed_ms=a.elapsed_ms,
                error=a.error,
                level=(a.result or {}).get("level"),
                result=a.result if include_results else None,
            )
            for name, a in job.actions.items()
        },
        result=job.result,
        error=job.error,
        created_at=job.created_at,
        finished_at=job.finished_at,
        seq=job.seq,
    )


def essay_view(essay: Essay, job: AnalysisJob | None) -> EssayView:
    return EssayView(
        essay_id=essay.id,
        external_id=essay.external_id,
        title=essay.title,
        prompt_id=essay.prompt_id,
        language=essay.language,
        rubric=essay.rubric,
        chars=essay.chars,
        words=essay.words,
        sha256=essay.sha256,
        metadata=essay.metadata,
        groups=essay.groups,
        batch_id=essay.batch_id,
        created_at=essay.created_at,
        job_id=essay.job_id,
        status=job.status.value if job else None,
        result=job.result if job else None,
        text_url=f"/v1/essays/{essay.id}/text",
    )
