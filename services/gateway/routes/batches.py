"""`/v1/batches`: upload a CSV of essays, follow its ingestion and analysis, read the results.

The upload is streamed: the first 64 KiB are inspected (encoding, delimiter, header) and a bad
file is refused with a 4xx naming the line and column *before* anything is stored; a good one is
streamed to object storage in 8 MiB parts and answered 202 while the `ingest` queue does the rest.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile

from services.core import batches as core
from services.core.csvio import CsvFormatError
from services.core.models import AnalysisJob, Batch, BatchStatus, Essay
from services.gateway.deps import EssaysRead, EssaysWrite, State
from services.gateway.errors import ApiError

router = APIRouter(prefix="/v1/batches", tags=["batches"])

_RAW_TYPES = {"text/csv", "application/csv", "text/plain", "application/octet-stream", ""}
_READ_SIZE = 64 * 1024


class BatchView(BaseModel):
    id: str
    status: str
    filename: str | None
    encoding: str | None
    delimiter: str | None
    columns: list[str]
    group_columns: list[str]
    bytes: int
    rows_total: int
    rows_accepted: int
    rows_rejected: int
    essays_completed: int
    progress_percent: float
    eta_seconds: float | None
    error: str | None
    created_at: datetime
    ingested_at: datetime | None
    finished_at: datetime | None
    status_url: str
    errors_url: str
    results_url: str
    report_url: str


class BatchAccepted(BatchView):
    queued: bool


class RowErrorView(BaseModel):
    row: int
    line: int
    end_line: int | None = None
    column: int | None = None
    field: str | None = None
    code: str
    message: str


class ErrorPage(BaseModel):
    batch_id: str
    items: list[RowErrorView]
    next_after: int | None


def batch_view(batch: Batch) -> BatchView:
    shown = core.progress(batch)
    base = f"/v1/batches/{batch.id}"
    return BatchView(
        id=batch.id,
        status=batch.status.value,
        filename=batch.filename,
        encoding=batch.encoding,
        delimiter=batch.delimiter,
        columns=batch.columns,
        group_columns=batch.group_columns,
        bytes=batch.bytes,
        rows_total=batch.rows_total,
        rows_accepted=batch.rows_accepted,
        rows_rejected=batch.rows_rejected,
        essays_completed=batch.essays_completed,
        progress_percent=shown.percent,
        eta_seconds=shown.eta_seconds,
        error=batch.error,
        created_at=batch.created_at,
        ingested_at=batch.ingested_at,
        finished_at=batch.finished_at,
        status_url=base,
        errors_url=f"{base}/errors",
        results_url=f"{base}/results.csv",
        report_url=f"{base}/report",
    )


def csv_error(exc: CsvFormatError) -> ApiError:
    """A refused file: 422 with the line and column (415 for files that are not text)."""
    status = 415 if exc.code in {"binary_file", "unsupported_encoding"} else 422
    return ApiError(
        status,
        exc.code,
        exc.message,
        field=exc.field or "file",
        details={"line": exc.line, "column": exc.column},
    )


async def _body_chunks(request: Request) -> tuple[AsyncIterator[bytes], str | None]:
    """The CSV bytes of the request (raw body or the `file` part of a form), and a file name."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        # Starlette spools file parts to a temporary file past 1 MiB: memory stays bounded.
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422, "validation_error", "the form has no 'file' part with the CSV", field="file"
            )
        return _read_upload(upload), upload.filename
    if content_type not in _RAW_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the CSV as text/csv or multipart/form-data, not {content_type!r}",
            field="Content-Type",
        )
    name = request.headers.get("x-filename") or request.query_params.get("filename")
    return _stream(request), name


