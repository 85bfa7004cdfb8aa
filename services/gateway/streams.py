"""The live view of one job, shared by the SSE and WebSocket endpoints.

Subscribe first, then read the job: the snapshot carries the job's `seq`, and only events with a
higher `seq` follow, so the client sees every state change in order, none twice. Pub/sub can drop
messages (a Redis blip), so every few quiet seconds the job is read again and a snapshot is sent if
it moved. The stream ends with the job's final state.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from services.core import jobs
from services.core.config import Settings
from services.core.events import subscribe
from services.gateway.views import job_view

RESYNC_EVERY_S = 3.0


def snapshot(job: Any) -> dict[str, Any]:
    view = job_view(job, include_results=False)
    return {"type": "snapshot", "seq": job.seq, "job": view.model_dump(mode="json")}


async def job_events(
    settings: Settings, job_id: str, tenant_id: str
) -> AsyncIterator[dict[str, Any]]:
    """Yield a snapshot, then ordered events, until the job is final (or vanishes)."""
    events = subscribe(settings, job_id)
    try:
        first = await anext(events)  # the subscription is live once the first item arrives
        job = await jobs.get_job(job_id, tenant_id)
        if job is None:
            return
        last_seq = job.seq
        yield snapshot(job)
        if job.status.terminal:
            return
        pending = [first]
        last_sync = time.monotonic()
        while True:
            event = pending.pop() if pending else await anext(events)
            if event.seq > last_seq:
                last_seq = event.seq
                yield {"type": event.kind, **event.model_dump(mode="json")}
                if event.final:
                    return
                continue
            if time.monotonic() - last_sync >= RESYNC_EVERY_S:
                last_sync = time.monotonic()
                job = await jobs.get_job(job_id, tenant_id)
                if job is None:
                    return
                if job.seq > last_seq:
                    last_seq = job.seq
                    yield snapshot(job)
                if job.status.terminal:
                    return
    finally:
        await events.aclose()  # type: ignore[attr-defined]
