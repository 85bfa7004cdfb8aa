"""The per-process world of a worker: settings, clients, and one event loop for Beanie.

RQ calls job functions with plain arguments, so they find their clients here. The context is
built once, when the worker starts (`runner.run_worker`), or lazily on the first job if RQ was
started another way; MongoDB documents are initialised on the context's own loop, which lives as
long as the process, so no job pays for connecting.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pymongo import AsyncMongoClient

from services.core.config import Settings
from services.core.metadata import init_metadata
from services.core.queues import Queues
from services.core.search import SearchIndex
from services.core.storage import ObjectStore

T = TypeVar("T")


@dataclass
class WorkerContext:
    settings: Settings
    store: ObjectStore
    queues: Queues
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    mongo: AsyncMongoClient[dict[str, object]] | None = None
    _search: SearchIndex | None = None

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the context's loop (jobs are synchronous RQ functions)."""
        return self.loop.run_until_complete(coro)

    @property
    def search(self) -> SearchIndex:
        if self._search is None:
            self._search = SearchIndex(self.settings)
        return self._search

    def close(self) -> None:
        if self.mongo is not None:
            self.run(self.mongo.close())
        self.loop.close()


_context: WorkerContext | None = None
_lock = threading.Lock()


def init_context(settings: Settings) -> WorkerContext:
    """Build (or rebuild) the process context and connect the metadata store."""
    global _context
    with _lock:
        if _context is not None:
            _context.close()
        ctx = WorkerContext(
            settings=settings, store=ObjectStore(settings), queues=Queues(settings, blocking=True)
        )
        ctx.mongo = ctx.run(init_metadata(settings))
        _context = ctx
        return ctx


def context() -> WorkerContext:
    """The process context, built from the environment on first use if the runner did not."""
    if _context is None:
        return init_context(Settings())
    return _context
