"""Live job events over Redis pub/sub: one channel per job, JSON messages with a sequence number.

Workers publish after every state change they have written to MongoDB; the gateway subscribes for
SSE and WebSocket clients. Pub/sub is fire-and-forget, so subscribers first subscribe, then read
the job's current state from MongoDB, and drop any message whose `seq` is not newer: clients get an
ordered stream with no gap at the start and nothing stale.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel, Field
from redis import Redis

from services.core.config import Settings


class JobEvent(BaseModel):
    """A state change of a job or of one of its actions."""

    job_id: str
    seq: int
    kind: str  # "action" | "job"
    status: str
    job_status: str
    dimension: str | None = None
    done: int = 0
    total: int = 0
    elapsed_ms: float | None = None
    error: str | None = None
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def final(self) -> bool:
        return self.kind == "job" and self.job_status in {"COMPLETED", "PARTIAL", "FAILED"}


def publish(redis: Redis, settings: Settings, event: JobEvent) -> None:
    """Publish from synchronous code (workers). A lost message is harmless: state is in MongoDB."""
    redis.publish(settings.channel(event.job_id), event.model_dump_json())


async def subscribe(settings: Settings, job_id: str) -> AsyncIterator[JobEvent]:
    """Yield the events of one job as they are published, until the caller stops iterating."""
    client: aioredis.Redis = aioredis.Redis.from_url(settings.redis_url)
    pubsub = client.pubsub()
    await pubsub.subscribe(settings.channel(job_id))
    try:
        while True:
            message: dict[str, Any] | None = await pubsub.get_message(
                ignore_subscribe_messages=True, timeout=1.0
            )
            if message is None:
                yield _heartbeat(job_id)
                continue
            yield JobEvent.model_validate(json.loads(message["data"]))
    finally:
        await pubsub.unsubscribe()
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await client.aclose()


def _heartbeat(job_id: str) -> JobEvent:
    """A marker (seq −1) that lets consumers re-check state and keep connections alive."""
    return JobEvent(job_id=job_id, seq=-1, kind="heartbeat", status="", job_status="")
