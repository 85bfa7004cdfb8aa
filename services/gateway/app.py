"""The gateway application factory: `create_app(settings)` builds a fully wired FastAPI app.

Clients (S3, Redis/RQ, Elasticsearch) and the MongoDB documents are set up in the lifespan, once
per process, and shared through `app.state.elysia`; routes reach them with dependencies, so
tests can build an app per configuration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.core import metrics
from services.core.config import DIMENSION_QUEUES, PLATFORM_QUEUES, Settings
from services.core.logs import configure_logging
from services.core.metadata import init_metadata
from services.core.queues import Queues
from services.core.search import SearchIndex
from services.core.storage import ObjectStore
from services.core.submission import SubmissionService
from services.gateway.deps import AppState
from services.gateway.errors import install_error_handlers
from services.gateway.limits import BodySizeLimit
from services.gateway.middleware import Observability
from services.gateway.ratelimit import RateLimiter
from services.gateway.routes import batches, essays, health, jobs, search, tenants, web, webhooks


def build_state(settings: Settings) -> AppState:
    store = ObjectStore(settings)
    queues = Queues(settings)
    return AppState(
        settings=settings,
        store=store,
        queues=queues,
        search=SearchIndex(settings),
        submissions=SubmissionService(settings, store, queues),
        limiter=RateLimiter(settings),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings)
    state = build_state(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = await init_metadata(settings)
        state.store.ensure_bucket()
        app.state.elysia = state
        try:
            yield
        finally:
            await state.limiter.close()
            await client.close()

    app = FastAPI(
        title="Elysia",
        version="0.1.0",
        summary="Analyse student essays at scale (ENEM redação first).",
        lifespan=lifespan,
    )
    app.state.elysia = state
    metrics.register_queue_depths(
        lambda: state.queues.depths([*DIMENSION_QUEUES, *PLATFORM_QUEUES])
    )
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        default_limit=settings.max_request_bytes,
        overrides={"/v1/batches": settings.max_csv_bytes},
    )

    app.add_middleware(Observability)

    for module in (health, essays, jobs, batches, search, tenants, webhooks, web):
        app.include_router(module.router)
    return app
