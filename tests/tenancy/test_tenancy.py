"""Issue 4 acceptance: keys, scopes, tenant isolation, rate limits, webhooks, metrics.

The auth matrix is built from the running gateway's own OpenAPI schema: every /v1 route must
appear in `REQUIRED_SCOPE`, so a route added without an authorisation decision fails here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import websockets.sync.client as ws_client
from websockets.exceptions import ConnectionClosed

from services.core import webhooks
from services.core.config import Settings
from tests.conftest import make_test_settings
from tests.harness import Platform, free_port, wait_for

pytestmark = [pytest.mark.integration]

BOOTSTRAP = f"boot-{os.getpid()}-{time.time_ns()}"

# (method, path template) -> scope it requires; None = any valid key; "admin" = operator only.
REQUIRED_SCOPE: dict[tuple[str, str], str | None] = {
    ("POST", "/v1/essays"): "essays:write",
    ("GET", "/v1/essays/{essay_id}"): "essays:read",
    ("DELETE", "/v1/essays/{essay_id}"): "essays:write",
    ("GET", "/v1/essays/{essay_id}/text"): "essays:read",
    ("GET", "/v1/jobs/{job_id}"): "essays:read",
    ("GET", "/v1/jobs/{job_id}/events"): "essays:read",
    ("PUT", "/v1/webhooks"): "essays:write",
    ("GET", "/v1/webhooks"): "essays:read",
    ("DELETE", "/v1/webhooks"): "essays:write",
    ("GET", "/v1/webhooks/deliveries"): "essays:read",
    ("GET", "/v1/me"): None,
    ("POST", "/v1/tenants"): "admin",
    ("GET", "/v1/tenants/{tenant_id}"): "admin",
    ("PATCH", "/v1/tenants/{tenant_id}"): "admin",
    ("POST", "/v1/tenants/{tenant_id}/keys"): "admin",
    ("GET", "/v1/tenants/{tenant_id}/keys"): "admin",
    ("DELETE", "/v1/tenants/{tenant_id}/keys/{prefix}"): "admin",
    ("GET", "/v1/search"): "search",
    ("POST", "/v1/batches"): "essays:write",
    ("GET", "/v1/batches"): "essays:read",
    ("GET", "/v1/batches/{batch_id}"): "essays:read",
    ("GET", "/v1/batches/{batch_id}/errors"): "essays:read",
    ("GET", "/v1/batches/{batch_id}/results.csv"): "essays:read",
    ("GET", "/v1/batches/{batch_id}/report"): "essays:read",
    ("POST", "/v1/batches/{batch_id}/resume"): "essays:write",
}
ALL_SCOPES = {"essays:write", "essays:read", "search"}


@pytest.fixture(scope="module")
def tenancy_settings() -> Settings:
    return make_test_settings(
        queue_prefix=f"ten{os.getpid()}:",
        admin_bootstrap_key=BOOTSTRAP,
        webhook_backoff_base_s=1.0,
        webhook_max_attempts=6,
    )


@pytest.fixture(scope="module")
def gateway(
    tenancy_settings: Settings, all_servers: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(tenancy_settings, tmp_path_factory.mktemp("tenancy-logs"))
    try:
        running.start_gateway()
        yield running
    finally:
        running.stop()


def admin(platform: Platform) -> httpx.Client:
    return httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {BOOTSTRAP}"}, timeout=30
    )


def as_key(platform: Platform, key: str | None) -> httpx.Client:
    headers = {"X-API-Key": key} if key else {}
    return httpx.Client(base_url=platform.base_url, headers=headers, timeout=30)


def new_tenant(platform: Platform, name: str, **body: Any) -> dict[str, Any]:
    with admin(platform) as http:
        response = http.post("/v1/tenants", json={"name": name, **body})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


def new_key(platform: Platform, tenant_id: str, scopes: list[str]) -> str:
    with admin(platform) as http:
        response = http.post(f"/v1/tenants/{tenant_id}/keys", json={"scopes": scopes})
        assert response.status_code == 201, response.text
        key: str = response.json()["key"]
        return key


@pytest.fixture(scope="module")
def world(gateway: Platform) -> dict[str, Any]:
    """Tenant A with an essay and job, tenant B, and keys of every scope combination."""
    a = new_tenant(gateway, "Escola A")
    b = new_tenant(gateway, "Escola B")
    with as_key(gateway, a["key"]["key"]) as http:
        submitted = http.post("/v1/essays", json={"text": "Um texto qualquer da escola A."}).json()
    return {
        "a": a,
        "b": b,
        "essay_id": submitted["essay_id"],
        "job_id": submitted["job_id"],
        "tenant_id": a["id"],
        "prefix": a["key"]["prefix"],
        "batch_id": "0" * 32,
        "a_key": a["key"]["key"],
        "b_key": b["key"]["key"],
        "without": {s: new_key(gateway, a["id"], sorted(ALL_SCOPES - {s})) for s in ALL_SCOPES},
    }


def routes(platform: Platform) -> list[tuple[str, str]]:
    spec = httpx.get(f"{platform.base_url}/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/v1/")
        for method in item
    ]


def call(http: httpx.Client, method: str, path: str, world: dict[str, Any]) -> httpx.Response:
    url = path.format(
        **{k: world[k] for k in ("essay_id", "job_id", "tenant_id", "prefix", "batch_id")}
    )
    body = {"POST": {}, "PUT": {"url": "http://127.0.0.1:9/x"}, "PATCH": {}}.get(method)
    return http.request(method, url, json=body, timeout=10)


def test_every_route_has_an_authorisation_decision(gateway: Platform) -> None:
    missing = [r for r in routes(gateway) if r not in REQUIRED_SCOPE]
    assert not missing, f"routes without a scope decision in the matrix: {missing}"


def test_no_key_is_401_everywhere(gateway: Platform, world: dict[str, Any]) -> None:
    with as_key(gateway, None) as http:
        for method, path in routes(gateway):
            response = call(http, method, path, world)
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "unauthorized"
    with as_key(gateway, "ely_000000000000_" + "x" * 43) as http:
        assert http.get("/v1/me").status_code == 401


def test_missing_scope_is_403(gateway: Platform, world: dict[str, Any]) -> None:
    for method, path in routes(gateway):
        scope = REQUIRED_SCOPE[(method, path)]
        if scope is None:
            continue
        key = world["a_key"] if scope == "admin" else world["without"][scope]
        with as_key(gateway, key) as http:
            response = call(http, method, path, world)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "forbidden"


def test_other_tenants_resources_are_404(gateway: Platform, world: dict[str, Any]) -> None:
    owned = [
        (m, p)
        for m, p in routes(gateway)
        if ("{essay_id}" in p or "{job_id}" in p) and REQUIRED_SCOPE[(m, p)] != "admin"
    ]
    assert len(owned) >= 5
    with as_key(gateway, world["b_key"]) as http:
        for method, path in owned:
            response = call(http, method, path, world)
            assert response.status_code == 404, (method, path, response.text)
    with as_key(gateway, world["a_key"]) as http:  # and the owner still sees it (not deleted)
        assert http.get(f"/v1/essays/{world['essay_id']}").status_code == 200
    ws_base = gateway.base_url.replace("http", "ws")
    with (
        pytest.raises(ConnectionClosed) as closed,
        ws_client.connect(
            f"{ws_base}/v1/jobs/{world['job_id']}/ws?api_key={world['b_key']}"
        ) as conn,
    ):
        conn.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


def test_admin_keys_and_revocation(gateway: Platform, world: dict[str, Any]) -> None:
    key = new_key(gateway, world["tenant_id"], ["essays:read"])
    prefix = key.split("_")[1]
    with as_key(gateway, key) as http:
        me = http.get("/v1/me").json()
        assert me["tenant_id"] == world["tenant_id"] and me["scopes"] == ["essays:read"]
    with admin(gateway) as http:
        listed = http.get(f"/v1/tenants/{world['tenant_id']}/keys").json()
        assert prefix in {k["prefix"] for k in listed}
        assert all("key" not in k and "secret_hash" not in k for k in listed)
        assert http.delete(f"/v1/tenants/{world['tenant_id']}/keys/{prefix}").status_code == 204
        assert http.delete(f"/v1/tenants/{world['tenant_id']}/keys/{prefix}").status_code == 404
    # The gateway caches authentication for ELYSIA_AUTH_CACHE_S (10 s by default).
    with as_key(gateway, key) as http:
        wait_for(lambda: http.get("/v1/me").status_code == 401, timeout=15, what="revocation")


RATE_CLIENT = r"""
import asyncio, json, sys, time, httpx
url, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
async def main():
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(limits=limits, timeout=30, headers={"X-API-Key": key}) as c:
        await c.get(url.rsplit("/v1/", 1)[0] + "/healthz")  # warm the pool, spend no budget
        t0 = time.perf_counter()
        rs = await asyncio.gather(*(c.get(url) for _ in range(n)), return_exceptions=True)
        elapsed = time.perf_counter() - t0
    codes = [r.status_code if isinstance(r, httpx.Response) else repr(r) for r in rs]
    sample = next((dict(r.headers) for r in rs if isinstance(r, httpx.Response)
                   and r.status_code == 429), {})
    print(json.dumps({"codes": codes, "elapsed": elapsed, "headers": sample}))
