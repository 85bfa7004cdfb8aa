"""Search index (Elasticsearch, official client): consolidated essays, always scoped by tenant.

Indices are versioned (`{prefix}-essays-v{n}`) behind one alias (`{prefix}-essays`): a rebuild
fills a new index and switches the alias in one atomic `_aliases` call, so readers never see an
empty or half-built index. While a rebuild runs, a second alias (`{prefix}-essays-building`) names
the new index and every write (index, bulk, delete) goes to both, so nothing written during the
rebuild is lost when the alias moves. Every query goes through `search()`, which wraps the
caller's query in a `bool.filter` on `tenant_id` that the caller cannot remove.

Text analysis (see docs/search.md): `text`, `title`, `feedback` and `prompt_text` use the
`brazilian` analyzer (stemmed, Portuguese stop words); a `.folded` sub-field (lowercase, stop
words, asciifolding, Brazilian stemmer) makes "educacao" find "educação"; `text.exact` keeps every
word as written (lowercased, no stemming, no stop words) for "the word 'onde'" searches.

MongoDB + S3 stay the source of truth: `reindex_from_metadata` rebuilds the index from them and
`repair_index` patches it (finished essays it lacks, documents of deleted essays) — for
`elysia search reindex|repair` and for a reconciler pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.helpers import streaming_bulk

from services.core.config import Settings
from services.core.models import AnalysisJob, Essay, JobStatus, utcnow
from services.core.storage import ObjectNotFound, ObjectStore

# Bump when the mappings or analysis change: `elysia search status` reports indices built with an
# older schema, and `elysia search reindex` rebuilds them.
SCHEMA_VERSION = 2

COMPETENCIES: tuple[str, ...] = ("c1", "c2", "c3", "c4", "c5")

ANALYSIS: dict[str, Any] = {
    "filter": {
        "pt_stop": {"type": "stop", "stopwords": "_brazilian_"},
        "pt_stem": {"type": "stemmer", "language": "brazilian"},
    },
    "analyzer": {
        # Stop words are removed before folding: the list is accented ("não", "é").
        "pt_folded": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "pt_stop", "asciifolding", "pt_stem"],
        },
        "pt_exact": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase"]},
    },
}


def _pt_text(exact: bool = False, offsets: bool = False) -> dict[str, Any]:
    """A Portuguese text field with its folded (and optionally exact-words) sub-fields.

    `offsets` stores character offsets in the postings, which lets the unified highlighter
    work on long essays without re-analysing them (cheaper than term vectors).
    """
    extra: dict[str, Any] = {"index_options": "offsets"} if offsets else {}
    fields: dict[str, Any] = {"folded": {"type": "text", "analyzer": "pt_folded", **extra}}
    if exact:
        fields["exact"] = {"type": "text", "analyzer": "pt_exact", **extra}
    return {"type": "text", "analyzer": "brazilian", "fields": fields, **extra}


ESSAY_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "_meta": {"schema": SCHEMA_VERSION},
    "properties": {
        "tenant_id": {"type": "keyword"},
        "essay_id": {"type": "keyword"},
        "job_id": {"type": "keyword"},
        "external_id": {"type": "keyword"},
        "batch_id": {"type": "keyword"},
        "prompt_id": {"type": "keyword"},
        "prompt_text": _pt_text(),
        "language": {"type": "keyword"},
        "rubric": {"type": "keyword"},
        "status": {"type": "keyword"},
        "title": {
            **_pt_text(offsets=True),
            "fields": {
                "folded": {"type": "text", "analyzer": "pt_folded", "index_options": "offsets"},
                "words": {"type": "text", "analyzer": "pt_exact", "index_options": "offsets"},
                "exact": {"type": "keyword", "ignore_above": 512},
            },
        },
        "text": _pt_text(exact=True, offsets=True),
        "feedback": _pt_text(offsets=True),
        "groups": {"type": "flattened"},
        "group_pairs": {"type": "keyword"},
        "levels": {"properties": {c: {"type": "integer"} for c in COMPETENCIES}},
        "total": {"type": "integer"},
        "annulled": {"type": "boolean"},
        "flags": {"type": "keyword"},
        "error_categories": {"type": "keyword"},
        "words": {"type": "integer"},
        "created_at": {"type": "date"},
        "completed_at": {"type": "date"},
    },
}

INDEX_SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "number_of_replicas": 0,
    "analysis": ANALYSIS,
}


def es_client(settings: Settings) -> Elasticsearch:
    return Elasticsearch(
        settings.elasticsearch_url,
        request_timeout=max(settings.backend_timeout_s, 10.0),
        retry_on_timeout=True,
        max_retries=2,
    )


class SearchIndex:
    """The essays index of one deployment (names carry `Settings.es_index_prefix`)."""

    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        self.settings = settings
        self.es = client or es_client(settings)
        self.alias = settings.es_alias
        self.building_alias = f"{self.alias}-building"

    def index_name(self, version: int) -> str:
        return f"{self.alias}-v{version}"

    def put_template(self) -> None:
        """The template every `{alias}-v*` index is created with (mappings + analysis)."""
        self.es.indices.put_index_template(
            name=self.alias,
            index_patterns=[f"{self.alias}-v*"],
            template={"settings": INDEX_SETTINGS, "mappings": ESSAY_MAPPINGS},
            priority=100,
        )

    def ensure(self) -> str:
        """Create the template and the first index behind the alias if missing; return it.

        Safe when several workers bootstrap at once: the first index is always `-v1`, created
        with the alias in the same request (a concurrent creator gets "already exists" and
        moves on), and an orphaned index found without the alias is adopted rather than a new
        version created. Picking "the next version" here instead once left two workers each
        creating their own index and the alias pointing at both, which refuses every read.
        """
        self.put_template()
        current = self.current_index()
        if current is not None:
            return current
        existing = self.versions()
        if not existing:
            name = self.index_name(1)
            self.es.options(ignore_status=400).indices.create(index=name, aliases={self.alias: {}})
            return self.current_index() or name
        name = existing[-1]
        self.es.indices.put_alias(index=name, name=self.alias)
        return name

    def _aliased(self, *aliases: str) -> list[str]:
        """Indices of this prefix carrying any of `aliases` (one request, no 404 juggling)."""
        try:
            found = self.es.indices.get_alias(index=f"{self.alias}-v*").body
        except NotFoundError:
            return []
        wanted = set(aliases)
        return sorted(
            (name for name, entry in found.items() if wanted & set(entry.get("aliases", {}))),
            key=_version_of,
        )

    def current_index(self) -> str | None:
        names = self._aliased(self.alias)
        return names[-1] if names else None

    def versions(self) -> list[str]:
        """Every concrete index of this prefix, oldest first."""
        found = self.es.indices.get(index=f"{self.alias}-v*", ignore_unavailable=True).body
        return sorted(found, key=_version_of)

    def next_version(self) -> int:
        existing = [_version_of(name) for name in self.versions()]
        return max(existing, default=0) + 1

    def write_targets(self) -> list[str]:
        """Where writes go: the live index, plus the one being rebuilt if a rebuild runs."""
        names = self._aliased(self.alias, self.building_alias)
        # Never write to the bare alias name when no index exists: Elasticsearch would create a
        # concrete index of that name with guessed (dynamic) mappings, and block the alias.
        return names or [self.ensure()]

    def index(self, doc_id: str, document: Mapping[str, Any], refresh: bool = False) -> None:
        """Index (or overwrite: the document id is the essay id) one document."""
        for target in self.write_targets():
            self.es.index(
                index=target,
                id=doc_id,
                document=dict(document),
                refresh="wait_for" if refresh else None,
            )

    def bulk_index(
        self, documents: Iterable[tuple[str, Mapping[str, Any]]], refresh: bool = False
    ) -> int:
        """Index many documents (batches); returns how many the live index accepted."""
        targets = self.write_targets()
        pairs = [(doc_id, dict(doc)) for doc_id, doc in documents]
        accepted = 0
        for position, target in enumerate(targets):
            ok = self._bulk(target, pairs, op_type="index", refresh=refresh)
            if position == 0:
                accepted = ok
        return accepted

    def _bulk(
        self,
        target: str,
        pairs: Iterable[tuple[str, Mapping[str, Any]]],
        op_type: str,
        refresh: bool = False,
        chunk_size: int = 500,
    ) -> int:
        """Bulk-write to one index; with op_type `create`, documents already there are kept."""
        actions = (
            {"_op_type": op_type, "_index": target, "_id": doc_id, "_source": doc}
            for doc_id, doc in pairs
        )
        ok = 0
        for success, item in streaming_bulk(
            self.es,
            actions,
            chunk_size=chunk_size,
            raise_on_error=False,
            refresh="wait_for" if refresh else False,
        ):
            if success:
                ok += 1
            elif _status_of(item) != 409 or op_type != "create":
                raise RuntimeError(f"bulk indexing into {target} failed: {item}")
        return ok

    def delete(self, doc_id: str, refresh: bool = False) -> bool:
        """Remove the document from the live index and from one being rebuilt."""
        found = False
        for target in self.write_targets():
            try:
                self.es.delete(index=target, id=doc_id, refresh="wait_for" if refresh else None)
                found = True
            except NotFoundError:
                continue
        return found

    def get(self, tenant_id: str, doc_id: str) -> dict[str, Any] | None:
        """One document, only if it belongs to `tenant_id`."""
        try:
            found = self.es.get(index=self.alias, id=doc_id)
        except NotFoundError:
            return None
        source: dict[str, Any] = found["_source"]
        return source if source.get("tenant_id") == tenant_id else None

    def search(self, tenant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Run `body` with the tenant filter forced around its query."""
        request = dict(body)
        inner = request.pop("query", {"match_all": {}})
        request["query"] = {
            "bool": {"must": [inner], "filter": [{"term": {"tenant_id": tenant_id}}]}
        }
        try:
            response = self.es.search(index=self.alias, **request)
        except NotFoundError as exc:
            if exc.error != "index_not_found_exception":
                raise
            # Nothing was ever indexed (first start, or after `elysia search reset`).
            return {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}}
        return dict(response.body)

    def count(self, tenant_id: str | None = None) -> int:
        query = {"term": {"tenant_id": tenant_id}} if tenant_id else {"match_all": {}}
        return int(self.es.count(index=self.alias, query=query)["count"])

    def ids(self, index: str | None = None) -> set[str]:
        """Every document id of an index (reconciliation and reindex checks; scans by id)."""
        found: set[str] = set()
        after: list[Any] | None = None
        while True:
            extra: dict[str, Any] = {"search_after": after} if after else {}
            page = self.es.search(
                index=index or self.alias,
                size=5000,
                source=False,
                sort=[{"essay_id": "asc"}],
                query={"match_all": {}},
                **extra,
            )
            hits = page["hits"]["hits"]
            if not hits:
                return found
            found.update(hit["_id"] for hit in hits)
            after = hits[-1]["sort"]

    def refresh(self) -> None:
        self.es.indices.refresh(index=self.alias)

    def rebuild(
        self,
        documents: Iterable[tuple[str, Mapping[str, Any]]],
        keep_old: bool = False,
        grace_s: float = 2.0,
    ) -> RebuildReport:
        """Fill a new versioned index from `documents`, then switch the alias atomically."""
        build = self.begin_rebuild()
        try:
            for chunk in _chunks(documents, 1000):
                build.written += self.write_rebuild(build, chunk)
        except BaseException:
            self.abort_rebuild(build)
            raise
        return self.finish_rebuild(build, keep_old=keep_old, grace_s=grace_s)

    def begin_rebuild(self) -> RebuildReport:
        """Create the next versioned index and route live writes to it too (building alias).

        From this moment every `index`/`bulk_index`/`delete` also reaches the new index, so a
        snapshot read after this call plus the live writes cover everything.
        """
        self.put_template()
        build = RebuildReport(
            index=self.index_name(self.next_version()),
            previous=self._aliased(self.alias),
            started=time.perf_counter(),
        )
        self.es.indices.create(
            index=build.index, settings={"refresh_interval": "-1", "number_of_replicas": 0}
        )
        self.es.indices.update_aliases(
            actions=[{"add": {"index": build.index, "alias": self.building_alias}}]
        )
        return build

    def write_rebuild(
        self, build: RebuildReport, documents: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> int:
        """Write snapshot documents with `create`: a newer live write is never overwritten."""
        return self._bulk(build.index, documents, op_type="create")

    def finish_rebuild(
        self, build: RebuildReport, keep_old: bool = False, grace_s: float = 2.0
    ) -> RebuildReport:
        """Refresh, switch the alias in one atomic call, then drop the old indices.

        Old indices are deleted only after `grace_s`, so queries already routed to them finish.
        """
        self.es.indices.put_settings(index=build.index, settings={"refresh_interval": None})
        self.es.indices.refresh(index=build.index)
        actions: list[dict[str, Any]] = [
            {"remove": {"index": name, "alias": self.alias}} for name in build.previous
        ]
        actions.append({"add": {"index": build.index, "alias": self.alias}})
        actions.append({"remove": {"index": build.index, "alias": self.building_alias}})
        self.es.indices.update_aliases(actions=actions)
        if build.previous and not keep_old:
            time.sleep(grace_s)
            self.es.options(ignore_status=404).indices.delete(index=",".join(build.previous))
        build.documents = int(self.es.count(index=build.index)["count"])
        build.seconds = time.perf_counter() - build.started
        return build

    def abort_rebuild(self, build: RebuildReport) -> None:
        """Drop a half-built index (the alias never pointed to it)."""
        self.es.options(ignore_status=404).indices.delete(index=build.index)

    def drop_all(self) -> None:
        """Delete every index of this prefix (tests and `elysia search reset` only)."""
        names = self.versions()
        if names:  # deletes need explicit names (action.destructive_requires_name)
            self.es.indices.delete(index=",".join(names))
        self.es.options(ignore_status=404).indices.delete_index_template(name=self.alias)


@dataclass
class RebuildReport:
    """A rebuild in progress, then what it did (printed by `elysia search reindex`)."""

    index: str
    previous: list[str]
    started: float
    written: int = 0
    documents: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "previous": self.previous,
            "documents": self.documents,
            "written": self.written,
            "seconds": round(self.seconds, 2),
        }


