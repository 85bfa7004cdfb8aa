"""Rebuilding the index (new version + atomic alias switch) while queries and writes run, and
rebuilding/repairing it from MongoDB + S3 (the source of truth)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.core.config import Settings
from services.core.search import SearchIndex
from services.core.search_query import SearchParams, build_request
from tests.conftest import make_test_settings
from tests.search.corpus import document

pytestmark = pytest.mark.integration


@pytest.fixture
def isolated_index(settings: Settings, elasticsearch_server: None) -> Iterator[SearchIndex]:
    """An index family of its own: a rebuild here cannot disturb the other tests' alias."""
    # A new Settings, not `model_copy`: `es_alias` is a cached_property and would be copied.
    own = make_test_settings(es_index_prefix=f"{settings.es_index_prefix}-rx{uuid.uuid4().hex[:6]}")
    assert own.es_alias != settings.es_alias
    index = SearchIndex(own)
    index.ensure()
    yield index
    index.drop_all()


def essays(tenant: str, start: int, count: int, word: str = "escola") -> list[tuple[str, Any]]:
    return [
        document(
            tenant,
            f"{tenant}-{n:05d}",
            f"A {word} pública e a educação número {n}.",
            levels=(40 * (n % 6), 120, 120, 120, 120),
            day=n % 28,
        )
        for n in range(start, start + count)
    ]


def test_rebuild_under_queries_and_writes_loses_nothing(isolated_index: SearchIndex) -> None:
    tenant = "tenant-rx"
    original = essays(tenant, 0, 400)
    isolated_index.bulk_index(original, refresh=True)
    first_index = isolated_index.current_index()
    body_all = build_request(SearchParams(size=1))
    body_text = build_request(SearchParams(q="educacao escolas", size=5))
    probe_id = f"{tenant}-00123"
    body_probe = build_request(SearchParams(q=f"essay:{probe_id}", facets=False))

    stop = threading.Event()
    failures: list[str] = []
    totals: list[int] = []

    def query_loop() -> None:
        reader = SearchIndex(isolated_index.settings)
        while not stop.is_set():
            try:
                for body in (body_all, body_text):
                    totals.append(reader.search(tenant, body)["hits"]["total"]["value"])
                if not reader.search(tenant, body_probe)["hits"]["hits"]:
                    failures.append("probe essay missing")
            except Exception as exc:  # any failure of a query is what this test is about
                failures.append(repr(exc))

    readers = [threading.Thread(target=query_loop) for _ in range(2)]
    for reader in readers:
        reader.start()
    time.sleep(0.3)
    build = isolated_index.begin_rebuild()
    live = essays(tenant, 400, 30, word="biblioteca")
    isolated_index.bulk_index(live[:15])  # live writes while the snapshot is being copied
    for chunk_start in range(0, len(original), 100):
        time.sleep(0.3)  # the source of truth is read slowly: queries and writes overlap it
        chunk = original[chunk_start : chunk_start + 100]
        build.written += isolated_index.write_rebuild(build, chunk)
        if chunk_start == 200:
            for essay_id, doc in live[15:]:
                isolated_index.index(essay_id, doc)
    # A live update of an essay must win over the (older) snapshot copy.
    updated_id, updated = original[7]
    isolated_index.index(updated_id, {**updated, "title": "Título revisado"})
    isolated_index.write_rebuild(build, [original[7]])
    report = isolated_index.finish_rebuild(build, grace_s=0.5)
    time.sleep(0.3)
    stop.set()
    for reader in readers:
        reader.join()

    assert failures == []
    assert len(totals) > 20, "the readers did not overlap the rebuild"
    assert min(totals[0::2]) >= 400  # match-all never lost an essay
    assert report.index != first_index and report.previous == [first_index]
    assert isolated_index.current_index() == report.index
    assert isolated_index.versions() == [report.index]  # the old version was dropped
    isolated_index.refresh()
    assert isolated_index.count(tenant) == 430
    assert isolated_index.get(tenant, updated_id)["title"] == "Título revisado"  # type: ignore[index]
    found = isolated_index.search(tenant, build_request(SearchParams(q="bibliotecas")))
    assert found["hits"]["total"]["value"] == 30


def test_delete_during_rebuild_reaches_both_indices(isolated_index: SearchIndex) -> None:
    tenant = "tenant-del"
    docs = essays(tenant, 0, 5)
    isolated_index.bulk_index(docs, refresh=True)
    build = isolated_index.begin_rebuild()
    isolated_index.write_rebuild(build, docs[:3])
    assert isolated_index.delete(docs[0][0])
    isolated_index.finish_rebuild(build, grace_s=0)
    assert isolated_index.get(tenant, docs[0][0]) is None
    assert isolated_index.count(tenant) == 2  # docs 1-2 from the snapshot; 3-4 were not in it


