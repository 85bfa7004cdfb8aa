"""Backend health: reachability and round-trip latency of Redis, MongoDB, Elasticsearch and S3.

Each probe is a real protocol round trip with the deployment's own timeouts, so `elysia health`
and `/readyz` report what the workers would actually experience.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from services.core.config import Settings


class BackendHealth(BaseModel):
    name: str
    ok: bool
    latency_ms: float | None = None
    detail: str = ""


async def _timed(name: str, probe: Callable[[], Awaitable[str]]) -> BackendHealth:
    started = time.perf_counter()
    try:
        detail = await probe()
    except Exception as exc:  # a health check reports every failure, whatever its type
        return BackendHealth(name=name, ok=False, detail=f"{type(exc).__name__}: {exc}"[:300])
    return BackendHealth(
        name=name,
        ok=True,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
        detail=detail,
    )


def _probes(settings: Settings) -> dict[str, Callable[[], Awaitable[str]]]:
    async def redis_probe() -> str:
        from services.core.queues import redis_client

        client = redis_client(settings)
        try:
            await asyncio.to_thread(client.ping)
            info = await asyncio.to_thread(client.info, "server")
            return f"redis {info.get('redis_version', '?')}"
        finally:
            client.close()

    async def mongo_probe() -> str:
        from services.core.metadata import mongo_client

        client = mongo_client(settings)
        try:
            await client.admin.command("ping")
            return f"database {settings.mongodb_db}"
        finally:
            await client.close()

    async def es_probe() -> str:
        from services.core.search import es_client

        def info() -> str:
            es = es_client(settings).options(
                request_timeout=settings.backend_timeout_s, max_retries=0
            )
            body = es.info()
            return f"elasticsearch {body['version']['number']}"

        return await asyncio.to_thread(info)

    async def s3_probe() -> str:
        from services.core.storage import ObjectStore

        def head() -> str:
            store = ObjectStore(settings)
            store.client.list_buckets()
            return f"bucket {settings.s3_bucket}"

        return await asyncio.to_thread(head)

    return {"redis": redis_probe, "mongodb": mongo_probe, "elasticsearch": es_probe, "s3": s3_probe}


async def check_all(settings: Settings, only: list[str] | None = None) -> list[BackendHealth]:
    """Probe every backend concurrently, each bounded by the configured timeout."""
    probes = _probes(settings)
    names = only or list(probes)
    timeout = settings.backend_timeout_s + 1.0

    async def bounded(name: str) -> BackendHealth:
        try:
            return await asyncio.wait_for(_timed(name, probes[name]), timeout)
        except TimeoutError:
            return BackendHealth(name=name, ok=False, detail=f"no answer within {timeout:.1f}s")

    return list(await asyncio.gather(*(bounded(n) for n in names)))
