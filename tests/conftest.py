"""Shared test harness.

Integration tests talk to the real servers that `scripts/infra/up` starts; their addresses come
from `.elysia/infra.env` (written by `up`) or the `ELYSIA_*` environment. When a server is down,
the test FAILS under CI (`CI` set) and is skipped with a printed reason only on a developer's
machine without it. Every test session works in its own namespace (database, bucket, index
prefix, queue prefix), so parallel sessions and left-overs never mix.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from dotenv import load_dotenv

from services.core.config import Settings

ROOT = Path(__file__).resolve().parents[1]
load_dotenv(ROOT / ".elysia" / "infra.env", override=False)

SESSION_ID = uuid.uuid4().hex[:8]


def _endpoint(url: str, default_port: int) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


def server_endpoints(settings: Settings) -> dict[str, tuple[str, int]]:
    """Where each backend should be listening, by the names used in markers and messages."""
    return {
        "redis": _endpoint(settings.redis_url, 6379),
        "mongodb": _endpoint(settings.mongodb_uri, 27017),
        "elasticsearch": _endpoint(settings.elasticsearch_url, 9200),
        "s3": _endpoint(settings.s3_endpoint_url or "http://127.0.0.1:5000", 5000),
    }


def is_listening(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    """Fail (CI) or skip with a reason (local) when a real server is not reachable."""
    if is_listening(host, port):
        return
    reason = f"{name} is not listening on {host}:{port}; start it with scripts/infra/up"
    if os.environ.get("CI"):
        pytest.fail(reason)
    print(f"SKIP: {reason}")
    pytest.skip(reason)


def make_test_settings(**overrides: object) -> Settings:
    """Settings isolated to this test session (own db, bucket, index prefix, queue prefix)."""
    base: dict[str, object] = {
        "mongodb_db": f"elysia_test_{SESSION_ID}",
        "s3_bucket": f"elysia-test-{SESSION_ID}",
        "es_index_prefix": f"elysia-test-{SESSION_ID}",
        "queue_prefix": f"t{SESSION_ID}:",
        "job_backoff_base_s": 0.05,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings() -> Settings:
    return make_test_settings()


@pytest.fixture(scope="session")
def redis_server(settings: Settings) -> None:
    require_server("redis", *server_endpoints(settings)["redis"])


@pytest.fixture(scope="session")
def mongodb_server(settings: Settings) -> None:
    require_server("mongodb", *server_endpoints(settings)["mongodb"])


@pytest.fixture(scope="session")
def elasticsearch_server(settings: Settings) -> None:
    require_server("elasticsearch", *server_endpoints(settings)["elasticsearch"])


@pytest.fixture(scope="session")
def s3_server(settings: Settings) -> None:
    require_server("s3", *server_endpoints(settings)["s3"])


@pytest.fixture(scope="session")
def all_servers(
    redis_server: None, mongodb_server: None, elasticsearch_server: None, s3_server: None
) -> Iterator[None]:
    yield None


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process use `settings` (see tests/harness.py)."""
    from tests.harness import child_env

    return child_env(settings, ELYSIA_LOG_JSON="true")


@pytest.fixture(scope="session")
async def metadata(settings: Settings, mongodb_server: None):  # type: ignore[no-untyped-def]
    """Beanie initialised on the session's event loop, on this session's own database."""
    from services.core.metadata import init_metadata

    client = await init_metadata(settings)
    yield client
    await client.drop_database(settings.mongodb_db)
    await client.close()


@pytest.fixture(scope="session")
def object_store(settings: Settings, s3_server: None):  # type: ignore[no-untyped-def]
    from services.core.storage import ObjectStore

    store = ObjectStore(settings)
    store.ensure_bucket()
    yield store
    for key in list(store.list_keys("")):
        store.delete(key)
    store.client.delete_bucket(Bucket=store.bucket)


@pytest.fixture(scope="session")
def queues(settings: Settings, redis_server: None):  # type: ignore[no-untyped-def]
    from services.core.queues import Queues

    q = Queues(settings)
    yield q
    for key in q.redis.scan_iter(f"*{settings.queue_prefix}*"):
        q.redis.delete(key)


@pytest.fixture(scope="session")
def search_index(settings: Settings, elasticsearch_server: None):  # type: ignore[no-untyped-def]
    from services.core.search import SearchIndex

    index = SearchIndex(settings)
    index.ensure()
    yield index
    index.drop_all()