def test_aborted_rebuild_leaves_the_live_index_alone(isolated_index: SearchIndex) -> None:
    tenant = "tenant-abort"
    isolated_index.bulk_index(essays(tenant, 0, 3), refresh=True)
    live = isolated_index.current_index()

    def broken() -> Iterator[tuple[str, Any]]:
        yield from essays(tenant, 0, 2)
        raise RuntimeError("MongoDB went away")

    with pytest.raises(RuntimeError, match="went away"):
        isolated_index.rebuild(broken())
    assert isolated_index.current_index() == live and isolated_index.versions() == [live]
    assert isolated_index.write_targets() == [live]
    assert isolated_index.count(tenant) == 3


async def test_reindex_and_repair_from_metadata(
    settings: Settings, metadata: Any, object_store: Any, isolated_index: SearchIndex
) -> None:
    from services.core.models import Action, ActionStatus, AnalysisJob, Essay, JobStatus
    from services.core.search import reindex_from_metadata, repair_index
    from services.core.storage import essay_key

    tenant = f"t{uuid.uuid4().hex[:10]}"
    texts = {
        "done": "A mobilidade urbana depende de transporte público, onde há investimento.",
        "pending": "Um texto ainda em análise sobre mobilidade.",
    }
    jobs: dict[str, AnalysisJob] = {}
    for name, text in texts.items():
        essay_id = f"{tenant}-{name}"
        key = essay_key(tenant, essay_id)
        object_store.put_text(key, text)
        essay = Essay(
            id=essay_id,
            tenant_id=tenant,
            title=f"Redação {name}",
            prompt_id="p-mob",
            s3_key=key,
            sha256="0" * 64,
            chars=len(text),
            words=len(text.split()),
            groups={"turma": "3B"},
            job_id=f"job-{essay_id}",
        )
        job = AnalysisJob(
            id=f"job-{essay_id}",
            tenant_id=tenant,
            essay_id=essay_id,
            status=JobStatus.COMPLETED if name == "done" else JobStatus.RUNNING,
            actions={
                "grammar": Action(
                    dimension="grammar",
                    status=ActionStatus.DONE,
                    result={
                        "issues": [{"start": 0, "end": 4, "category": "grammar.onde"}],
                        "feedback": ["Evite “onde” fora de lugar."],
                    },
                )
            },
            result={
                "score": {
                    "levels": {"c1": 120, "c2": 160, "c3": 120, "c4": 120, "c5": 80},
                    "total": 600,
                    "flags": ["needs_review"],
                }
            },
            finished_at=datetime.now(UTC) if name == "done" else None,
        )
        await essay.insert()
        await job.insert()
        jobs[name] = job

    report = await reindex_from_metadata(isolated_index, object_store, grace_s=0)
    assert report["previous"] and report["index"].endswith("-v2")
    done_id = f"{tenant}-done"
    doc = isolated_index.get(tenant, done_id)
    assert doc is not None and isolated_index.get(tenant, f"{tenant}-pending") is None
    assert doc["levels"]["c5"] == 80 and doc["total"] == 600
    assert doc["error_categories"] == ["grammar.onde"] and doc["group_pairs"] == ["turma=3B"]
    hits = isolated_index.search(
        tenant, build_request(SearchParams(q="onde c5:<120 flag:needs_review"))
    )
    assert [h["_id"] for h in hits["hits"]["hits"]] == [done_id]
    refreshed = await AnalysisJob.get(jobs["done"].id)
    assert refreshed is not None and refreshed.indexed_at is not None

    # The index lost a document (e.g. written while Elasticsearch was down and then wiped),
    # and holds one of an essay that no longer exists: `repair` fixes both.
    isolated_index.delete(done_id, refresh=True)
    ghost_id, ghost = document(tenant, f"{tenant}-ghost", "Redação apagada.")
    isolated_index.index(ghost_id, ghost, refresh=True)
    repaired = await repair_index(isolated_index, object_store)
    assert repaired["added"] == 1 and repaired["removed"] == 1
    assert isolated_index.get(tenant, done_id) is not None
    assert isolated_index.get(tenant, ghost_id) is None


def test_first_write_creates_the_versioned_index_not_a_guessed_one(
    elasticsearch_server: None, settings: Settings
) -> None:
    """Writing before `ensure()` must not let Elasticsearch invent an index named like the alias."""
    fresh = SearchIndex(make_test_settings(es_index_prefix=f"{settings.es_index_prefix}-first"))
    try:
        _, doc = document("tenant-first", "first-1", "Primeira redação.")
        fresh.index("first-1", doc, refresh=True)
        assert fresh.current_index() == fresh.index_name(1)
        mapping = fresh.es.indices.get_mapping(index=fresh.index_name(1))
        assert mapping[fresh.index_name(1)]["mappings"]["dynamic"] == "strict"
        assert fresh.get("tenant-first", "first-1") is not None
    finally:
        fresh.drop_all()


