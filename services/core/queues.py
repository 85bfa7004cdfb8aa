"""Queues (RQ on Redis): one queue per dimension plus the platform queues.

RQ job ids are derived from the analysis job id (`{job_id}-{dimension}`), which makes enqueueing
idempotent (a job that is already queued or running is not enqueued twice) and lets the reconciler
ask RQ whether the work for an action is still alive. Jobs are enqueued by import path, so this
module (and `core`) never imports the worker code it schedules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.queue import EnqueueData
from rq.worker import Worker

from services.core.config import Settings

RUN_DIMENSION = "services.workers.tasks.run_dimension"
CONSOLIDATE = "services.workers.tasks.consolidate"

_LIVE = {
    JobStatus.QUEUED,
    JobStatus.STARTED,
    JobStatus.DEFERRED,
    JobStatus.SCHEDULED,
    JobStatus.CREATED,
}


def redis_client(settings: Settings, blocking: bool = False) -> Redis:
    """A Redis connection (bytes, as RQ needs) with a bounded connect timeout.

    `blocking=True` is for an RQ worker: it waits for jobs in BLPOP for minutes, so a socket read
    timeout would cut every idle wait short (RQ then backs off as if Redis were down); TCP
    keepalive detects a dead peer instead. Other callers get a bounded read timeout.
    """
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.backend_timeout_s,
        socket_timeout=None if blocking else max(settings.backend_timeout_s, 10.0),
        socket_keepalive=True,
        health_check_interval=30,
    )


def rq_job_id(job_id: str, step: str) -> str:
    return f"{job_id}-{step}"


@dataclass
class Enqueue:
    """One RQ job to create: a function path, its arguments, its queue and retry policy."""

    queue: str
    func: str
    args: tuple[Any, ...]
    job_id: str
    retry: bool = True
    max_attempts: int | None = None  # default: Settings.job_max_attempts
    backoff_base_s: float | None = None  # default: Settings.job_backoff_base_s


class Queues:
    """Named RQ queues of one deployment (names carry `Settings.queue_prefix`)."""

    def __init__(
        self, settings: Settings, connection: Redis | None = None, blocking: bool = False
    ) -> None:
        self.settings = settings
        self.redis = connection or redis_client(settings, blocking=blocking)
        self._queues: dict[str, Queue] = {}

    def queue(self, name: str) -> Queue:
        if name not in self._queues:
            self._queues[name] = Queue(
                self.settings.queue_name(name),
                connection=self.redis,
                default_timeout=self.settings.job_timeout_s,
            )
        return self._queues[name]

    def retry_policy(
        self, max_attempts: int | None = None, backoff_base_s: float | None = None
    ) -> Retry:
        """Exponential backoff: base, 2·base, 4·base… for `max_attempts - 1` retries."""
        retries = max((max_attempts or self.settings.job_max_attempts) - 1, 1)
        base = self.settings.job_backoff_base_s if backoff_base_s is None else backoff_base_s
        intervals = [max(round(base * 2**i), 0) for i in range(retries)]
        return Retry(max=retries, interval=intervals)

    def enqueue(self, item: Enqueue) -> Job:
        """Enqueue one job unless a live RQ job with the same id already exists."""
        return self.enqueue_many([item])[0]

    def enqueue_many(self, items: Sequence[Enqueue]) -> list[Job]:
        """Enqueue several jobs, skipping the ones already alive (idempotent re-drive).

        Two Redis round trips whatever the count: one read of every existing job, then one
        MULTI/EXEC pipeline that enqueues the rest on their queues, so an essay's jobs are
        enqueued all together or not at all (the reconciler re-drives the "not at all").
        """
        existing = Job.fetch_many([item.job_id for item in items], connection=self.redis)
        live = {
            item.job_id: job
            for item, job in zip(items, existing, strict=True)
            if job is not None and self._is_live(job)
        }
        by_queue: dict[str, list[EnqueueData]] = {}
        for item in items:
            if item.job_id not in live:
                by_queue.setdefault(item.queue, []).append(self._prepare(item))
        created: dict[str, Job] = {}
        if by_queue:
            with self.redis.pipeline() as pipe:
                for name, datas in by_queue.items():
                    for job in self.queue(name).enqueue_many(datas, pipeline=pipe):
                        created[job.id] = job
                pipe.execute()
        return [live.get(item.job_id) or created[item.job_id] for item in items]

    def _prepare(self, item: Enqueue) -> EnqueueData:
        return Queue.prepare_data(
            item.func,
            item.args,
            job_id=item.job_id,
            retry=self.retry_policy(item.max_attempts, item.backoff_base_s) if item.retry else None,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            timeout=self.settings.job_timeout_s,
        )

    def fetch(self, job_id: str) -> Job | None:
        try:
            return Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return None

    def live_job(self, job_id: str) -> Job | None:
        """The RQ job if it is queued, deferred, scheduled or running on a live worker."""
        job = self.fetch(job_id)
        return job if job is not None and self._is_live(job) else None

    def _is_live(self, job: Job) -> bool:
        status = job.get_status(refresh=False)
        if status not in _LIVE:
            return False
        return status != JobStatus.STARTED or self._worker_alive(job)

    def _worker_alive(self, job: Job) -> bool:
        """A started job is alive only while its worker is.

        Elysia workers refresh a liveness key every few seconds from a side thread (also during a
        job), so a worker killed with SIGKILL is known dead within `worker_liveness_ttl_s`. For
        other RQ workers, fall back to RQ's own registration and heartbeat.
        """
        name = job.worker_name
        if not name:
            return False
        if self.redis.exists(self.settings.liveness_key(name)):
            return True
        if name.startswith("elysia."):
            return False
        worker = Worker.find_by_key(
            Worker.redis_worker_namespace_prefix + name, connection=self.redis
        )
        if worker is None or worker.last_heartbeat is None:
            return False
        # A SimpleWorker heartbeats when it takes a job, not during it: allow the job's timeout.
        grace = timedelta(seconds=int(job.timeout or self.settings.job_timeout_s) + 60)
        return datetime.now(UTC) - worker.last_heartbeat.replace(tzinfo=UTC) < grace

    def depth(self, name: str) -> int:
        return self.queue(name).count

    def depths(self, names: Iterable[str]) -> dict[str, int]:
        return {name: self.depth(name) for name in names}

    def record_duration(self, name: str, seconds: float) -> None:
        """Keep the last 100 job durations of a queue (the autoscaler reads them)."""
        key = self.settings.durations_key(name)
        pipe = self.redis.pipeline()
        pipe.lpush(key, f"{seconds:.4f}")
        pipe.ltrim(key, 0, 99)
        pipe.execute()

    def ping(self) -> bool:
        return bool(self.redis.ping())