def _version_of(name: str) -> int:
    tail = name.rsplit("-v", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _status_of(item: Mapping[str, Any]) -> int | None:
    for value in item.values():
        if isinstance(value, Mapping) and "status" in value:
            return int(value["status"])
    return None


def _chunks(
    documents: Iterable[tuple[str, Mapping[str, Any]]], size: int
) -> Iterable[list[tuple[str, Mapping[str, Any]]]]:
    chunk: list[tuple[str, Mapping[str, Any]]] = []
    for pair in documents:
        chunk.append(pair)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ------------------------------------------------ rebuild and repair from the source of truth


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
        yield await documents_for_jobs([AnalysisJob.model_validate(raw) for raw in raw_jobs], store)


async def documents_for_jobs(jobs: list[AnalysisJob], store: ObjectStore) -> list[Pair]:
    """Search documents of these finished jobs' essays (one MongoDB query for the essays)."""
    essays = {
        essay.id: essay
        for essay in await Essay.find({"_id": {"$in": [job.essay_id for job in jobs]}}).to_list()
    }
    pairs: list[Pair] = []
    for job in jobs:
        essay = essays.get(job.essay_id)
        if not job.status.terminal or essay is None or essay.job_id not in (None, job.id):
            continue  # not final, essay deleted, or a newer analysis of it exists
        try:
            text = await asyncio.to_thread(store.get_text, essay.s3_key)
        except ObjectNotFound:
            continue
        pairs.append((essay.id, essay_document(essay, job, text)))
    return pairs


async def index_jobs(search: SearchIndex, store: ObjectStore, job_ids: list[str]) -> int:
    """Bulk-index the essays of many finished jobs at once (a batch), marking them indexed.

    One bulk request per call instead of one `index` request per essay: what a batch's
    ingestion or an `index` task draining several jobs should use. Idempotent (id = essay id).
    """
    raw_jobs = await AnalysisJob.get_pymongo_collection().find({"_id": {"$in": job_ids}}).to_list()
    pairs = await documents_for_jobs([AnalysisJob.model_validate(raw) for raw in raw_jobs], store)
    if not pairs:
        return 0
    indexed = await asyncio.to_thread(search.bulk_index, pairs)
    await _mark_indexed([essay_id for essay_id, _ in pairs])
    return indexed


async def _mark_indexed(essay_ids: list[str]) -> None:
    await AnalysisJob.get_pymongo_collection().update_many(
        {"essay_id": {"$in": essay_ids}, "status": {"$in": FINAL_STATUSES}},
        {"$set": {"indexed_at": utcnow()}},
    )


async def reindex_from_metadata(
    search: SearchIndex,
    store: ObjectStore,
    keep_old: bool = False,
    grace_s: float = 2.0,
    chunk: int = 500,
) -> dict[str, Any]:
    """Rebuild the index from MongoDB + S3 into a new version and switch the alias atomically."""
    build = await asyncio.to_thread(search.begin_rebuild)
    try:
        async for pairs in metadata_documents(store, chunk):
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


def essay_document(essay: Any, job: Any, text: str) -> dict[str, Any]:
    """The search document of a finalised essay (`essay`: models.Essay, `job`: AnalysisJob)."""
    result: dict[str, Any] = job.result or {}
    score: dict[str, Any] = result.get("score") or {}
    categories: set[str] = set()
    feedback: list[str] = []
    for action in job.actions.values():
        dimension_result = action.result or {}
        feedback.extend(dimension_result.get("feedback", []))
        categories.update(issue["category"] for issue in dimension_result.get("issues", []))
    groups: dict[str, str] = dict(essay.groups or {})
    levels = {
        key.lower(): int(value)
        for key, value in (score.get("levels") or {}).items()
        if key.lower() in COMPETENCIES and value is not None
    }
    return {
        "tenant_id": essay.tenant_id,
        "essay_id": essay.id,
        "job_id": job.id,
        "external_id": essay.external_id,
        "batch_id": essay.batch_id,
        "prompt_id": essay.prompt_id,
        "prompt_text": essay.prompt_text,
        "language": essay.language,
        "rubric": essay.rubric,
        "status": job.status.value,
        "title": essay.title,
        "text": text,
        "feedback": feedback,
        "groups": groups,
        "group_pairs": group_pairs(groups),
        "levels": levels,
        "total": score.get("total"),
        "annulled": bool(score.get("annulled", False)),
        "flags": score.get("flags", []),
        "error_categories": sorted(categories),
        "words": essay.words,
        "created_at": essay.created_at.isoformat(),
        "completed_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def group_pairs(groups: Mapping[str, str]) -> list[str]:
    """`column=value` keywords: one terms aggregation then counts every group of every column."""
    return sorted(f"{column}={value}" for column, value in groups.items())


def fold_for_search(text: str) -> str:
    """Accent-folded, lower-cased text (the application-side twin of the `.folded` analyzers).

    Kept for callers that compare text outside Elasticsearch; the index itself folds with
    `asciifolding`, so the same spelling rules apply to documents and queries.
    """
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


__all__ = [
    "COMPETENCIES",
    "ESSAY_MAPPINGS",
    "RebuildReport",
    "SearchIndex",
    "essay_document",
    "fold_for_search",
    "group_pairs",
    "index_jobs",
    "reindex_from_metadata",
    "repair_index",
]
