"""Read one queue's load from Redis: backlog, in-flight jobs and recent job durations.

The key names are RQ 3.x's own (read from `rq/queue.py` and `rq/registry.py`) rather than RQ's
classes, so the operator image needs no RQ and one round trip (a pipeline) serves each tick:

- `rq:queue:<name>`  a LIST of waiting job ids                    → backlog = LLEN
- `rq:wip:<name>`    the StartedJobRegistry, a ZSET scored by the
                     execution's expiry timestamp                  → in flight = ZCOUNT (now, +inf]
                     (expired entries are abandoned executions RQ has not cleaned up yet)
- `Settings.durations_key(name)`  LIST of recent durations in seconds, newest first
                     (workers LPUSH + LTRIM 0 99)                  → mean of the newest N
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import redis

from operators.autoscaler.policy import Reading
from services.core.config import Settings

RQ_KEY_PREFIX = "rq"
DEFAULT_SAMPLE_SIZE = 20


def queue_key(settings: Settings, queue: str) -> str:
    """RQ's waiting list for a (prefixed) queue."""
    return f"{RQ_KEY_PREFIX}:queue:{settings.queue_name(queue)}"


def started_registry_key(settings: Settings, queue: str) -> str:
    """RQ's StartedJobRegistry ("wip") for a (prefixed) queue."""
    return f"{RQ_KEY_PREFIX}:wip:{settings.queue_name(queue)}"


def mean_of(raw: Sequence[bytes | str]) -> tuple[float | None, int]:
    """Mean of the parseable, finite, non-negative samples; garbage is ignored, not fatal."""
    values: list[float] = []
    for item in raw:
        try:
            value = float(item)
        except (TypeError, ValueError):
            continue
        if math.isfinite(value) and value >= 0:
            values.append(value)
    if not values:
        return None, 0
    return sum(values) / len(values), len(values)


def read_queue(
    client: redis.Redis,
    settings: Settings,
    queue: str,
    now: float,
    sample_size: int = DEFAULT_SAMPLE_SIZE,
) -> Reading:
    """One consistent-enough snapshot of a queue (a single pipelined round trip)."""
    pipe = client.pipeline(transaction=False)
    pipe.llen(queue_key(settings, queue))
    pipe.zcount(started_registry_key(settings, queue), f"({now}", "+inf")
    pipe.lrange(settings.durations_key(queue), 0, max(sample_size, 1) - 1)
    backlog, in_flight, durations = pipe.execute()
    mean, samples = mean_of(durations)
    return Reading(
        backlog=int(backlog), in_flight=int(in_flight), mean_duration=mean, samples=samples
    )
