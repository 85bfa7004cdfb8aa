"""Issue 11: no accepted essay is lost, whatever fails while essays stream in.

A gateway and two workers run against private Redis, MongoDB and S3 servers (restartable at will,
see servers.py) and the shared Elasticsearch. For each fault, a client streams essays with
idempotency keys, retrying only what the API asks it to retry (503 with `Retry-After`); the fault
hits mid-stream; after recovery and `elysia reconcile`, every accepted essay must be COMPLETED
exactly once, with its original in S3, its metadata in MongoDB and its document in the index.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from services.core.config import Settings
from services.core.search import SearchIndex
from services.core.storage import ObjectStore
from tests.conftest import make_test_settings
from tests.faults.servers import MongoServer, RedisServer, S3Server, TcpProxy
from tests.harness import ELYSIA, ROOT, Platform, child_env, wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.faults,
    pytest.mark.timeout(900),
]

TEXT = (
    "A mobilidade urbana é um desafio das grandes cidades brasileiras. Segundo o IBGE, o tempo "
    "gasto no trânsito cresce a cada ano.\n\nEm primeiro lugar, o transporte público é caro e "
    "lotado. Além disso, faltam ciclovias seguras, o que desestimula alternativas ao carro.\n\n"
    "Portanto, cabe às prefeituras ampliar os corredores de ônibus, por meio de parcerias com o "
    "governo federal, a fim de reduzir o tempo de deslocamento da população."
)


@dataclass
class Env:
    settings: Settings
    redis: RedisServer
    mongo: MongoServer
    s3: S3Server
    s3_proxy: TcpProxy
    platform: Platform
    key: str
    tenant_id: str
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)


@pytest.fixture(scope="module")
def env(all_servers: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    base = tmp_path_factory.mktemp("faults")
    redis = RedisServer("redis", base / "redis")
    mongo = MongoServer("mongodb", base / "mongodb")
    s3 = S3Server("s3", base / "s3")
    for server in (redis, mongo, s3):
        server.start()
    proxy = TcpProxy(s3.port)
    proxy.start()
    run = uuid.uuid4().hex[:8]
    bootstrap = f"boot-{run}"
    settings = make_test_settings(
        redis_url=f"redis://127.0.0.1:{redis.port}/0",
        mongodb_uri=f"mongodb://127.0.0.1:{mongo.port}",
        s3_endpoint_url=f"http://127.0.0.1:{proxy.port}",
        queue_prefix=f"faults{run}:",
        es_index_prefix=f"elysia-faults-{run}",
        admin_bootstrap_key=bootstrap,
        job_backoff_base_s=1.0,
        backend_timeout_s=3.0,
        worker_liveness_ttl_s=6,
    )
    (base / "logs").mkdir()
    platform = Platform(settings, base / "logs")
    try:
        platform.start_gateway()
        created = httpx.post(
            f"{platform.base_url}/v1/tenants",
            headers={"X-API-Key": bootstrap},
            json={"name": "faults", "limits": {"requests": 100000, "max_pending": 100000}},
            timeout=30,
        ).json()
        environment = Env(
            settings, redis, mongo, s3, proxy, platform, created["key"]["key"], created["id"]
        )
        environment.workers = [platform.start_worker(name=f"w{i}") for i in range(2)]
        yield environment
    finally:
        platform.stop()
        proxy.stop()
        for server in (redis, mongo, s3):
            server.stop()
        SearchIndex(settings).drop_all()


class Submitter(threading.Thread):
    """A well-behaved client: idempotency keys, retries only on 503 (after Retry-After)."""

    def __init__(self, env: Env, count: int, per_second: float) -> None:
        super().__init__(daemon=True)
        self.env = env
        self.count = count
        self.interval = 1.0 / per_second
        self.run_id = uuid.uuid4().hex[:8]
        self.accepted: dict[str, str] = {}
        self.statuses: list[int] = []
        self.bad: list[str] = []

    def run(self) -> None:
        with httpx.Client(
            base_url=self.env.platform.base_url, headers={"X-API-Key": self.env.key}, timeout=60
        ) as http:
            for i in range(self.count):
                self.submit(http, i)
                time.sleep(self.interval)

    def submit(self, http: httpx.Client, i: int) -> None:
        key = f"{self.run_id}-{i}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                response = http.post(
                    "/v1/essays",
                    json={"text": f"{TEXT}\n\nTexto {i}.", "external_id": key},
                    headers={"Idempotency-Key": key},
                )
            except httpx.TransportError as exc:
                self.bad.append(f"{key}: transport error {exc!r}")
                return
            self.statuses.append(response.status_code)
            if response.status_code in (200, 202):
                self.accepted[key] = response.json()["job_id"]
                return
            if response.status_code == 503 and "retry-after" in response.headers:
                time.sleep(min(float(response.headers["retry-after"]), 2.0))
                continue
            self.bad.append(f"{key}: {response.status_code} {response.text[:300]}")
            return
        self.bad.append(f"{key}: not accepted within 180 s")


def reconcile(env: Env) -> None:
    subprocess.run(
        [*ELYSIA, "reconcile", "--grace", "0"],
        cwd=ROOT,
        env=child_env(env.settings),
        check=True,
        timeout=120,
        capture_output=True,
    )


def verify_nothing_lost(env: Env, submitter: Submitter) -> None:
    """Reconcile until every accepted essay is final; then check every store holds it once."""
    assert not submitter.bad, submitter.bad
    assert all(s in (200, 202, 503) for s in submitter.statuses), submitter.statuses
    assert len(submitter.accepted) == submitter.count
    job_ids = list(submitter.accepted.values())
    mongo: MongoClient[dict[str, Any]] = MongoClient(env.settings.mongodb_uri)
    db = mongo[env.settings.mongodb_db]
    index = SearchIndex(env.settings)

    def all_done() -> bool:
        reconcile(env)
        final = db.jobs.count_documents(
            {
                "_id": {"$in": job_ids},
                "status": {"$in": ["COMPLETED", "PARTIAL", "FAILED"]},
                "indexed_at": {"$ne": None},
            }
        )
        return final == len(job_ids)

    wait_for(all_done, timeout=300, interval=3, what="every accepted essay to finish and index")
    jobs = list(db.jobs.find({"_id": {"$in": job_ids}}))
    assert len(jobs) == len(job_ids)
    for job in jobs:
        assert job["status"] == "COMPLETED", (job["_id"], job["status"], job.get("error"))
        assert job["consolidations"] == 1, f"job {job['_id']} consolidated {job['consolidations']}x"
        assert all(a["status"] == "DONE" for a in job["actions"].values())
    essays = list(db.essays.find({"job_id": {"$in": job_ids}}))
    assert sorted(e["external_id"] for e in essays) == sorted(submitter.accepted)
    store = ObjectStore(env.settings)
    index.refresh()
    for essay in essays:
        assert store.exists(essay["s3_key"]), essay["_id"]
        assert index.get(env.tenant_id, essay["_id"]) is not None, essay["_id"]
    mongo.close()


def stream_through(env: Env, fault: Callable[[], None], count: int = 10, rate: float = 1.0) -> None:
    submitter = Submitter(env, count, rate)
    submitter.start()
    time.sleep(2.5)
    fault()
    submitter.join(timeout=400)
    assert not submitter.is_alive()
    verify_nothing_lost(env, submitter)


def test_workers_killed_with_sigkill(env: Env) -> None:
    def kill_workers() -> None:
        for _ in range(2):
            alive = [w for w in env.workers if w.poll() is None]
            victim = random.choice(alive)
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            env.workers.remove(victim)
            time.sleep(1.5)
            env.workers.append(env.platform.start_worker(name=f"w-{time.time_ns()}"))

    stream_through(env, kill_workers)


@pytest.mark.parametrize("persistent", [True, False], ids=["aof", "no-persistence"])
def test_redis_restarted(env: Env, persistent: bool) -> None:
    stream_through(env, lambda: env.redis.restart(persistent))


def test_mongodb_stopped_for_10s(env: Env) -> None:
    def outage() -> None:
        env.mongo.stop()
        time.sleep(10)
        env.mongo.start()

    stream_through(env, outage)


def test_s3_unreachable_for_10s(env: Env) -> None:
    def partition() -> None:
        env.s3_proxy.cut()
        time.sleep(10)
        env.s3_proxy.restore()

    stream_through(env, partition)


def test_elasticsearch_stopped_for_10s(env: Env) -> None:
    infra = ROOT / "scripts" / "infra"

    def outage() -> None:
        subprocess.run(
            [infra / "stop", "elasticsearch"], check=True, timeout=120, capture_output=True
        )
        time.sleep(10)
        subprocess.run(
            [infra / "start", "elasticsearch"], check=True, timeout=300, capture_output=True
        )

    stream_through(env, outage)


def test_no_unhandled_error_in_the_gateway(env: Env) -> None:
    """Every failure above was answered deliberately (503 + Retry-After), never by accident."""
    log = (env.platform.log_dir / "gateway.log").read_text(errors="replace")
    assert '"message": "unhandled error"' not in log
