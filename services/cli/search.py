"""`elysia search …`: the essays index's lifecycle (status, ensure, reindex, repair, reset).

MongoDB (jobs + essays) and S3 (texts) are the source of truth; the index is derived from them,
so it can always be rebuilt (`reindex`: new versioned index, atomic alias switch, no downtime)
or patched (`repair`: index the finished essays it misses, drop documents of deleted essays).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer
from rich.console import Console

from services.cli.app import app
from services.core.config import Settings
from services.core.search import SearchIndex, reindex_from_metadata, repair_index
from services.core.storage import ObjectStore

console = Console()
search_app = typer.Typer(name="search", help="Manage the Elasticsearch essays index.")
app.add_typer(search_app, name="search")


async def _with_metadata(settings: Settings, work: Any) -> Any:
    from services.core.metadata import init_metadata

    client = await init_metadata(settings)
    try:
        return await work
    finally:
        await client.close()


@search_app.command("status")
def status() -> None:
    """The alias, its indices (with document counts and schema versions), and any rebuild."""
    from services.core.search import SCHEMA_VERSION

    index = SearchIndex(Settings())
    rows: list[dict[str, Any]] = []
    live = set(index._aliased(index.alias))
    building = set(index._aliased(index.building_alias))
    for name in index.versions():
        mapping = index.es.indices.get_mapping(index=name)[name]["mappings"]
        rows.append(
            {
                "index": name,
                "live": name in live,
                "building": name in building,
                "documents": int(index.es.count(index=name)["count"]),
                "schema": mapping.get("_meta", {}).get("schema"),
            }
        )
    console.print_json(
        data={"alias": index.alias, "current_schema": SCHEMA_VERSION, "indices": rows}
    )


@search_app.command("ensure")
def ensure() -> None:
    """Create the index template and the first index behind the alias (idempotent)."""
    console.print(SearchIndex(Settings()).ensure())


@search_app.command("reindex")
def reindex(
    keep_old: Annotated[
        bool, typer.Option(help="Keep the previous index (for a manual roll back).")
    ] = False,
    grace: Annotated[
        float, typer.Option(help="Seconds between the switch and deleting the old index.")
    ] = 2.0,
) -> None:
    """Rebuild the index from MongoDB + S3 into a new version; switch the alias atomically."""
    settings = Settings()
    search, store = SearchIndex(settings), ObjectStore(settings)
    report = asyncio.run(
        _with_metadata(settings, reindex_from_metadata(search, store, keep_old, grace))
    )
    console.print_json(data=report)


@search_app.command("repair")
def repair() -> None:
    """Index finished essays the index misses (e.g. after an outage); drop deleted essays."""
    settings = Settings()
    search, store = SearchIndex(settings), ObjectStore(settings)
    console.print_json(data=asyncio.run(_with_metadata(settings, repair_index(search, store))))


@search_app.command("reset")
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Confirm deleting every index.")] = False,
) -> None:
    """Delete every essays index and the template (then `ensure` or `reindex`)."""
    if not yes:
        raise typer.BadParameter("add --yes to delete the essays indices")
    SearchIndex(Settings()).drop_all()
    console.print("deleted")
