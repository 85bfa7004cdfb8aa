"""`elysia search …` commands against the real servers (own index prefix, own process env)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner

from services.cli import app
from services.core.config import Settings
from services.core.search import SearchIndex
from tests.conftest import make_test_settings, settings_env
from tests.search.corpus import document

pytestmark = pytest.mark.integration


async def test_status_ensure_reindex_reset(
    settings: Settings, metadata: Any, object_store: Any, elasticsearch_server: None
) -> None:
    """Commands run in a thread (they call `asyncio.run`); `reindex` binds Beanie to its own
    client, so the session's binding is restored afterwards for the tests that follow."""
    from services.core.metadata import init_metadata

    own = make_test_settings(
        es_index_prefix=f"{settings.es_index_prefix}-cli{uuid.uuid4().hex[:6]}"
    )
    env = settings_env(own)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, ["search", *args], env=env)

    index = SearchIndex(own)
    try:
        ensured = await asyncio.to_thread(invoke, "ensure")
        assert ensured.exit_code == 0, ensured.output
        assert index.current_index() == index.index_name(1)
        # A document that MongoDB does not know: a rebuild from the source of truth drops it.
        _, stray = document("tenant-cli", "cli-stray", "Texto sem metadados.")
        index.index("cli-stray", stray, refresh=True)

        rebuilt = await asyncio.to_thread(invoke, "reindex", "--grace", "0")
        assert rebuilt.exit_code == 0, rebuilt.output
        report = json.loads(rebuilt.output)
        assert report["index"] == index.index_name(2)
        assert report["previous"] == [index.index_name(1)]
        assert index.get("tenant-cli", "cli-stray") is None

        status = await asyncio.to_thread(invoke, "status")
        assert status.exit_code == 0, status.output
        shown = json.loads(status.output)
        assert [row["index"] for row in shown["indices"]] == [index.index_name(2)]
        assert (
            shown["indices"][0]["live"] and shown["indices"][0]["schema"] == shown["current_schema"]
        )

        refused = await asyncio.to_thread(invoke, "reset")
        assert refused.exit_code != 0 and index.current_index() is not None
        reset = await asyncio.to_thread(invoke, "reset", "--yes")
        assert reset.exit_code == 0 and index.versions() == []
    finally:
        index.drop_all()
        await init_metadata(settings, client=metadata)
