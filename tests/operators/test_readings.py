"""readings.py against RQ itself: the key names it hard-codes must be the ones RQ 3.x writes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from operators.autoscaler.readings import mean_of, queue_key, read_queue, started_registry_key
from services.core.config import Settings


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], (None, 0)),
        ([b"1.0", b"3.0"], (2.0, 2)),
        (["2", "x", b"nan", b"-1", b"inf", b"4"], (3.0, 2)),  # garbage ignored, not fatal
    ],
)
def test_mean_of(raw: list[bytes | str], expected: tuple[float | None, int]) -> None:
    assert mean_of(raw) == expected


@pytest.fixture()
def rq_queue(redis_server: None, settings: Settings) -> Iterator[tuple[str, redis.Redis]]:
    name = f"cohesion-{uuid.uuid4().hex[:6]}"
    client = redis.Redis.from_url(settings.redis_url)
    yield name, client
    client.delete(*client.keys(f"*{settings.queue_name(name)}*"), settings.durations_key(name))


@pytest.mark.integration
def test_reading_matches_what_rq_wrote(
    settings: Settings, rq_queue: tuple[str, redis.Redis]
) -> None:
    from rq import Queue
    from rq.executions import Execution

    name, client = rq_queue
    queue = Queue(settings.queue_name(name), connection=client)
    jobs = [queue.enqueue("os.getcwd") for _ in range(7)]
    assert queue_key(settings, name) == queue.key
    assert started_registry_key(settings, name) == queue.started_job_registry.key

    # Two executions started the way an RQ worker starts them (one still live, one expired).
    with client.pipeline() as pipe:
        Execution.create(jobs[0], ttl=600, pipeline=pipe)
        Execution.create(jobs[1], ttl=600, pipeline=pipe)
        pipe.execute()
    client.zadd(queue.started_job_registry.key, {"stale:exec": time.time() - 60})
    client.lpush(settings.durations_key(name), *["1.5", "2.5"])

    reading = read_queue(client, settings, name, now=time.time())
    for job in jobs:
        job.delete()
    assert reading.backlog == 7
    assert reading.in_flight == 2  # the expired (abandoned) execution is not counted
    assert reading.mean_duration == pytest.approx(2.0)
    assert reading.samples == 2


@pytest.mark.integration
def test_empty_queue_reads_zero(settings: Settings, rq_queue: tuple[str, redis.Redis]) -> None:
    name, client = rq_queue
    reading = read_queue(client, settings, name, now=time.time())
    assert (reading.backlog, reading.in_flight, reading.mean_duration) == (0, 0, None)
