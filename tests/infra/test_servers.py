"""Smoke tests of the servers that `scripts/infra/up` starts: each one is the real thing.

Why these exist: every adapter test trusts that the fixture's address hides a real Redis, a
MongoDB wire-protocol server, a real Elasticsearch 8 and an S3 API. These tests prove it with the
same clients the platform uses, so a broken install fails here, with a plain message, before it
shows up as a puzzling adapter failure. Each test works in this session's own namespace and
cleans up after itself.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
import redis
from dotenv import dotenv_values
from elasticsearch import Elasticsearch
from pymongo import MongoClient

from services.core.config import Settings
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

INFRA = ROOT / "scripts" / "infra"
RUN_DIR = ROOT / ".elysia" / "run"


def test_redis_is_a_real_redis(redis_server: None, settings: Settings) -> None:
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        assert client.ping() is True
        version = str(client.info("server")["redis_version"])
        assert int(version.split(".")[0]) >= 6, version
        key = f"{settings.queue_prefix}infra-smoke"
        client.set(key, "olá", ex=60)
        assert client.get(key) == "olá".encode()
        assert client.incr(f"{key}:n") == 1
        client.delete(key, f"{key}:n")
    finally:
        client.close()


def test_mongodb_round_trip(mongodb_server: None, settings: Settings) -> None:
    client: MongoClient[dict[str, object]] = MongoClient(
        settings.mongodb_uri, serverSelectionTimeoutMS=5000
    )
    try:
        assert client.admin.command("ping")["ok"] == 1
        db = client[settings.mongodb_db]
        coll = db["infra_smoke"]
        doc_id = uuid.uuid4().hex
        coll.insert_one({"_id": doc_id, "text": "redação", "score": 880})
        coll.update_one({"_id": doc_id}, {"$inc": {"score": 40}})
        found = coll.find_one({"_id": doc_id})
        assert found is not None
        assert found["text"] == "redação"
        assert found["score"] == 920
        rows = list(coll.aggregate([{"$match": {"_id": doc_id}}, {"$project": {"score": 1}}]))
        assert rows == [{"_id": doc_id, "score": 920}]
    finally:
        client.drop_database(settings.mongodb_db)
        client.close()


def test_elasticsearch_is_real_elasticsearch_8(
    elasticsearch_server: None, settings: Settings
) -> None:
    es = Elasticsearch(settings.elasticsearch_url, request_timeout=30)
    index = f"{settings.es_index_prefix}-infra-smoke"
    try:
        info = es.info()
        assert info["version"]["number"].startswith("8."), info["version"]
        assert info["tagline"] == "You Know, for Search"
        assert es.ping()
        node = next(iter(es.nodes.info()["nodes"].values()))
        assert node["version"] == info["version"]["number"]
        es.indices.create(
            index=index,
            settings={"number_of_shards": 1, "number_of_replicas": 0},
            mappings={"properties": {"text": {"type": "text"}, "uf": {"type": "keyword"}}},
        )
        es.index(index=index, id="1", document={"text": "A redação sobre leitura", "uf": "SP"})
        es.index(index=index, id="2", document={"text": "Outro texto sobre leitura", "uf": "RJ"})
        es.index(index=index, id="3", document={"text": "Nada a ver", "uf": "SP"})
        es.indices.refresh(index=index)
        resp = es.search(
            index=index,
            query={"match": {"text": "leitura"}},
            highlight={"fields": {"text": {}}},
            aggs={"ufs": {"terms": {"field": "uf"}}},
            size=10,
        )
        assert resp["hits"]["total"]["value"] == 2
        assert {h["_id"] for h in resp["hits"]["hits"]} == {"1", "2"}
        assert all("<em>leitura</em>" in h["highlight"]["text"][0] for h in resp["hits"]["hits"])
        buckets = {b["key"]: b["doc_count"] for b in resp["aggregations"]["ufs"]["buckets"]}
        assert buckets == {"SP": 1, "RJ": 1}
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
        es.close()


def test_elasticsearch_has_portuguese_analysis(
    elasticsearch_server: None, settings: Settings
) -> None:
    """Accent-insensitive, stemmed Portuguese search works with analysis-common's names.

    The integ-test zip lacks analysis-common; `up` installs the elysia-local plugin that
    registers the same Lucene analyzers/filters, so production-style settings work locally.
    """
    es = Elasticsearch(settings.elasticsearch_url, request_timeout=30)
    index = f"{settings.es_index_prefix}-infra-ptbr"
    try:
        es.indices.create(
            index=index,
            settings={
                "number_of_shards": 1,
                "number_of_replicas": 0,
                "analysis": {
                    "filter": {"pt_stem": {"type": "stemmer", "language": "light_portuguese"}},
                    "analyzer": {
                        "pt_folded": {
                            "type": "custom",
                            "tokenizer": "standard",
                            "filter": ["lowercase", "asciifolding", "pt_stem"],
                        }
                    },
                },
            },
            mappings={
                "properties": {
                    "text": {"type": "text", "analyzer": "pt_folded"},
                    "raw": {"type": "text", "analyzer": "brazilian"},
                }
            },
        )
        text = "As redações dos estudantes brasileiros"
        es.index(index=index, id="1", document={"text": text, "raw": text}, refresh=True)
        # Unaccented, upper-case, singular query words must all match the accented plurals.
        for field, query in (("text", "REDACOES Estudante"), ("raw", "estudante brasileiro")):
            match = {field: {"query": query, "operator": "and"}}
            hits = es.search(index=index, query={"match": match})["hits"]["hits"]
            assert [h["_id"] for h in hits] == ["1"], (field, query)
        tokens = es.indices.analyze(analyzer="brazilian", text="redações")["tokens"]
        assert [t["token"] for t in tokens] == ["redaco"]
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
        es.close()


def test_s3_put_get_list_presigned(s3_server: None, settings: Settings) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id.get_secret_value(),
        aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
    )
    bucket = f"{settings.s3_bucket}-infra"  # not the session's bucket: other tests still use it
    s3.create_bucket(Bucket=bucket)
    try:
        body = "nota,texto\n880,redação\n".encode()
        s3.put_object(Bucket=bucket, Key="in/essays.csv", Body=body)
        assert s3.get_object(Bucket=bucket, Key="in/essays.csv")["Body"].read() == body
        listed = s3.list_objects_v2(Bucket=bucket, Prefix="in/")
        assert [o["Key"] for o in listed["Contents"]] == ["in/essays.csv"]
        url = s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "in/essays.csv"}, ExpiresIn=60
        )
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.read() == body
    finally:
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)


def test_infra_env_names_are_settings_fields() -> None:
    """Every address `up` writes must land in a `Settings` field, or the platform ignores it."""
    env_file = ROOT / ".elysia" / "infra.env"
    if not env_file.exists():
        reason = "no .elysia/infra.env; run scripts/infra/up"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    values = dotenv_values(env_file)
    required = {
        "ELYSIA_REDIS_URL",
        "ELYSIA_MONGODB_URI",
        "ELYSIA_ELASTICSEARCH_URL",
        "ELYSIA_S3_ENDPOINT_URL",
        "ELYSIA_S3_BUCKET",
        "ELYSIA_S3_ACCESS_KEY_ID",
        "ELYSIA_S3_SECRET_ACCESS_KEY",
    }
    assert required <= set(values), required - set(values)
    fields = set(Settings.model_fields)
    unknown = {k for k in values if k.removeprefix("ELYSIA_").lower() not in fields}
    assert not unknown, f"infra.env keys without a Settings field: {sorted(unknown)}"
    for key, value in values.items():
        assert value, f"{key} is empty"
        if key.endswith(("_URL", "_URI")):
            assert "127.0.0.1" in value, f"{key}={value} is not loopback"


def _our_pid(service: str) -> str | None:
    pid_file = RUN_DIR / f"{service}.pid"
    return pid_file.read_text().strip() if pid_file.exists() else None


@pytest.mark.parametrize("service", ["redis", "mongodb", "s3"])
def test_up_again_leaves_a_running_server_alone(service: str) -> None:
    """A second `up` must not restart (or duplicate) a server that already runs."""
    before = _our_pid(service)
    if before is None or not Path(f"/proc/{before}").exists():
        reason = f"{service} was not started by scripts/infra/up in this work tree"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    result = subprocess.run(
        [str(INFRA / "up"), service], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stderr
    assert _our_pid(service) == before
