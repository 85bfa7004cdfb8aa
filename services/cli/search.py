"""`elysia search …`: the essays index's lifecycle (status, ensure, reindex, repair, reset).

MongoDB (jobs + essays) and S3 (texts) are the source of truth; the index is derived from them,
so it can always be rebuilt (`reindex`: new versioned index, atomic alias switch, no downtime)
or patched (`repair`: index the finished essays it misses, drop documents of deleted essays).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Annotated, Any

import typer
from rich.console import Console

from services.cli.app import app
from services.core.config import Settings
from services.core.models import AnalysisJob, Essay, JobStatus, utcnow
from services.core.search import SearchIndex, essay_document
from services.core.storage import ObjectNotFound, ObjectStore

console = Console()
search_app = typer.Typer(name="search", help="Manage the Elasticsearch essays index.")
app.add_typer(search_app, name="search")

FINAL_STATUSES = [JobStatus.COMPLETED.value, JobStatus.PARTIAL.value, JobStatus.FAILED.value]
Pair = tuple[str, Mapping[str, Any]]


async def metadata_documents(store: ObjectStore, chunk: int = 500) -> AsyncIterator[list[Pair]]:
    """Search documents of every finished job's essay, `chunk` jobs at a time, in `_id` order.

    Paging by `_id > last` (not skip/limit) keeps each page an index range scan, and a job
    finished during the scan is either read here or indexed live by its own `index` task.
    """
    jobs_collection = AnalysisJob.get_pymongo_collection()
    last: str | None = None
    while True:
        filter_: dict[str, Any] = {"status": {"$in": FINAL_STATUSES}}
        if last is not None:
            filter_["_id"] = {"$gt": last}
        raw_jobs = await jobs_collection.find(filter_).sort("_id", 1).limit(chunk).to_list()
        if not raw_jobs:
            return
        last = str(raw_jobs[-1]["_id"])
        jobs = [AnalysisJob.model_validate(raw) for raw in raw_jobs]
        essays = {
            essay.id: essay
            for essay in await Essay.find(
                {"_id": {"$in": [job.essay_id for job in jobs]}}
            ).to_list()
        }
        pairs: list[Pair] = []
        for job in jobs:
            essay = essays.get(job.essay_id)
            if essay is None or essay.job_id not in (None, job.id):
                continue  # essay deleted, or a newer analysis of it exists
            try:
                text = await asyncio.to_thread(store.get_text, essay.s3_key)
            except ObjectNotFound:
                continue
            pairs.append((essay.id, essay_document(essay, job, text)))
        yield pairs


async def _mark_indexed(essay_ids: list[str]) -> None:
    await AnalysisJob.get_pymongo_collection().update_many(
        {"essay_id": {"$in": essay_ids}, "status": {"$in": FINAL_STATUSES}},
        {"$set": {"indexed_at": utcnow()}},
    )


async def reindex_from_metadata(
    search: SearchIndex, store: ObjectStore, keep_old: bool = False, grace_s: float = 2.0
) -> dict[str, Any]:
    """Rebuild the index from MongoDB + S3 into a new version and switch the alias atomically."""
    build = await asyncio.to_thread(search.begin_rebuild)
    try:
        async for pairs in metadata_documents(store):
            if pairs:
                build.written += await asyncio.to_thread(search.write_rebuild, build, pairs)
                await _mark_indexed([essay_id for essay_id, _ in pairs])
    except BaseException:
        await asyncio.to_thread(search.abort_rebuild, build)
        raise
    done = await asyncio.to_thread(search.finish_rebuild, build, keep_old, grace_s)
    return done.as_dict()


async def repair_index(search: SearchIndex, store: ObjectStore) -> dict[str, int]:
    """Index finished essays missing from the index; delete documents whose essay is gone."""
    await asyncio.to_thread(search.ensure)
    indexed = await asyncio.to_thread(search.ids)
    seen: set[str] = set()
    added = 0
    async for pairs in metadata_documents(store):
        seen.update(essay_id for essay_id, _ in pairs)
        missing = [(essay_id, doc) for essay_id, doc in pairs if essay_id not in indexed]
        if missing:
            added += await asyncio.to_thread(search.bulk_index, missing)
            await _mark_indexed([essay_id for essay_id, _ in missing])
    # An essay absent from the scan may have been accepted since: only drop ids with no essay.
    orphans = indexed - seen
    existing = {
        str(raw["_id"])
        for raw in await Essay.get_pymongo_collection()
        .find({"_id": {"$in": sorted(orphans)}}, {"_id": 1})
        .to_list()
    }
    removed = 0
    for essay_id in sorted(orphans - existing):
        removed += int(await asyncio.to_thread(search.delete, essay_id))
    if added or removed:
        await asyncio.to_thread(search.refresh)
    return {"indexed_before": len(indexed), "added": added, "removed": removed}


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
