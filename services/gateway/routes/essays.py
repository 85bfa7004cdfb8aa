"""`/v1/essays`: submit an essay, read it back, read its text, delete it."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import PlainTextResponse

from services.core import jobs
from services.core.apikeys import Principal
from services.core.models import AnalysisJob, Essay
from services.core.submission import EssaySubmission, IdempotencyConflict
from services.gateway.deps import EssaysRead, EssaysWrite, State
from services.gateway.errors import ApiError
from services.gateway.views import EssayView, SubmitResponse, essay_view

router = APIRouter(prefix="/v1/essays", tags=["essays"])

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _validate_text(submission: EssaySubmission, max_bytes: int) -> None:
    try:
        size = len(submission.text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise ApiError(
            422, "invalid_encoding", f"text is not valid Unicode at {exc.start}", field="text"
        ) from None
    if size > max_bytes:
        raise ApiError(
            413,
            "payload_too_large",
            f"text is {size} bytes of UTF-8; the limit is {max_bytes}",
            field="text",
        )
    if not submission.text.strip():
        raise ApiError(422, "validation_error", "text is blank", field="text")
    if "\x00" in submission.text:
        raise ApiError(422, "invalid_encoding", "text contains NUL characters", field="text")


async def enforce_backpressure(principal: Principal, incoming: int = 1) -> None:
    """429 when the tenant already has `max_pending` essays accepted but not finished."""
    cap = principal.limits.max_pending
    pending = await jobs.pending_count(principal.tenant_id, cap + 1)
    if pending + incoming > cap:
        raise ApiError(
            429,
            "too_many_pending",
            f"{pending} essays are still being analysed for this tenant (limit {cap}); "
            "retry when some have finished",
            headers={"Retry-After": "10"},
        )


async def owned_essay(essay_id: str, tenant_id: str) -> Essay:
    """The essay if it belongs to the tenant; 404 otherwise (never reveal other tenants' ids)."""
    essay = await Essay.find_one({"_id": essay_id, "tenant_id": tenant_id})
    if essay is None:
        raise ApiError(404, "not_found", f"essay {essay_id} not found", field="essay_id")
    return essay


@router.post("", status_code=202, response_model=SubmitResponse)
async def submit_essay(
    submission: EssaySubmission,
    response: Response,
    state: State,
    principal: EssaysWrite,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> SubmitResponse:
    """Accept an essay: stored at once, analysed asynchronously; follow it with the URLs."""
    _validate_text(submission, state.settings.max_text_bytes)
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise ApiError(
            400,
            "invalid_header",
            "Idempotency-Key must be 1-200 printable ASCII characters",
            field="Idempotency-Key",
        )
    try:
        state.submissions.resolve_dimensions(submission)
    except (KeyError, ValueError) as exc:
        raise ApiError(422, "validation_error", str(exc).strip("'\""), field="dimensions") from None
    if (
        idempotency_key is None
        or await jobs.get_job_by_key(principal.tenant_id, idempotency_key) is None
    ):
        await enforce_backpressure(principal)
    try:
        accepted = await state.submissions.submit(
            principal.tenant_id, submission, idempotency_key=idempotency_key
        )
    except IdempotencyConflict:
        raise ApiError(
            409,
            "idempotency_conflict",
            "this Idempotency-Key was already used with a different request body",
            field="Idempotency-Key",
        ) from None
    job = accepted.job
    if not accepted.created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/jobs/{job.id}"
    return SubmitResponse(
        job_id=job.id,
        essay_id=accepted.essay.id,
        status=job.status.value,
        created=accepted.created,
        queued=accepted.queued,
        status_url=f"/v1/jobs/{job.id}",
        events_url=f"/v1/jobs/{job.id}/events",
        ws_url=f"/v1/jobs/{job.id}/ws",
        essay_url=f"/v1/essays/{accepted.essay.id}",
    )


@router.get("/{essay_id}", response_model=EssayView)
async def get_essay(essay_id: str, principal: EssaysRead) -> EssayView:
    """An essay's metadata and its consolidated result (once the job has ended)."""
    essay = await owned_essay(essay_id, principal.tenant_id)
    job = await AnalysisJob.get(essay.job_id) if essay.job_id else None
    return essay_view(essay, job)


@router.get("/{essay_id}/text", response_class=PlainTextResponse)
async def get_essay_text(essay_id: str, state: State, principal: EssaysRead) -> PlainTextResponse:
    """The original text, exactly as submitted (issue offsets index it)."""
    essay = await owned_essay(essay_id, principal.tenant_id)
    text = await asyncio.to_thread(state.store.get_text, essay.s3_key)
    return PlainTextResponse(text, media_type="text/plain; charset=utf-8")


@router.delete("/{essay_id}", status_code=204)
async def delete_essay(essay_id: str, state: State, principal: EssaysWrite) -> Response:
    """Delete an essay everywhere: object storage, metadata and the search index."""
    essay = await owned_essay(essay_id, principal.tenant_id)
    # Index first: if Elasticsearch is down the call fails (503) before anything is removed.
    await asyncio.to_thread(state.search.delete, essay.id)
    await asyncio.to_thread(state.store.delete, essay.s3_key)
    if essay.job_id:
        await AnalysisJob.get_pymongo_collection().delete_one(
            {"_id": essay.job_id, "tenant_id": principal.tenant_id}
        )
    await Essay.get_pymongo_collection().delete_one(
        {"_id": essay.id, "tenant_id": principal.tenant_id}
    )
    return Response(status_code=204)
