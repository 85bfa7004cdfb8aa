"""MongoDB connection and Beanie initialisation.

Beanie 2 runs on PyMongo's asyncio client, which is bound to the event loop that created it: the
gateway initialises once in its lifespan; a worker keeps one private loop for its whole life
(`services.workers.loop`), so documents and indexes are initialised once per process, not per job.
"""

from __future__ import annotations

from beanie import Document, init_beanie
from pymongo import AsyncMongoClient

from services.core.config import Settings
from services.core.models import DOCUMENT_MODELS


def mongo_client(settings: Settings) -> AsyncMongoClient[dict[str, object]]:
    """A client with short server-selection timeouts, so a down server fails fast and clearly."""
    timeout_ms = int(settings.backend_timeout_s * 1000)
    return AsyncMongoClient(
        settings.mongodb_uri,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        tz_aware=True,
        uuidRepresentation="standard",
    )


async def init_metadata(
    settings: Settings,
    client: AsyncMongoClient[dict[str, object]] | None = None,
    extra_models: list[type[Document]] | None = None,
) -> AsyncMongoClient[dict[str, object]]:
    """Connect and register every document model (creating its indexes); returns the client."""
    client = client or mongo_client(settings)
    models: list[type[Document]] = [*DOCUMENT_MODELS, *(extra_models or [])]
    await init_beanie(database=client[settings.mongodb_db], document_models=models)
    return client
