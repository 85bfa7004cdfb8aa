"""Issue 3 acceptance: submit → store → fan out → workers → consolidate → status, end to end.

A real gateway (`elysia serve`) and real workers (`elysia worker`) run as child processes against
the real Redis, MongoDB, S3 and Elasticsearch; the test talks HTTP, SSE and WebSocket to them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets.sync.client as ws_client

from services.core.config import Settings
from tests.conftest import make_test_settings
from tests.harness import ELYSIA, ROOT, Platform, child_env, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SAMPLE = (
    "A educação pública no Brasil enfrenta desafios históricos. Segundo o IBGE, milhões de "
    "jovens abandonam a escola antes de concluir o ensino médio.\n\n"
    "Em primeiro lugar, a falta de investimento compromete a qualidade do ensino. Além disso, "
    "muitas escolas não têm bibliotecas nem laboratórios, o que limita a aprendizagem.\n\n"
    "Por outro lado, a desigualdade social agrava o problema, visto que estudantes pobres "
    "precisam trabalhar cedo. Dessa forma, a evasão escolar se perpetua.\n\n"
    "Portanto, cabe ao Ministério da Educação ampliar o investimento nas escolas, por meio de "
    "verbas federais, a fim de garantir um ensino de qualidade para todos os jovens."
)


def essay_body(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "text": f"{SAMPLE}\n\nRedação número {n}.",
        "title": f"Redação {n}",
        "prompt_text": "Desafios da educação pública no Brasil",
        "external_id": f"ext-{n}",
        **extra,
    }


@pytest.fixture(scope="module")
def flow_settings() -> Settings:
    return make_test_settings(queue_prefix=f"flow{os.getpid()}:")


@pytest.fixture(scope="module")
async def api_key(flow_settings: Settings, metadata: Any, all_servers: None) -> str:
    from services.core.apikeys import create_tenant
    from services.core.models import Tenant, TenantLimits

    tenant, key = await create_tenant("Escola Flow")
    # This module tests the flow, not the limits (tests/tenancy does): its polling may be fast.
    await Tenant.get_pymongo_collection().update_one(
        {"_id": tenant.id},
        {"$set": {"limits": TenantLimits(requests=100_000, max_pending=100_000).model_dump()}},
    )
    return key.secret


@pytest.fixture(scope="module")
async def other_key(metadata: Any) -> str:
    from services.core.apikeys import create_tenant

    _, key = await create_tenant("Outra Escola")
    return key.secret


@pytest.fixture(scope="module")
def platform(
    flow_settings: Settings, api_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(flow_settings, tmp_path_factory.mktemp("flow-logs"))
    try:
        running.start_gateway()
        running.start_worker(name="worker-a")
        running.start_worker(name="worker-b")
        yield running
    finally:
        running.stop()


def client(platform: Platform, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def job_status(http: httpx.Client, job_id: str) -> dict[str, Any]:
    response = http.get(f"/v1/jobs/{job_id}", params={"results": "false"})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_final(http: httpx.Client, job_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
    final: dict[str, dict[str, Any]] = {}
    last: dict[str, dict[str, Any]] = {}

    def all_final() -> bool:
        for job_id in job_ids:
            if job_id not in final:
                body = job_status(http, job_id)
                last[job_id] = body
                if body["status"] in {"COMPLETED", "PARTIAL", "FAILED"}:
                    final[job_id] = body
        return len(final) == len(job_ids)

    try:
        wait_for(all_final, timeout, interval=0.5, what=f"{len(job_ids)} jobs to finish")
    except AssertionError as exc:
        if not str(exc).startswith("timed out"):
            raise
        open_jobs = {j: last[j]["status"] for j in job_ids if j not in final and j in last}
        raise AssertionError(
            f"{len(open_jobs)} jobs not final: {list(open_jobs.items())[:5]}"
        ) from None
    return final


def read_sse(url: str, key: str, sink: list[dict[str, Any]]) -> None:
    with (
        httpx.Client(timeout=120) as http,
        http.stream("GET", url, headers={"X-API-Key": key}) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                sink.append(json.loads(line[6:]))


def read_ws(url: str, key: str, sink: list[dict[str, Any]]) -> None:
    with ws_client.connect(f"{url}?api_key={key}", open_timeout=10) as conn:
        for message in conn:
            sink.append(json.loads(message))


def assert_ordered_stream(events: list[dict[str, Any]], final: dict[str, Any]) -> None:
    assert events, "no events received"
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), f"events out of order or repeated: {seqs}"
    last = events[-1]
    status = last["job"]["status"] if last["type"] == "snapshot" else last["job_status"]
    assert status == final["status"] == "COMPLETED"
    assert last["seq"] == final["seq"]


@pytest.mark.timeout(900)
def test_fifty_essays_complete_with_live_streams(platform: Platform, api_key: str) -> None:
    with client(platform, api_key) as http:
        job_ids = []
        for n in range(int(os.environ.get("FLOW_ESSAYS", "50"))):
            response = http.post("/v1/essays", json=essay_body(n))
            assert response.status_code == 202, response.text
            body = response.json()
            assert body["status_url"] == f"/v1/jobs/{body['job_id']}"
            job_ids.append(body["job_id"])
        # One more, followed live while the backlog of 50 is still being worked through.
        watched = http.post("/v1/essays", json=essay_body(999)).json()
        sse_events: list[dict[str, Any]] = []
        ws_events: list[dict[str, Any]] = []
        ws_url = platform.base_url.replace("http", "ws") + watched["ws_url"]
        threads = [
            threading.Thread(
                target=read_sse,
                args=(platform.base_url + watched["events_url"], api_key, sse_events),
            ),
            threading.Thread(target=read_ws, args=(ws_url, api_key, ws_events)),
        ]
        for t in threads:
            t.start()
        final = wait_final(http, [*job_ids, watched["job_id"]], timeout=600)
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a live stream did not end with the job"
        for job_id, body in final.items():
            assert body["status"] == "COMPLETED", (job_id, body, platform.log("worker-a"))
            assert all(a["status"] == "DONE" for a in body["actions"].values())
            assert body["progress"]["percent"] == 100.0
        assert_ordered_stream(sse_events, final[watched["job_id"]])
        assert_ordered_stream(ws_events, final[watched["job_id"]])
        assert any(e["type"] == "action" for e in sse_events), "SSE saw no live action event"

        essay = http.get(watched["essay_url"]).json()
        assert essay["status"] == "COMPLETED"
        score = essay["result"]["score"]
        assert 0 <= score["total"] <= 1000 and set(score["levels"]) == {
            "c1",
            "c2",
            "c3",
            "c4",
            "c5",
        }
        text = http.get(f"/v1/essays/{watched['essay_id']}/text")
        assert text.text == essay_body(999)["text"]


def test_idempotency_key_returns_same_job_without_new_work(
    platform: Platform, api_key: str, flow_settings: Settings
) -> None:
    from services.core.queues import Queues

    queues = Queues(flow_settings)
    with client(platform, api_key) as http:
        headers = {"Idempotency-Key": f"idem-{time.time_ns()}"}
        first = http.post("/v1/essays", json=essay_body(1), headers=headers)
        assert first.status_code == 202
        job_id = first.json()["job_id"]

        def enqueued_at() -> dict[str, bytes | None]:
            return {
                dim: queues.redis.hget(f"rq:job:{job_id}-{dim}", "enqueued_at")
                for dim in ("grammar", "theme", "argumentation", "cohesion", "proposal", "metrics")
            }

        before = enqueued_at()
        assert all(before.values()), before
        second = http.post("/v1/essays", json=essay_body(1), headers=headers)
        assert second.status_code == 200 and second.headers["Idempotent-Replayed"] == "true"
        assert second.json()["job_id"] == job_id and second.json()["created"] is False
        assert enqueued_at() == before  # no dimension job was enqueued again
        conflict = http.post("/v1/essays", json=essay_body(2), headers=headers)
        assert conflict.status_code == 409
        assert conflict.json()["error"]["field"] == "Idempotency-Key"
        wait_final(http, [job_id], timeout=300)
        third = http.post("/v1/essays", json=essay_body(1), headers=headers)
        assert third.json()["job_id"] == job_id and third.json()["status"] == "COMPLETED"
        assert enqueued_at() == before


def test_input_errors_are_precise_json(platform: Platform, api_key: str, other_key: str) -> None:
    with client(platform, api_key) as http:
        cases = [
            (http.post("/v1/essays", json={"text": "x", "colour": "blue"}), 422, "body.colour"),
            (http.post("/v1/essays", json={"title": "no text"}), 422, "body.text"),
            (http.post("/v1/essays", json={"text": "   \n "}), 422, "text"),
            (http.post("/v1/essays", json={"text": "ç" * 30_000}), 413, "text"),
            (
                http.post("/v1/essays", json={"text": "ok", "dimensions": ["astrology"]}),
                422,
                "dimensions",
            ),
            (
                http.post(
                    "/v1/essays",
                    content=b'{"text": "broken',
                    headers={"content-type": "application/json"},
                ),
                422,
                None,
            ),
            (
                http.post(
                    "/v1/essays",
                    content=b'{"text": "\xff\xfe"}',
                    headers={"content-type": "application/json"},
                ),
                400,
                None,
            ),
            (
                http.post("/v1/essays", json={"text": "ok"}, headers={"Idempotency-Key": "a key"}),
                400,
                "Idempotency-Key",
            ),
            (
                http.post(
                    "/v1/essays",
                    content=b"x" * 400_000,
                    headers={"content-type": "application/json"},
                ),
                413,
                None,
            ),
            (http.get("/v1/jobs/does-not-exist"), 404, "job_id"),
        ]
        for response, status, field in cases:
            assert response.status_code == status, (response.request.url, response.text)
            error = response.json()["error"]
            assert error["code"] and error["message"]
            if field is not None:
                assert error["field"] == field, error
        mine = http.post("/v1/essays", json=essay_body(7)).json()
    assert httpx.get(platform.base_url + mine["status_url"]).status_code == 401
    with client(platform, other_key) as other:
        for path in (mine["status_url"], mine["essay_url"], mine["essay_url"] + "/text"):
            response = other.get(path)
            assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


@pytest.mark.timeout(600)
def test_sigkill_and_flushed_queues_are_redriven(
    metadata: Any, api_key: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Kill a worker mid-job, flush Redis, reconcile: every accepted essay still completes."""
    settings = make_test_settings(
        queue_prefix=f"kill{os.getpid()}:", redis_url=_redis_db(Settings(), 5)
    )
    running = Platform(settings, tmp_path_factory.mktemp("kill-logs"))
    try:
        running.start_gateway()
        with client(running, api_key) as http:
            job_ids = [
                http.post("/v1/essays", json=essay_body(n)).json()["job_id"] for n in range(8)
            ]
            victim = running.start_worker(name="victim")
            wait_for(
                lambda: any(
                    a["status"] == "RUNNING"
                    for j in job_ids
                    for a in job_status(http, j)["actions"].values()
                ),
                timeout=120,
                interval=0.05,
                what="a running action",
            )
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            from services.core.queues import Queues

            Queues(settings).redis.flushdb()
            statuses = [job_status(http, j)["status"] for j in job_ids]
            assert any(s not in {"COMPLETED", "PARTIAL", "FAILED"} for s in statuses)
            subprocess.run(
                [*ELYSIA, "reconcile", "--grace", "0"],
                cwd=ROOT,
                env=child_env(settings),
                check=True,
                timeout=120,
            )
            running.start_worker(name="rescuer")
            final = wait_final(http, job_ids, timeout=300)
            assert all(b["status"] == "COMPLETED" for b in final.values()), final
            assert all(a["status"] == "DONE" for b in final.values() for a in b["actions"].values())
    finally:
        running.stop()


def _redis_db(settings: Settings, db: int) -> str:
    base = settings.redis_url.rsplit("/", 1)[0]
    return f"{base}/{db}"


def test_logs_are_written(platform: Platform) -> None:
    assert Path(platform.log_dir / "gateway.log").exists()
