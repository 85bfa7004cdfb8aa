"""The core adapters against the real servers started by scripts/infra/up."""

from __future__ import annotations

import io

import httpx
import pytest
from rq import SimpleWorker

from services.core.config import Settings
from services.core.health import check_all
from services.core.models import Action, AnalysisJob, Essay, Tenant
from services.core.queues import Enqueue, Queues
from services.core.search import SearchIndex
from services.core.storage import ObjectNotFound, ObjectStore, essay_key
from tests.conftest import SESSION_ID

pytestmark = pytest.mark.integration


def test_object_store_round_trip(object_store: ObjectStore) -> None:
    key = essay_key("tenant-a", "essay-1")
    text = "A educação é a base de tudo — ação, coração.\n" * 10
    object_store.put_text(key, text, tenant="tenant-a")
    assert object_store.get_text(key) == text
    assert object_store.exists(key)
    streamed = b"".join(object_store.iter_chunks(key, chunk_size=7))
    assert streamed.decode("utf-8") == text
    url = object_store.presigned_get(key)
    assert httpx.get(url, timeout=5).text == text
    object_store.delete(key)
    assert not object_store.exists(key)
    with pytest.raises(ObjectNotFound):
        object_store.get_text(key)


def test_object_store_streams_large_upload(object_store: ObjectStore) -> None:
    key = "tenants/tenant-a/batches/big.csv"
    payload = b"text\n" + b"x" * (9 * 1024 * 1024)  # above the multipart threshold
    object_store.upload_stream(key, io.BytesIO(payload), "text/csv")
    assert sum(len(c) for c in object_store.iter_chunks(key)) == len(payload)
    object_store.delete(key)


def test_object_store_bucket_bootstrap_is_idempotent(settings: Settings, s3_server: None) -> None:
    store = ObjectStore(settings.model_copy(update={"s3_bucket": settings.s3_bucket + "-boot"}))
    store.ensure_bucket()
    store.ensure_bucket()
    store.client.delete_bucket(Bucket=store.bucket)


def test_keys_refuse_path_tricks() -> None:
    with pytest.raises(ValueError):
        essay_key("../other", "x")
    with pytest.raises(ValueError):
        essay_key("t", "a/b")


async def test_metadata_documents_and_indexes(metadata: object) -> None:
    tenant = Tenant(name="Escola Estadual")
    await tenant.insert()
    essay = Essay(tenant_id=tenant.id, s3_key="k", sha256="0" * 64, chars=10, words=2)
    await essay.insert()
    job = AnalysisJob(
        tenant_id=tenant.id, essay_id=essay.id, actions={"metrics": Action(dimension="metrics")}
    )
    await job.insert()
    found = await AnalysisJob.find_one({"tenant_id": tenant.id, "essay_id": essay.id})
    assert found is not None and found.actions["metrics"].status == "PENDING"
    index_names = {
        tuple(k for k, _ in spec["key"])
        for spec in (await AnalysisJob.get_pymongo_collection().index_information()).values()
    }
    assert ("status", "updated_at") in index_names


def test_queue_enqueue_execute_and_status(queues: Queues) -> None:
    # RQ job ids are global to a Redis (not per queue prefix): keep this one per session.
    job_id = f"adapter-test-add-{SESSION_ID}"
    job = queues.enqueue(
        Enqueue(
            queue="metrics",
            func="operator.add",
            args=(2, 3),
            job_id=job_id,
            retry=False,
        )
    )
    assert queues.live_job(job_id) is not None
    again = queues.enqueue(
        Enqueue(
            queue="metrics",
            func="operator.add",
            args=(2, 3),
            job_id=job_id,
            retry=False,
        )
    )
    assert again.id == job.id and queues.depth("metrics") == 1  # idempotent by job id
    worker = SimpleWorker([queues.queue("metrics")], connection=queues.redis)
    assert worker.work(burst=True)
    job.refresh()
    assert job.get_status() == "finished" and job.return_value() == 5
    assert queues.live_job(job_id) is None
    queues.record_duration("metrics", 0.25)
    assert float(queues.redis.lindex(queues.settings.durations_key("metrics"), 0)) == 0.25


def test_enqueue_many_spans_queues_and_skips_live_jobs(queues: Queues) -> None:
    """An essay's jobs go out in one pipeline; a re-drive leaves the live ones alone."""
    ids = [f"adapter-many-{SESSION_ID}-{n}" for n in range(3)]
    first = Enqueue(queue="grammar", func="operator.add", args=(1, 1), job_id=ids[0])
    queues.enqueue(first)
    items = [
        first,
        Enqueue(queue="theme", func="operator.add", args=(2, 2), job_id=ids[1]),
        Enqueue(queue="theme", func="operator.mul", args=(3, 3), job_id=ids[2], retry=False),
    ]
    depths = queues.depths(["grammar", "theme"])
    jobs = queues.enqueue_many(items)
    assert [job.id for job in jobs] == ids
    assert queues.depths(["grammar", "theme"]) == {
        "grammar": depths["grammar"],
        "theme": depths["theme"] + 2,
    }
    retried = queues.fetch(ids[1])
    assert retried is not None and retried.retries_left == queues.settings.job_max_attempts - 1
    plain = queues.fetch(ids[2])
    assert plain is not None and not plain.retries_left
    assert [job.id for job in queues.enqueue_many(items)] == ids  # nothing new the second time
    assert queues.depths(["grammar", "theme"])["theme"] == depths["theme"] + 2
    for name in ("grammar", "theme"):
        for job_id in ids:
            queues.queue(name).remove(job_id)


def test_search_index_is_tenant_scoped(search_index: SearchIndex) -> None:
    base = {"language": "pt-BR", "rubric": "enem", "status": "COMPLETED", "levels": {}}
    docs = [
        (
            "e1",
            {**base, "tenant_id": "a", "essay_id": "e1", "text": "mobilidade urbana nas cidades"},
        ),
        ("e2", {**base, "tenant_id": "b", "essay_id": "e2", "text": "mobilidade urbana no campo"}),
    ]
    assert search_index.bulk_index(docs, refresh=True) == 2
    body = {"query": {"match": {"text": "mobilidade"}}, "highlight": {"fields": {"text": {}}}}
    hits = search_index.search("a", body)["hits"]["hits"]
    assert [h["_id"] for h in hits] == ["e1"]
    assert "<em>mobilidade</em>" in hits[0]["highlight"]["text"][0]
    assert search_index.get("b", "e1") is None and search_index.get("a", "e1") is not None
    assert search_index.delete("e1", refresh=True)
    assert search_index.search("a", body)["hits"]["hits"] == []


async def test_health_reports_every_backend(settings: Settings, all_servers: None) -> None:
    results = {r.name: r for r in await check_all(settings)}
    assert set(results) == {"redis", "mongodb", "elasticsearch", "s3"}
    assert all(r.ok for r in results.values()), results
    down = settings.model_copy(
        update={"redis_url": "redis://127.0.0.1:1/0", "backend_timeout_s": 0.5}
    )
    assert not {r.name: r for r in await check_all(down)}["redis"].ok
