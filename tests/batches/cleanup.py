"""Test helper: drop queued analysis work that no test means to run."""

from __future__ import annotations

from rq.registry import DeferredJobRegistry

from services.analysis.rubric import get_rubric
from services.core.config import Settings
from services.core.queues import Queues


def empty_queues(settings: Settings) -> None:
    """Empty every dimension, consolidation and ingest queue of `settings` (and the deferred
    consolidations), so a worker started afterwards only sees what comes next."""
    queues = Queues(settings)
    for name in (*get_rubric(settings.rubric).dimension_names, "consolidate", "ingest"):
        queue = queues.queue(name)
        deferred = DeferredJobRegistry(queue.name, connection=queues.redis)
        for job_id in deferred.get_job_ids():
            queues.redis.unlink(f"rq:job:{job_id}", f"rq:job:{job_id}:dependencies")
        queues.redis.unlink(deferred.key)
        queue.empty()