async def test_reindex_from_metadata_while_queries_run(
    metadata: Any, object_store: Any, isolated_index: SearchIndex
) -> None:
    """The `elysia search reindex` path itself, with readers querying throughout."""
    from services.core.models import AnalysisJob, Essay, JobStatus
    from services.core.search import reindex_from_metadata
    from services.core.storage import essay_key

    tenant = f"t{uuid.uuid4().hex[:10]}"
    essays_, jobs_ = [], []
    for n in range(120):
        essay_id = f"{tenant}-{n:04d}"
        text = f"A escola pública número {n} e a mobilidade urbana."
        object_store.put_text(essay_key(tenant, essay_id), text)
        essays_.append(
            Essay(
                id=essay_id,
                tenant_id=tenant,
                s3_key=essay_key(tenant, essay_id),
                sha256="0" * 64,
                chars=len(text),
                words=len(text.split()),
                job_id=f"job-{essay_id}",
            )
        )
        jobs_.append(
            AnalysisJob(
                id=f"job-{essay_id}",
                tenant_id=tenant,
                essay_id=essay_id,
                status=JobStatus.COMPLETED,
                result={"score": {"levels": {"c5": 40 * (n % 6)}, "total": 40 * (n % 6)}},
                finished_at=datetime.now(UTC),
            )
        )
    await Essay.insert_many(essays_)
    await AnalysisJob.insert_many(jobs_)
    first = await reindex_from_metadata(isolated_index, object_store, grace_s=0)
    assert isolated_index.count(tenant) == 120, first

    stop = threading.Event()
    failures: list[str] = []
    totals: list[int] = []
    body = build_request(SearchParams(q="escolas mobilidade", size=5))

    def query_loop() -> None:
        reader = SearchIndex(isolated_index.settings)
        while not stop.is_set():
            try:
                totals.append(reader.search(tenant, body)["hits"]["total"]["value"])
            except Exception as exc:  # any failure of a query is what this test is about
                failures.append(repr(exc))

    readers = [threading.Thread(target=query_loop) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        second = await reindex_from_metadata(isolated_index, object_store, grace_s=0.5, chunk=20)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert second["previous"] == [first["index"]] and second["documents"] >= 120
    assert failures == []
    assert len(totals) > 5 and set(totals) == {120}


async def test_index_jobs_bulk_indexes_a_batch_idempotently(
    metadata: Any, object_store: Any, isolated_index: SearchIndex
) -> None:
    from services.core.models import AnalysisJob, Essay, JobStatus
    from services.core.search import index_jobs
    from services.core.storage import essay_key

    tenant = f"t{uuid.uuid4().hex[:10]}"
    job_ids = []
    for n, status in enumerate([JobStatus.COMPLETED, JobStatus.PARTIAL, JobStatus.RUNNING]):
        essay_id = f"{tenant}-{n}"
        text = f"Redação do lote, número {n}."
        object_store.put_text(essay_key(tenant, essay_id), text)
        await Essay(
            id=essay_id,
            tenant_id=tenant,
            s3_key=essay_key(tenant, essay_id),
            sha256="0" * 64,
            chars=len(text),
            words=len(text.split()),
            batch_id="lote-1",
            job_id=f"job-{essay_id}",
        ).insert()
        await AnalysisJob(
            id=f"job-{essay_id}", tenant_id=tenant, essay_id=essay_id, status=status
        ).insert()
        job_ids.append(f"job-{essay_id}")

    assert await index_jobs(isolated_index, object_store, job_ids) == 2
    assert await index_jobs(isolated_index, object_store, job_ids) == 2  # same ids: overwrite
    isolated_index.refresh()
    assert isolated_index.count(tenant) == 2
    found = isolated_index.search(tenant, build_request(SearchParams(batch=["lote-1"], q="lotes")))
    assert {hit["_id"] for hit in found["hits"]["hits"]} == {f"{tenant}-0", f"{tenant}-1"}
    running = await AnalysisJob.get(job_ids[2])
    done = await AnalysisJob.get(job_ids[0])
    assert running is not None and running.indexed_at is None
    assert done is not None and done.indexed_at is not None


def _bootstrap(
    index: SearchIndex, start: threading.Barrier, delay: float, chosen: list[str]
) -> None:
    start.wait()
    time.sleep(delay)  # staggered: later arrivals land while the first create still runs
    chosen.append(index.ensure())


def test_concurrent_bootstrap_leaves_one_index_behind_the_alias(
    settings: Settings, elasticsearch_server: None
) -> None:
    """Workers bootstrap the index lazily and at once; the alias must end on exactly one index.

    (It once ended on `-v1` and `-v2`, and Elasticsearch then refused every read through it.)
    """
    for _ in range(3):
        own = make_test_settings(
            es_index_prefix=f"{settings.es_index_prefix}-bt{uuid.uuid4().hex[:6]}"
        )
        indices = [SearchIndex(own) for _ in range(6)]
        start = threading.Barrier(len(indices))
        chosen: list[str] = []

        threads = [
            threading.Thread(target=_bootstrap, args=(index, start, 0.05 * n, chosen))
            for n, index in enumerate(indices)
        ]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert indices[0]._aliased(indices[0].alias) == [indices[0].index_name(1)]
            assert set(chosen) == {indices[0].index_name(1)}
            assert indices[0].versions() == [indices[0].index_name(1)]
        finally:
            indices[0].drop_all()
