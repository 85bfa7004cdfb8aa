"""`elysia worker QUEUE…`: an RQ worker that serves one dimension (or several, locally).

It uses RQ's `SimpleWorker` (no fork per job): the analysis models are loaded once, before the
first job, and the MongoDB connection and event loop of the worker context are reused by every
job. On SIGTERM RQ performs a warm shutdown (the current job finishes), which is what lets the
autoscaler remove idle replicas without losing work.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence

from prometheus_client import start_http_server
from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker

from services.analysis.pipeline import get_scorer
from services.analysis.rubric import get_rubric, load_dimension, warm_up
from services.core.config import DIMENSION_QUEUES, PLATFORM_QUEUES, Settings
from services.core.errors import is_transient
from services.workers.context import init_context

log = logging.getLogger(__name__)

ALL_QUEUES: tuple[str, ...] = (*DIMENSION_QUEUES, *PLATFORM_QUEUES)


def resolve_queues(names: Sequence[str], all_queues: bool) -> list[str]:
    """Validate queue names; `--all` serves every dimension and platform queue."""
    chosen = list(ALL_QUEUES) if all_queues else list(dict.fromkeys(names))
    unknown = sorted(set(chosen) - set(ALL_QUEUES))
    if unknown:
        raise ValueError(f"unknown queues {unknown}; known: {list(ALL_QUEUES)}")
    if not chosen:
        raise ValueError("name at least one queue, or pass --all")
    return chosen


def preload(settings: Settings, queues: Sequence[str]) -> dict[str, float]:
    """Load the models a worker will need before it takes its first job; returns seconds each."""
    rubric = get_rubric(settings.rubric)
    timings: dict[str, float] = {}
    for name in queues:
        started = time.perf_counter()
        if name in rubric.dimensions:
            warm_up(load_dimension(rubric, name))
        elif name == "consolidate":
            get_scorer(rubric)
        else:
            continue
        timings[name] = round(time.perf_counter() - started, 3)
    return timings


def run_worker(
    settings: Settings,
    queues: Sequence[str],
    burst: bool = False,
    max_jobs: int | None = None,
    with_scheduler: bool = True,
) -> bool:
    """Serve `queues` until stopped (or until empty with `burst`); True if any job ran.

    RQ retries a lost Redis connection only while waiting for a job; an outage at another moment
    makes `work()` return. Unless a shutdown was requested, the worker is started again after a
    backoff, so a Redis restart never leaves a dimension without its worker.
    """
    ctx = init_context(settings)
    _retry_backend(ctx.store.ensure_bucket)
    if settings.metrics_port:
        start_http_server(settings.metrics_port)
    log.info("preloaded models: %s", preload(settings, queues))
    name = f"elysia.{socket.gethostname()}.{os.getpid()}.{'+'.join(queues)}"[:200]
    beacon = LivenessBeacon(ctx.queues.redis, settings.liveness_key(name), settings)
    beacon.start()
    worked = False
    backoff = 1.0
    try:
        while True:
            worker = SimpleWorker(
                [ctx.queues.queue(q) for q in queues], connection=ctx.queues.redis, name=name
            )
            try:
                worked |= bool(
                    worker.work(
                        burst=burst,
                        max_jobs=max_jobs,
                        with_scheduler=with_scheduler,
                        logging_level=settings.log_level,
                    )
                )
                backoff = 1.0
            except RedisError as exc:
                log.warning("worker lost Redis (%s); restarting in %.0fs", exc, backoff)
            # SIGTERM/SIGINT: RQ sets `_stop_requested` only when busy; an idle worker just
            # returns, with the shutdown date set. Either way, do not restart: exit.
            shutdown = worker._stop_requested or worker._shutdown_requested_date is not None
            if burst or max_jobs is not None or shutdown:
                return worked
            time.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
    finally:
        beacon.stop()
        ctx.close()


class LivenessBeacon(threading.Thread):
    """Keeps `key` alive while this process lives: SIGKILL stops it, and the key expires."""

    def __init__(self, redis: Redis, key: str, settings: Settings) -> None:
        super().__init__(name="liveness-beacon", daemon=True)
        self.redis = redis
        self.key = key
        self.ttl = settings.worker_liveness_ttl_s
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.redis.set(self.key, "1", ex=self.ttl)
            except RedisError as exc:
                log.debug("liveness beacon: %s", exc)
            self.stopped.wait(self.ttl / 3)

    def stop(self) -> None:
        self.stopped.set()
        with contextlib.suppress(RedisError):
            self.redis.delete(self.key)


def _retry_backend(action: Callable[[], object], attempts: int = 30) -> None:
    """Run a start-up step that needs a backend, waiting for it (a pod may start before S3)."""
    for attempt in range(attempts):
        try:
            action()
            return
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts - 1:
                raise
            log.warning("backend not ready (%s); retrying", exc)
            time.sleep(min(2**attempt, 10))
