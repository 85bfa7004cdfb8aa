"""`/v1/jobs`: status and per-action progress, live over SSE or WebSocket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from services.core import jobs
from services.core.apikeys import Principal, authenticate
from services.gateway.deps import EssaysRead, State
from services.gateway.errors import ApiError
from services.gateway.streams import job_events
from services.gateway.views import JobView, job_view

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


async def owned_job_or_404(job_id: str, tenant_id: str) -> None:
    if await jobs.get_job(job_id, tenant_id) is None:
        raise ApiError(404, "not_found", f"job {job_id} not found", field="job_id")


@router.get("/{job_id}", response_model=JobView)
async def get_job(
    job_id: str,
    principal: EssaysRead,
    results: Annotated[bool, Query(description="Include each action's result.")] = True,
) -> JobView:
    """Overall status, progress, each dimension's state and (partial) results."""
    job = await jobs.get_job(job_id, principal.tenant_id)
    if job is None:
        raise ApiError(404, "not_found", f"job {job_id} not found", field="job_id")
    return job_view(job, include_results=results)


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events_sse(job_id: str, state: State, principal: EssaysRead) -> StreamingResponse:
    """Server-Sent Events: a snapshot, then every state change, ending with the final state."""
    await owned_job_or_404(job_id, principal.tenant_id)

    async def stream() -> AsyncIterator[str]:
        async for item in job_events(state.settings, job_id, principal.tenant_id):
            yield f"id: {item['seq']}\nevent: {item['type']}\ndata: {json.dumps(item)}\n\n"

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _ws_principal(websocket: WebSocket) -> Principal | None:
    """Browsers cannot set headers on a WebSocket: accept the key as `?api_key=` too."""
    key = websocket.headers.get("x-api-key") or websocket.query_params.get("api_key")
    auth = websocket.headers.get("authorization", "")
    if not key and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    return await authenticate(key) if key else None


@router.websocket("/{job_id}/ws")
async def job_events_ws(websocket: WebSocket, job_id: str) -> None:
    """WebSocket twin of the SSE stream: JSON messages, closed after the final state."""
    # Accept first: a close before the handshake is a bare HTTP 403, while a close frame can say
    # precisely what is wrong (4401 unauthorised, 4403 scope, 4404 not found).
    await websocket.accept()
    principal = await _ws_principal(websocket)
    if principal is None:
        await websocket.close(code=4401, reason="missing or invalid API key")
        return
    if not principal.can("essays:read"):
        await websocket.close(code=4403, reason="this API key lacks the 'essays:read' scope")
        return
    if await jobs.get_job(job_id, principal.tenant_id) is None:
        await websocket.close(code=4404, reason=f"job {job_id} not found")
        return
    settings = websocket.app.state.elysia.settings
    try:
        async for item in job_events(settings, job_id, principal.tenant_id):
            await websocket.send_text(json.dumps(item))
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return
