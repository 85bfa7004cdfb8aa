"""Pure logic of the core, gateway and CLI: no servers involved."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pymongo.errors import ServerSelectionTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError

from services.cli.inputs import InputError, read_essays
from services.core.apikeys import Principal, check_scopes, hash_key, mint, parse_prefix
from services.core.config import Settings
from services.core.errors import backend_of, is_transient
from services.core.jobs import final_status
from services.core.models import Action, ActionStatus, AnalysisJob, JobStatus, idempotent_ids
from services.core.queues import Queues
from services.core.submission import consolidation_step, plan_jobs
from services.gateway.limits import BodySizeLimit
from services.gateway.ratelimit import Decision


def job_with(*statuses: ActionStatus) -> AnalysisJob:
    actions = {f"d{i}": Action(dimension=f"d{i}", status=s) for i, s in enumerate(statuses)}
    return AnalysisJob.model_construct(id="j", tenant_id="t", essay_id="e", actions=actions)


def test_final_status_from_actions() -> None:
    assert final_status(job_with(ActionStatus.DONE, ActionStatus.DONE)) == JobStatus.COMPLETED
    assert final_status(job_with(ActionStatus.DONE, ActionStatus.FAILED)) == JobStatus.PARTIAL
    assert final_status(job_with(ActionStatus.FAILED, ActionStatus.FAILED)) == JobStatus.FAILED
    assert job_with(ActionStatus.DONE, ActionStatus.RUNNING).progress == (1, 2)


def test_plan_has_one_job_per_open_action() -> None:
    job = job_with(ActionStatus.DONE, ActionStatus.PENDING, ActionStatus.RUNNING)
    plan = plan_jobs(Settings(), job)
    assert [p.queue for p in plan] == ["d1", "d2"]
    assert [p.job_id for p in plan] == ["j-d1", "j-d2"]
    assert consolidation_step("j").job_id == "j-consolidate"


def test_retry_policy_is_exponential() -> None:
    queues = Queues(Settings(job_max_attempts=4, job_backoff_base_s=2), connection=None)  # type: ignore[arg-type]
    retry = queues.retry_policy()
    assert retry.max == 3 and retry.intervals == [2, 4, 8]
    assert queues.retry_policy(max_attempts=3, backoff_base_s=1).intervals == [1, 2]


def test_idempotent_ids_are_stable_and_tenant_scoped() -> None:
    assert idempotent_ids("a", "k") == idempotent_ids("a", "k")
    assert idempotent_ids("a", "k") != idempotent_ids("b", "k")


def test_api_keys_parse_and_hash() -> None:
    keys = [mint() for _ in range(200)]  # secrets may contain "_": parsing must still work
    assert all(parse_prefix(full) == prefix for full, prefix in keys)
    assert len({hash_key(full) for full, _ in keys}) == 200
    assert parse_prefix("ely_short_x") is None and parse_prefix("nope") is None
    with pytest.raises(ValueError):
        check_scopes(("root",))
    principal = Principal(tenant_id="t", key_prefix="p", scopes=frozenset({"admin"}))
    assert principal.can("search")


def test_transient_errors_are_classified() -> None:
    assert is_transient(RedisConnectionError("down"))
    assert is_transient(ServerSelectionTimeoutError("down"))
    assert is_transient(EndpointConnectionError(endpoint_url="http://s3"))
    slow = ClientError(
        {"Error": {"Code": "SlowDown"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "Put"
    )
    missing = ClientError(
        {"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "Get"
    )
    assert is_transient(slow) and not is_transient(missing)
    assert not is_transient(ValueError("bad input"))
    assert backend_of(RedisConnectionError("x")) == "redis"


def test_rate_limit_headers() -> None:
    refused = Decision(allowed=False, limit=100, remaining=0, reset_s=0.2).headers()
    assert refused == {
        "RateLimit-Limit": "100",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "1",
        "Retry-After": "1",
    }
    assert "Retry-After" not in Decision(True, 100, 42, 0.5).headers()


def body_limited_app() -> TestClient:
    app = FastAPI()

    @app.post("/echo")
    async def echo(payload: dict[str, str]) -> dict[str, int]:
        return {"size": len(payload.get("x", ""))}

    app.add_middleware(BodySizeLimit, default_limit=100, overrides={"/big": 1000})
    return TestClient(app)


def test_body_limit_by_declared_length_and_while_streaming() -> None:
    client = body_limited_app()
    assert client.post("/echo", json={"x": "a" * 10}).json() == {"size": 10}
    too_big = client.post("/echo", json={"x": "a" * 200})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "payload_too_large"

    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"x": "'
        for _ in range(50):
            yield b"aaaaaaaaaa"
        yield b'"}'

    streamed = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_cli_inputs_name_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "e.jsonl"
    good.write_text('{"id": "a", "text": "um"}\n\n{"text": "dois"}\n', encoding="utf-8")
    assert [e.id for e in read_essays(str(good))] == ["a", "3"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "text": "um"}\n{"id": "b", "text": \n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.jsonl:2: not valid JSON"):
        list(read_essays(str(bad)))
    no_text = tmp_path / "n.csv"
    no_text.write_text("title,body\nx,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="'text' column"):
        list(read_essays(str(no_text)))
    latin = tmp_path / "l.txt"
    latin.write_bytes("redação".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_essays(str(latin)))
