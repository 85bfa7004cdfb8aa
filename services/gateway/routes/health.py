"""Liveness, readiness and Prometheus metrics, without authentication (cluster-internal)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.core.health import check_all
from services.gateway.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers: nothing else is checked (a backend outage must not restart pods)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: State) -> JSONResponse:
    """Ready when MongoDB, Redis and S3 answer (submissions need them); ES is reported only."""
    results = await check_all(state.settings)
    required = {"mongodb", "redis", "s3"}
    ready = all(r.ok for r in results if r.name in required)
    body = {
        "status": "ready" if ready else "not ready",
        "backends": [r.model_dump() for r in results],
    }
    headers = {} if ready else {"Retry-After": "5"}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    """Prometheus exposition: requests, latencies, queue depths (read from Redis now)."""
    body = await asyncio.to_thread(generate_latest)  # the depth collector does blocking I/O
    return Response(body, media_type=CONTENT_TYPE_LATEST)