async def _stream(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def _read_upload(upload: UploadFile) -> AsyncIterator[bytes]:
    try:
        while chunk := await upload.read(_READ_SIZE):
            yield chunk
    finally:
        await upload.close()


@router.post("", status_code=202, response_model=BatchAccepted)
async def create_batch(
    request: Request,
    state: State,
    principal: EssaysWrite,
    chunk_rows: Annotated[
        int, Query(ge=1, le=5000, description="Rows per bulk insert during ingestion.")
    ] = core.DEFAULT_CHUNK_ROWS,
) -> BatchAccepted:
    """Upload a CSV (`text` column required); 202 with the batch id, then follow `status_url`."""
    chunks, filename = await _body_chunks(request)
    try:
        batch, queued = await core.create_batch(
            state.store,
            state.queues,
            principal.tenant_id,
            chunks,
            filename=(filename or "")[:300] or None,
            max_bytes=state.settings.max_csv_bytes,
            chunk_rows=chunk_rows,
        )
    except CsvFormatError as exc:
        raise csv_error(exc) from None
    except core.UploadTooLarge:
        raise ApiError(
            413,
            "payload_too_large",
            f"the CSV exceeds the limit of {state.settings.max_csv_bytes} bytes",
            field="file",
        ) from None
    return BatchAccepted(**batch_view(batch).model_dump(), queued=queued)


async def owned_batch(batch_id: str, tenant_id: str) -> Batch:
    batch = await Batch.find_one({"_id": batch_id, "tenant_id": tenant_id})
    if batch is None:
        raise ApiError(404, "not_found", f"batch {batch_id} not found", field="batch_id")
    return batch


@router.get("", response_model=list[BatchView])
async def list_batches(
    principal: EssaysRead, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[BatchView]:
    """The tenant's most recent batches."""
    found = (
        await Batch.find({"tenant_id": principal.tenant_id})
        .sort("-created_at")
        .limit(limit)
        .to_list()
    )
    return [batch_view(b) for b in found]


@router.get("/{batch_id}", response_model=BatchView)
async def get_batch(batch_id: str, principal: EssaysRead) -> BatchView:
    """Status, row counts, essays finished, progress and ETA."""
    batch = await owned_batch(batch_id, principal.tenant_id)
    if batch.status == BatchStatus.PROCESSING:
        batch = await core.refresh_progress(batch.id) or batch
    return batch_view(batch)


@router.post("/{batch_id}/resume", status_code=202, response_model=BatchView)
async def resume_batch(batch_id: str, state: State, principal: EssaysWrite) -> BatchView:
    """Re-drive an ingestion that stopped (worker killed): it continues at the first row not
    ingested, and creates nothing twice. Harmless if the ingestion is in fact still running."""
    batch = await owned_batch(batch_id, principal.tenant_id)
    if batch.status not in (BatchStatus.UPLOADED, BatchStatus.INGESTING):
        raise ApiError(
            409,
            "conflict",
            f"batch {batch_id} is {batch.status.value}: only an unfinished ingestion resumes",
            field="batch_id",
        )
    if not core.enqueue_ingestion(state.queues, batch.id, attempt=f"-{uuid.uuid4().hex[:8]}"):
        raise ApiError(503, "backend_unavailable", "could not queue the ingestion; retry later")
    return batch_view(batch)


@router.get("/{batch_id}/errors", response_model=ErrorPage)
async def batch_errors(
    batch_id: str,
    principal: EssaysRead,
    after: Annotated[
        int, Query(ge=0, le=2**63 - 1, description="Rows after this row number.")
    ] = 0,  # the bound: MongoDB integers are 8 bytes (a larger one was a 500)
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ErrorPage:
    """Rejected rows, in file order, with line, column and reason (cursor: `next_after`)."""
    batch = await owned_batch(batch_id, principal.tenant_id)
    cursor = (
        core.errors_collection()
        .find({"batch_id": batch.id, "row": {"$gt": after}}, {"_id": 0, "batch_id": 0})
        .sort("row", 1)
        .limit(limit + 1)
    )
    docs = await cursor.to_list(length=limit + 1)
    items = [RowErrorView.model_validate(d) for d in docs[:limit]]
    return ErrorPage(
        batch_id=batch.id,
        items=items,
        next_after=items[-1].row if len(docs) > limit else None,
    )


@router.get(
    "/{batch_id}/results.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def batch_results(batch_id: str, principal: EssaysRead) -> StreamingResponse:
    """One row per essay (file order): groups, status, C1..C5, total, flags. Streamed."""
    batch = await owned_batch(batch_id, principal.tenant_id)
    return StreamingResponse(
        _results_rows(batch),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch.id}-results.csv"'},
    )


_ESSAY_FIELDS = {
    f: 1 for f in ("row_number", "metadata", "external_id", "title", "groups", "job_id")
}
RESULT_COLUMNS = ("essay_id", "job_id", "status", "C1", "C2", "C3", "C4", "C5", "total", "flags")


async def _results_rows(batch: Batch, page: int = 500) -> AsyncIterator[bytes]:
    header = ["row", "line", "external_id", "title", *batch.group_columns, *RESULT_COLUMNS]
    yield _csv_line(header)
    cursor = (
        Essay.get_pymongo_collection()
        .find(
            {"batch_id": batch.id, "tenant_id": batch.tenant_id},
            {
                "row_number": 1,
                "metadata": 1,
                "external_id": 1,
                "title": 1,
                "groups": 1,
                "job_id": 1,
            },
        )
        .sort("row_number", 1)
        .batch_size(page)
    )
    essays: list[dict[str, Any]] = []
    async for essay in cursor:
        essays.append(essay)
        if len(essays) >= page:
            yield await _results_page(batch, essays)
            essays = []
    if essays:
        yield await _results_page(batch, essays)


async def _results_page(batch: Batch, essays: list[dict[str, Any]]) -> bytes:
    ids = [e["job_id"] for e in essays if e.get("job_id")]
    jobs = {
        j["_id"]: j
        async for j in AnalysisJob.get_pymongo_collection().find(
            {"_id": {"$in": ids}}, {"status": 1, "result.score": 1}
        )
    }
    out = io.StringIO()
    writer = csv.writer(out)
    for essay in essays:
        job = jobs.get(essay.get("job_id"), {})
        score = ((job.get("result") or {}).get("score")) or {}
        levels = score.get("levels") or {}
        writer.writerow(
            [
                essay.get("row_number"),
                (essay.get("metadata") or {}).get("line"),
                essay.get("external_id") or "",
                essay.get("title") or "",
                *[(essay.get("groups") or {}).get(g, "") for g in batch.group_columns],
                essay["_id"],
                essay.get("job_id") or "",
                job.get("status", ""),
                *[levels.get(c, "") for c in core.COMPETENCIES],
                score.get("total", ""),
                "|".join(score.get("flags") or []),
            ]
        )
    return out.getvalue().encode("utf-8")


def _csv_line(values: list[Any]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue().encode("utf-8")


@router.get("/{batch_id}/report")
async def batch_report(
    batch_id: str,
    principal: EssaysRead,
    group_by: Annotated[
        str | None, Query(description="A grouping column of the CSV, e.g. school.")
    ] = None,
    fresh: Annotated[
        bool, Query(description="Recompute now instead of the stored report.")
    ] = False,
) -> dict[str, Any]:
    """Aggregates over the finished essays (MongoDB aggregation): mean, median, distribution per
    competency and total, frequent flags and issue categories; per group with `group_by`."""
    batch = await owned_batch(batch_id, principal.tenant_id)
    if group_by is not None and group_by not in batch.group_columns:
        raise ApiError(
            422,
            "validation_error",
            f"group_by must be one of this batch's grouping columns {batch.group_columns}",
            field="group_by",
        )
    batch = await core.refresh_progress(batch.id) or batch
    report = batch.report
    if fresh or report is None or core.report_stale(batch):
        report = await core.compute_report(batch)
    body: dict[str, Any] = {
        "batch_id": batch.id,
        "status": batch.status.value,
        "rows_accepted": batch.rows_accepted,
        "essays_completed": batch.essays_completed,
        **report,
    }
    if group_by is not None:
        body["group_by"] = group_by
        body["groups"] = await core.grouped_report(batch, group_by)
    return body