asyncio.run(main())
"""


def burst(gateway: Platform, key: str, n: int) -> dict[str, Any]:
    """Fire `n` concurrent requests from a second process; statuses, duration, a 429's headers."""
    out = subprocess.run(
        [sys.executable, "-c", RATE_CLIENT, f"{gateway.base_url}/v1/me", key, str(n)],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    codes = result["codes"]
    print(
        f"burst of {n}: {codes.count(200)} ok, {codes.count(429)} limited in "
        f"{result['elapsed']:.2f}s"
    )
    assert all(isinstance(c, int) and c < 500 for c in codes), codes  # never a 5xx
    assert set(codes) <= {200, 429}
    return result


def test_rate_limit_holds_under_a_burst_from_another_process(gateway: Platform) -> None:
    tenant = new_tenant(gateway, "Escola Apressada", limits={"requests": 100, "window_s": 1.0})
    result = burst(gateway, tenant["key"]["key"], 500)
    codes = result["codes"]
    # At most 100 in any sliding second, however long the burst took to send.
    assert codes.count(200) <= 100 * (int(result["elapsed"]) + 1)
    if result["elapsed"] <= 1.0:
        assert codes.count(429) >= 390
    headers = {k.lower(): v for k, v in result["headers"].items()}
    assert headers["ratelimit-limit"] == "100" and int(headers["retry-after"]) >= 1
    assert headers["ratelimit-remaining"] == "0"


def test_rate_limit_refuses_everything_past_the_budget_of_a_window(gateway: Platform) -> None:
    """The same limiter with a window longer than the burst: exactly the budget gets through,
    whatever the machine's speed, so the issue's "≥ 390 of 500 refused" is always checked."""
    tenant = new_tenant(gateway, "Escola Paciente", limits={"requests": 100, "window_s": 30.0})
    result = burst(gateway, tenant["key"]["key"], 500)
    assert result["elapsed"] < 29, "the burst must fit in the window for this check"
    assert result["codes"].count(200) == 100
    assert result["codes"].count(429) == 400


def test_backpressure_caps_pending_essays(gateway: Platform) -> None:
    tenant = new_tenant(gateway, "Escola Cheia", limits={"requests": 1000, "max_pending": 3})
    with as_key(gateway, tenant["key"]["key"]) as http:
        codes = [http.post("/v1/essays", json={"text": f"texto {i}"}).status_code for i in range(5)]
        assert codes == [202, 202, 202, 429, 429]
        refused = http.post("/v1/essays", json={"text": "mais um"})
        assert refused.json()["error"]["code"] == "too_many_pending"
        assert refused.headers["retry-after"]


class Receiver:
    """A webhook receiver that verifies every signature, as a tenant's server would."""

    def __init__(self, secret: str, port: int) -> None:
        self.secret = secret
        self.port = port
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = webhooks.verify(
                    outer.secret,
                    self.headers[webhooks.TIMESTAMP_HEADER],
                    body,
                    self.headers[webhooks.SIGNATURE_HEADER],
                )
                if ok:
                    outer.events.append(json.loads(body))
                else:
                    outer.bad_signatures += 1
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_webhook_signed_and_redelivered_after_receiver_comes_back(gateway: Platform) -> None:
    tenant = new_tenant(gateway, "Escola Gancho")
    port = free_port()
    with as_key(gateway, tenant["key"]["key"]) as http:
        hook = http.put("/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/hook"}).json()
        secret = hook["secret"]
        assert secret.startswith("whsec_")
        assert http.get("/v1/webhooks").json() == {
            "url": f"http://127.0.0.1:{port}/hook",
            "secret": None,
        }
        job = http.post(
            "/v1/essays", json={"text": "Texto para o gancho.", "dimensions": ["metrics"]}
        ).json()
        worker = gateway.start_worker(
            "metrics", "consolidate", "index", "webhooks", name="webhook-worker"
        )
        try:

            def failed_attempt() -> bool:
                items = http.get("/v1/webhooks/deliveries").json()["items"]
                return bool(items) and len(items[0]["attempts"]) >= 1

            wait_for(failed_attempt, timeout=180, what="a first, failed delivery attempt")
            first = http.get("/v1/webhooks/deliveries").json()["items"][0]
            assert first["status"] == "PENDING" and first["attempts"][0]["error"]
            with Receiver(secret, port) as receiver:
                wait_for(lambda: receiver.events, timeout=120, what="the redelivered event")
                assert receiver.bad_signatures == 0
                event = receiver.events[0]
                assert event["job_id"] == job["job_id"]
                assert event["type"] in {"job.completed", "job.partial"}
            delivered = http.get("/v1/webhooks/deliveries", params={"job_id": job["job_id"]})
            item = delivered.json()["items"][0]
            assert item["status"] == "DELIVERED" and len(item["attempts"]) >= 2
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def test_signature_rejects_tampering_and_replays() -> None:
    body = b'{"a":1}'
    now = int(time.time())
    sig = webhooks.sign("s3cret", now, body)
    assert webhooks.verify("s3cret", str(now), body, sig)
    assert not webhooks.verify("s3cret", str(now), b'{"a":2}', sig)
    assert not webhooks.verify("other", str(now), body, sig)
    assert not webhooks.verify(
        "s3cret", str(now - 301), body, webhooks.sign("s3cret", now - 301, body)
    )
    assert not webhooks.verify("s3cret", "not-a-number", body, sig)


def test_metrics_exposed(gateway: Platform, world: dict[str, Any]) -> None:
    with as_key(gateway, world["a_key"]) as http:
        http.get(f"/v1/jobs/{world['job_id']}")
    text = httpx.get(f"{gateway.base_url}/metrics").text
    assert 'elysia_http_requests_total{method="GET",route="/v1/jobs/{job_id}",status="200"}' in text
    assert "elysia_http_request_duration_seconds_bucket" in text
    assert 'elysia_queue_depth{queue="grammar"}' in text


def test_logs_are_json_with_request_ids(gateway: Platform) -> None:
    response = httpx.get(f"{gateway.base_url}/healthz", headers={"X-Request-ID": "trace-me-123"})
    assert response.headers["x-request-id"] == "trace-me-123"
    lines = [
        json.loads(line) for line in gateway.log("gateway").splitlines() if line.startswith("{")
    ]
    assert lines and all({"ts", "level", "message"} <= set(line) for line in lines)
