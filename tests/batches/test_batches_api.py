"""Issue 7 acceptance through the real gateway and a real `elysia worker ingest` process.

Upload (raw and multipart), per-row errors with lines, results export, report, malformed files
(always a precise 4xx or per-row errors, never a 5xx, never a batch without a status), and a
SIGKILL of the ingestion worker half-way followed by a resume: exactly one essay per valid row.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from services.core import batches
from services.core.config import Settings
from services.core.models import AnalysisJob, Batch, Essay
from tests.batches import csvgen
from tests.batches.cleanup import empty_queues
from tests.conftest import make_test_settings
from tests.harness import ELYSIA, Platform, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ESSAY = "A educação é um direito de todos e um dever do Estado."


@pytest.fixture(scope="module")
def api_settings() -> Settings:
    return make_test_settings(queue_prefix=f"batch{os.getpid()}:")


@pytest.fixture(scope="module")
async def api_key(api_settings: Settings, metadata: Any, all_servers: None) -> AsyncIterator[str]:
    from services.core.apikeys import create_tenant

    tenant, key = await create_tenant("Escola Lote")
    yield key.secret
    # Remove this module's thousands of documents in small steps: SecantusDB answers nothing
    # else while it deletes, and one huge drop at session end outlasts the driver's heartbeat.
    batch_ids = await Batch.get_pymongo_collection().distinct("_id", {"tenant_id": tenant.id})
    for batch_id in batch_ids:
        await batches.errors_collection().delete_many({"batch_id": batch_id})
        for collection in (Essay, AnalysisJob):
            await collection.get_pymongo_collection().delete_many({"batch_id": batch_id})
    await Batch.get_pymongo_collection().delete_many({"tenant_id": tenant.id})


@pytest.fixture(scope="module")
def platform(
    api_settings: Settings, api_key: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(api_settings, tmp_path_factory.mktemp("batch-logs"))
    try:
        running.start_gateway()
        yield running
    finally:
        running.stop()
        from services.core.queues import Queues

        empty_queues(api_settings)  # job hashes are not under the prefix: drop them by queue
        queues = Queues(api_settings)
        for key in queues.redis.scan_iter(f"*{api_settings.queue_prefix}*", count=1000):
            queues.redis.unlink(key)


@pytest.fixture(scope="module")
def client(platform: Platform, api_key: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=platform.base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=60
    ) as c:
        yield c


@pytest.fixture(scope="module")
def ingest_worker(platform: Platform) -> None:
    platform.start_worker("ingest", name="ingest-a")  # stopped with the platform


def post_csv(client: httpx.Client, data: bytes | Iterator[bytes], **params: Any) -> httpx.Response:
    return client.post(
        "/v1/batches", content=data, params=params, headers={"Content-Type": "text/csv"}
    )


def wait_ingested(client: httpx.Client, batch_id: str, timeout: float = 120) -> dict[str, Any]:
    def ingested() -> dict[str, Any] | None:
        body: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        return body if body["status"] not in {"UPLOADED", "INGESTING"} else None

    result: dict[str, Any] = wait_for(ingested, timeout, what=f"batch {batch_id} ingested")
    return result


def all_errors(client: httpx.Client, batch_id: str, limit: int = 7) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.get(f"/v1/batches/{batch_id}/errors", params={"after": after, "limit": limit})
        assert page.status_code == 200
        body = page.json()
        items += body["items"]
        if body["next_after"] is None:
            return items
        after = body["next_after"]


def test_streamed_upload_ingests_with_row_errors_results_and_report(
    client: httpx.Client, ingest_worker: None
) -> None:
    count, bad_every = 1200, 40
    response = post_csv(client, csvgen.csv_chunks(count, bad_every, delimiter=";"), chunk_rows=200)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "UPLOADED" and accepted["queued"] is True
    assert accepted["delimiter"] == ";" and accepted["encoding"] == "utf-8"
    assert accepted["group_columns"] == ["school", "class", "student"]

    batch = wait_ingested(client, accepted["id"])
    valid = csvgen.valid_count(count, bad_every)
    assert batch["status"] == "PROCESSING"
    assert (batch["rows_total"], batch["rows_accepted"], batch["rows_rejected"]) == (
        count,
        valid,
        count - valid,
    )
    assert batch["progress_percent"] == 0.0

    errors = all_errors(client, batch["id"])
    assert [e["row"] for e in errors] == [n for n in range(1, count + 1) if n % bad_every == 0]
    assert {e["code"] for e in errors} == {"empty_text", "bad_prompt_id"}
    assert all(e["line"] >= e["row"] + 1 for e in errors)

    export = client.get(f"/v1/batches/{batch['id']}/results.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert len(rows) == valid
    assert [int(r["row"]) for r in rows] == sorted(int(r["row"]) for r in rows)
    assert rows[0]["school"] and rows[0]["status"] == "PENDING" and rows[0]["C1"] == ""

    report = client.get(f"/v1/batches/{batch['id']}/report", params={"group_by": "school"})
    assert report.status_code == 200
    assert report.json()["essays"] == 0 and report.json()["groups"] == []
    bad_group = client.get(f"/v1/batches/{batch['id']}/report", params={"group_by": "nope"})
    assert bad_group.status_code == 422 and bad_group.json()["error"]["field"] == "group_by"


def test_multipart_upload(client: httpx.Client, ingest_worker: None) -> None:
    data = f"text,class\n{ESSAY},3A\n{ESSAY},3B\n".encode()
    response = client.post("/v1/batches", files={"file": ("turma.csv", data, "text/csv")})
    assert response.status_code == 202, response.text
    assert response.json()["filename"] == "turma.csv"
    batch = wait_ingested(client, response.json()["id"])
    assert batch["rows_accepted"] == 2


REFUSED = [
    ("missing header", b"escola,turma\nA,B\n", 422, "missing_column", 1),
    ("wrong delimiter", f"text|school\n{ESSAY}|A\n".encode(), 422, "missing_column", 1),
    ("unknown column", f"text,titel\n{ESSAY},x\n".encode(), 422, "unknown_column", 1),
    ("binary garbage", bytes(range(256)) * 64, 415, "binary_file", 1),
    ("empty body", b"", 422, "empty_file", 1),
    ("header quote never closes", b'"text,school\n' + b"x" * 70_000, 422, "invalid_header", 1),
    ("utf-16", "text\nabc\n".encode("utf-16"), 415, "unsupported_encoding", 1),
]


@pytest.mark.parametrize(("name", "data", "status", "code", "line"), REFUSED)
def test_refused_files_say_what_and_where_and_leave_no_batch(
    client: httpx.Client, name: str, data: bytes, status: int, code: str, line: int
) -> None:
    before = len(client.get("/v1/batches", params={"limit": 100}).json())
    response = post_csv(client, data)
    assert response.status_code == status, (name, response.text)
    error = response.json()["error"]
    assert error["code"] == code, name
    assert error["details"]["line"] == line and "column" in error["details"]
    assert error["message"] and error["field"]
    assert len(client.get("/v1/batches", params={"limit": 100}).json()) == before


def test_unsupported_content_type(client: httpx.Client) -> None:
    response = client.post("/v1/batches", json={"text": ESSAY})
    assert response.status_code == 415
    assert response.json()["error"]["field"] == "Content-Type"


ROW_PROBLEMS = [
    ("10 MB single field", f"text,school\n{'y' * 10_000_000},A\n{ESSAY},B\n".encode()),
    ("quote that never closes", f'text,school\n{ESSAY},A\n"aberta,B\n{ESSAY},C\n'.encode()),
    (
        "mixed encodings",
        f"text,school\n{ESSAY},São Paulo\n".encode()
        + "Texto,Goiânia\n".encode("latin-1")
        + f"{ESSAY},Belém\n".encode(),
    ),
]


@pytest.mark.parametrize(("name", "data"), ROW_PROBLEMS)
def test_bad_rows_become_row_errors_not_failures(
    client: httpx.Client, ingest_worker: None, name: str, data: bytes
) -> None:
    response = post_csv(client, data)
    assert response.status_code == 202, (name, response.text)
    batch = wait_ingested(client, response.json()["id"])
    assert batch["status"] == "PROCESSING", name
    assert batch["rows_rejected"] == 1 and batch["rows_accepted"] >= 1, name
    (error,) = all_errors(client, batch["id"])
    assert error["line"] in (2, 3) and error["message"], name


def test_latin1_file_is_declared(client: httpx.Client, ingest_worker: None) -> None:
    response = post_csv(client, f"text;escola\n{ESSAY};São Paulo\n".encode("latin-1"))
    assert response.status_code == 202
    assert response.json()["encoding"] == "latin-1"
    batch = wait_ingested(client, response.json()["id"])
    export = client.get(f"/v1/batches/{batch['id']}/results.csv").text
    assert "São Paulo" in export


def test_other_tenants_cannot_see_a_batch(client: httpx.Client, platform: Platform) -> None:
    response = post_csv(client, f"text\n{ESSAY}\n".encode())
    batch_id = response.json()["id"]
    anonymous = httpx.get(f"{platform.base_url}/v1/batches/{batch_id}")
    assert anonymous.status_code == 401
    assert client.get("/v1/batches/does-not-exist").status_code == 404


def test_elysia_upload_splits_and_sends_each_part(
    client: httpx.Client,
    platform: Platform,
    api_key: str,
    ingest_worker: None,
    tmp_path: Any,
) -> None:
    path = tmp_path / "turma.csv"
    path.write_bytes(csvgen.csv_bytes(600, 100))
    done = subprocess.run(
        [*ELYSIA, "upload", str(path), "--split", "250", "--json"],
        env={**os.environ, "ELYSIA_API_URL": platform.base_url, "ELYSIA_API_KEY": api_key},
        capture_output=True,
        timeout=120,
        check=True,
    )
    created = json.loads(done.stdout)["batches"]
    assert len(created) == 3
    ingested = [wait_ingested(client, b["id"]) for b in created]
    assert [b["rows_total"] for b in ingested] == [250, 250, 100]
    assert sum(b["rows_accepted"] for b in ingested) == csvgen.valid_count(600, 100)


def test_elysia_upload_wait_follows_a_batch_to_its_end(
    platform: Platform, api_key: str, ingest_worker: None, tmp_path: Any
) -> None:
    """Only rejected rows: nothing to analyse, so the batch completes once ingested."""
    path = tmp_path / "vazias.csv"
    path.write_bytes(b'text,school\n ,A\n"",B\n')
    done = subprocess.run(
        [*ELYSIA, "upload", str(path), "--wait", "--poll", "0.2", "--json"],
        env={**os.environ, "ELYSIA_API_URL": platform.base_url, "ELYSIA_API_KEY": api_key},
        capture_output=True,
        timeout=120,
        check=True,
    )
    (result,) = json.loads(done.stdout)["reports"]
    assert result["batch"]["status"] == "COMPLETED"
    assert (result["batch"]["rows_rejected"], result["batch"]["rows_accepted"]) == (2, 0)
    assert result["report"]["essays"] == 0


def test_batch_analysed_end_to_end_gives_results_and_report(
    client: httpx.Client, platform: Platform
) -> None:
    """Every dimension worker running: the batch completes, the export and report carry scores."""
    empty_queues(platform.settings)  # earlier tests' essays are not meant to be analysed
    platform.start_worker(name="worker-all")  # --all: dimensions, consolidate and ingest
    rows = list(csvgen.rows(3))
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\n")
    writer.writerow(["text", "school"])
    writer.writerows(
        [[r[1], school] for r, school in zip(rows, ["Sol", "Sol", "Lua"], strict=True)]
    )
    response = post_csv(client, body.getvalue().encode())
    assert response.status_code == 202
    batch_id = response.json()["id"]

    def completed() -> dict[str, Any] | None:
        batch: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        return batch if batch["status"] == "COMPLETED" else None

    batch = wait_for(completed, 600, interval=1.0, what="batch analysed")
    assert batch["essays_completed"] == 3 and batch["progress_percent"] == 100.0
    export = list(
        csv.DictReader(io.StringIO(client.get(f"/v1/batches/{batch_id}/results.csv").text))
    )
    assert [r["school"] for r in export] == ["Sol", "Sol", "Lua"]
    for row in export:
        assert row["status"] in {"COMPLETED", "PARTIAL"}
        levels = [int(row[c]) for c in ("C1", "C2", "C3", "C4", "C5")]
        assert sum(levels) == int(row["total"]) and all(v in range(0, 201, 40) for v in levels)
    report = client.get(f"/v1/batches/{batch_id}/report", params={"group_by": "school"}).json()
    assert report["essays"] == 3
    scored = [int(r["total"]) for r in export]
    assert report["scores"]["total"]["n"] == 3
    assert report["scores"]["total"]["mean"] == round(sum(scored) / 3, 2)
    assert sum(report["scores"]["c1"]["distribution"].values()) == 3
    assert {g["value"]: g["essays"] for g in report["groups"]} == {"Lua": 1, "Sol": 2}


def test_killed_ingestion_resumes_with_one_essay_per_valid_row(
    client: httpx.Client, platform: Platform, api_settings: Settings
) -> None:
    for proc in platform.workers:  # this test's worker must be the only one ingesting
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    count, bad_every = 4000, 25
    response = post_csv(client, csvgen.csv_bytes(count, bad_every), chunk_rows=20)
    assert response.status_code == 202
    batch_id = response.json()["id"]
    worker = platform.start_worker("ingest", name="ingest-doomed")
    with MongoClient(api_settings.mongodb_uri) as mongo:
        db = mongo[api_settings.mongodb_db]

        def resume_row() -> int:
            return int((db.batches.find_one({"_id": batch_id}) or {}).get("resume_row", 0))

        wait_for(lambda: resume_row() >= 400, 120, interval=0.02, what="ingestion half-way")
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        halfway = client.get(f"/v1/batches/{batch_id}").json()
        assert halfway["status"] == "INGESTING", "the worker finished before it was killed"
        assert 0 < halfway["rows_total"] < count

        resumed = client.post(f"/v1/batches/{batch_id}/resume")
        assert resumed.status_code == 202, resumed.text
        platform.start_worker("ingest", name="ingest-resumer")
        batch = wait_ingested(client, batch_id, timeout=180)
        valid = csvgen.valid_count(count, bad_every)
        assert (batch["rows_total"], batch["rows_accepted"], batch["rows_rejected"]) == (
            count,
            valid,
            count - valid,
        )
        assert db.essays.count_documents({"batch_id": batch_id}) == valid
        assert db.jobs.count_documents({"batch_id": batch_id}) == valid
        assert len(db.essays.distinct("row_number", {"batch_id": batch_id})) == valid
    assert len(all_errors(client, batch_id, limit=1000)) == count - valid
    again = client.post(f"/v1/batches/{batch_id}/resume")
    assert again.status_code == 409
