"""Issue 11: `POST /v1/batches` fuzzed with hostile CSV files (Hypothesis), on the real gateway.

Files are generated from the ways real spreadsheets go wrong: random bytes, any delimiter,
quotes that never close, BOMs, Latin-1 and UTF-16, huge fields, missing/duplicate/unknown/empty
header names, and CRLF/LF/CR line ends; sent as a raw `text/csv` body or as a multipart form.
Every answer must be a 202 or a 4xx JSON `{"error": {"code", "message"}}` that, for a refused
file, says where (line and column). An ingest worker reads every accepted file; afterwards each
accepted batch must have left the ingestion states and neither process may have logged an error
or a traceback: a file the upload check lets through must not crash the reader behind it.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.core.config import Settings
from tests.conftest import make_test_settings
from tests.harness import Platform, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BOOTSTRAP = f"csvfuzz-boot-{os.getpid()}-{time.time_ns()}"
EXAMPLES = int(os.environ.get("ELYSIA_CSV_FUZZ_EXAMPLES", "600"))
MAX_CSV_BYTES = 1_000_000  # small, so the size limit (413) is reached by generated files too
KNOWN = ["text", "external_id", "title", "prompt_id", "language"]
# Refusals of the file itself: these must say where the problem is.
CSV_CODES = {
    "binary_file",
    "unsupported_encoding",
    "invalid_encoding",
    "missing_column",
    "invalid_header",
    "unknown_column",
    "too_many_columns",
    "empty_file",
}

ACCEPTED: list[str] = []
STATUSES: Counter[int] = Counter()
CODES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def csv_settings() -> Settings:
    return make_test_settings(
        queue_prefix=f"csvfz{os.getpid()}:",
        admin_bootstrap_key=BOOTSTRAP,
        max_csv_bytes=MAX_CSV_BYTES,
    )


@pytest.fixture(scope="module")
def csv_gateway(
    csv_settings: Settings, all_servers: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(csv_settings, tmp_path_factory.mktemp("csv-fuzz-logs"))
    try:
        running.start_gateway()
        running.start_worker("ingest", name="ingest")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def csv_client(csv_gateway: Platform) -> Iterator[httpx.Client]:
    created = httpx.post(
        f"{csv_gateway.base_url}/v1/tenants",
        headers={"X-API-Key": BOOTSTRAP},
        json={"name": "csv-fuzz", "limits": {"requests": 1_000_000, "max_pending": 1_000_000}},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]["key"]
    with httpx.Client(base_url=csv_gateway.base_url, headers={"X-API-Key": key}, timeout=60) as c:
        yield c


# --- what a CSV can look like ------------------------------------------------------------------

cell_text = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(",;\t|\"'\r\n ")),
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from(list("áéíóúãõçÁÉÍÓÚÃÕÇ")),
    ),
    max_size=60,
)
header_name = st.one_of(
    st.sampled_from([*KNOWN, *KNOWN, "school", "turma", "Text", " text ", "TEXT", ""]),
    cell_text,
)


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A file some spreadsheet, script or attacker could produce.

    Half start from a plausible file (a `text` column, a usual delimiter) so that the reader
    behind the upload check is reached too; the other half are hostile from the header on.
    """
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2000))
    if draw(st.booleans()):
        extra = ["external_id", "title", "prompt_id", "language", "school", "turma", "student"]
        header = ["text", *draw(st.lists(st.sampled_from(extra), unique=True, max_size=4))]
        header = draw(st.permutations(header))
        delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    else:
        header = draw(st.lists(header_name, min_size=0, max_size=8))
        delimiter = draw(st.sampled_from([",", ";", "\t", "|", ":", " "]) | st.characters())
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE]))
    width = max(len(header), 1)
    rows = draw(st.lists(st.lists(cell_text, min_size=0, max_size=width + 2), max_size=12))
    if draw(st.integers(0, 14)) == 0:  # a huge field: past the row limit or the file limit
        size = draw(st.sampled_from([60_000, 200_000, MAX_CSV_BYTES + 10]))
        rows.append(["x" * size])
    terminator = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = render(header, rows, delimiter, quoting, terminator)
    if draw(st.integers(0, 5)) == 0:  # a quote that never closes
        at = draw(st.integers(0, len(text)))
        text = text[:at] + '"' + text[at:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


def render(
    header: list[str], rows: list[list[str]], delimiter: str, quoting: int, terminator: str
) -> str:
    """Rows written by the csv module when it can; joined raw (no quoting at all) when not."""
    out = io.StringIO()
    try:
        writer = csv.writer(
            out, delimiter=delimiter, quoting=quoting, lineterminator=terminator, escapechar="\\"
        )
        for record in [header, *rows]:
            writer.writerow(record)
        return out.getvalue()
    except (csv.Error, TypeError, ValueError):
        return terminator.join(delimiter.join(record) for record in [header, *rows])


@st.composite
def uploads(draw: st.DrawFn) -> dict[str, Any]:
    """The request: raw body (several content types) or multipart (with or without a file)."""
    body = draw(csv_files())
    how = draw(st.sampled_from(["raw", "raw", "multipart", "multipart-no-file", "odd-type"]))
    if how == "raw":
        content_type = draw(st.sampled_from(["text/csv", "text/csv; charset=utf-8", "text/plain"]))
        return {"content": body, "headers": {"Content-Type": content_type}}
    if how == "odd-type":
        content_type = draw(st.sampled_from(["application/json", "image/png", "text/html", "x/y"]))
        return {"content": body, "headers": {"Content-Type": content_type}}
    name = draw(st.sampled_from(["essays.csv", "", "ção.csv", "../../etc/passwd", "a" * 400]))
    field = "file" if how == "multipart" else draw(st.sampled_from(["upload", "csv", "data"]))
    return {"files": {field: (name, body, "text/csv")}}


def check_answer(response: httpx.Response) -> None:
    STATUSES[response.status_code] += 1
    assert response.status_code < 500, response.text
    if response.status_code == 202:
        ACCEPTED.append(response.json()["id"])
        return
    assert 400 <= response.status_code < 500, response.status_code
    error = response.json()["error"]
    CODES[error["code"]] += 1
    assert isinstance(error["code"], str) and error["code"], response.text
    assert isinstance(error["message"], str) and error["message"], response.text
    if error["code"] in CSV_CODES:
        where = error.get("details") or {}
        assert isinstance(where.get("line"), int) and where["line"] >= 1, response.text
        assert "column" in where, response.text


def test_hostile_csv_uploads_get_a_clear_answer(csv_client: httpx.Client) -> None:
    @given(request=uploads())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def upload(request: dict[str, Any]) -> None:
        check_answer(csv_client.post("/v1/batches", **request))

    upload()
    print(
        f"CSV uploads: {sum(STATUSES.values())}, statuses {dict(STATUSES)}, refusals {dict(CODES)}"
    )
    assert STATUSES[202] > 0 and sum(v for k, v in STATUSES.items() if k >= 400) > 0, STATUSES


def test_known_bad_files_name_line_and_column(csv_client: httpx.Client) -> None:
    """Fixed cases the generator might reach only rarely, each with its precise refusal."""
    cases = {
        b"": "empty_file",
        b"title,external_id\nA,1\n": "missing_column",
        b"text,text\nA,B\n": "invalid_header",
        codecs.BOM_UTF16_LE + "text\nA\n".encode("utf-16-le"): "unsupported_encoding",
        b"text\n\x00\x01\x02\x03\x04\x05": "binary_file",
    }
    for body, code in cases.items():
        response = csv_client.post(
            "/v1/batches", content=body, headers={"Content-Type": "text/csv"}
        )
        assert response.status_code in (415, 422), (body, response.text)
        error = response.json()["error"]
        assert error["code"] == code, (body, response.text)
        assert error["details"]["line"] >= 1, response.text


def test_accepted_files_are_ingested_without_a_crash(
    csv_gateway: Platform, csv_client: httpx.Client
) -> None:
    """Every file the upload check let through is read to the end by the ingest worker."""
    assert ACCEPTED, "the fuzz test accepted no file (run it first, in the same session)"

    def unfinished() -> list[str]:
        pending = []
        for batch_id in ACCEPTED:
            status = csv_client.get(f"/v1/batches/{batch_id}").json()["status"]
            if status in ("UPLOADED", "INGESTING"):
                pending.append(batch_id)
        return pending

    wait_for(lambda: not unfinished(), timeout=240, interval=2, what="ingestion of fuzz batches")
    for name in ("gateway", "ingest"):
        log = (csv_gateway.log_dir / f"{name}.log").read_text(errors="replace")
        bad = [
            line
            for line in log.splitlines()
            if '"level": "ERROR"' in line or '"level": "CRITICAL"' in line or "Traceback" in line
        ]
        assert not bad, f"{name}: " + "\n".join(bad[:5])
