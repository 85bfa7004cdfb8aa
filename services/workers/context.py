"""The per-process world of a worker: settings, clients, and one event loop for Beanie.

RQ calls job functions with plain arguments, so they find their clients here. The context is
built once, when the worker starts (`runner.run_worker`), or lazily on the first job if RQ was
started another way; MongoDB documents are initialised on the context's own loop, which lives as
long as the process, so no job pays for connecting.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
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

# Texts kept per process: enough for the essays in flight across one worker's queues.
TEXT_CACHE_SIZE = 64


@dataclass
class WorkerContext:
    settings: Settings
    store: ObjectStore
    queues: Queues
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    mongo: AsyncMongoClient[dict[str, object]] | None = None
    _search: SearchIndex | None = None
    _texts: OrderedDict[str, str] = field(default_factory=OrderedDict)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the context's loop (jobs are synchronous RQ functions)."""
        return self.loop.run_until_complete(coro)

    @property
    def search(self) -> SearchIndex:
        if self._search is None:
            self._search = SearchIndex(self.settings)
        return self._search

    def essay_text(self, key: str) -> str:
        """An essay's original text, through a small per-process LRU.

        One essay is read by every dimension a worker serves, then by consolidation and
        indexing: without the cache each step paid an S3 GET (a fifth of the platform's CPU
        per essay in `bench/worker_profile.py`). Originals are immutable once accepted (the key
        names the essay), so a cached text is never stale; a deleted essay is caught earlier,
        when its metadata is not found.
        """
        text = self._texts.get(key)
        if text is None:
            text = self.store.get_text(key)
            self._texts[key] = text
            if len(self._texts) > TEXT_CACHE_SIZE:
                self._texts.popitem(last=False)
        else:
            self._texts.move_to_end(key)
        return text

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
