"""The `ingest` queue's task: turn an uploaded CSV batch into essays, jobs and queued work.

The work itself lives in `services.core.batches.Ingestor` (so it is testable without RQ); this
module gives it the worker's clients, decides what a failure means (a file that cannot be read at
all fails the batch; a backend hiccup is retried by RQ and the retry resumes where it stopped),
and offers the re-drive of batches whose ingestion worker died.
"""

from __future__ import annotations

import logging
import time
import uuid

from services.core.batches import (
    DEFAULT_CHUNK_ROWS,
    Ingestor,
    enqueue_ingestion,
    fail_batch,
    stalled_batches,
)
from services.core.csvio import CsvFormatError
from services.core.errors import is_transient
from services.core.storage import ObjectNotFound
from services.workers.context import WorkerContext, context

log = logging.getLogger(__name__)


def ingest_batch(batch_id: str, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> str:
    """Ingest (or resume) one batch; returns a one-line summary kept as the RQ result."""
    ctx = context()
    ingestor = Ingestor(ctx.settings, ctx.store, ctx.queues, chunk_rows)
    started = time.perf_counter()
    try:
        batch = ctx.run(ingestor.run(batch_id))
    except (ObjectNotFound, CsvFormatError) as exc:
        ctx.run(fail_batch(batch_id, f"{type(exc).__name__}: {exc}"))
        return f"failed: {exc}"
    except Exception as exc:
        if not is_transient(exc):
            log.exception("ingestion of batch %s failed", batch_id)
        raise  # RQ retries with backoff; the retry resumes at `resume_row`
    elapsed = time.perf_counter() - started
    stats = ingestor.stats
    log.info(
        "batch %s: %d rows (%d accepted, %d rejected) in %.1fs, %.0f rows/s; time by step %s",
        batch_id,
        stats.rows,
        stats.accepted,
        stats.rejected,
        elapsed,
        stats.rows / elapsed if elapsed > 0 else 0.0,
        {k: round(v, 2) for k, v in stats.seconds.items()},
    )
    if batch is None:
        return "skipped: batch not found"
    return f"{batch.status.value}: {stats.rows} rows this run, {batch.rows_total} in all"


async def resume_stalled(ctx: WorkerContext, grace_s: float | None = None) -> list[str]:
    """Re-enqueue the ingestion of batches that stopped moving (for the reconciler's pass).

    A new RQ job id per re-drive: the dead run's job may still look "started" to RQ.
    """
    grace = ctx.settings.reconcile_grace_s if grace_s is None else grace_s
    resumed = []
    for batch in await stalled_batches(grace):
        if enqueue_ingestion(ctx.queues, batch.id, attempt=f"-{uuid.uuid4().hex[:8]}"):
            resumed.append(batch.id)
    return resumed
