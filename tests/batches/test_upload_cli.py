"""`elysia upload` pure parts: quote-aware splitting, part streaming, retries with backoff."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.cli.upload import (
    backoff_delay,
    header_end,
    part_chunks,
    plan_parts,
    send_with_retries,
)


def write(tmp_path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path = tmp_path / "essays.csv"
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def records(data: bytes, encoding: str = "utf-8") -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode(encoding), newline="")))


def test_split_never_cuts_a_quoted_text(tmp_path: Path) -> None:
    rows = [["text", "school"]] + [[f'linha 1\nlinha 2 "aspas", {n}', f"E{n}"] for n in range(7)]
    path = write(tmp_path, rows)
    head, parts = plan_parts(path, 3)
    assert head == len(b"text,school\n") == header_end(path)
    assert [p.rows for p in parts] == [3, 3, 1]
    seen: list[list[str]] = []
    for part in parts:
        data = b"".join(part_chunks(path, head, part, lambda n: None))
        got = records(data)
        assert got[0] == ["text", "school"]
        seen += got[1:]
    assert seen == rows[1:]


def test_latin1_split_and_whole_file(tmp_path: Path) -> None:
    rows = [["text", "escola"]] + [[f"redação {n}", "São Paulo"] for n in range(5)]
    path = write(tmp_path, rows, "latin-1")
    head, parts = plan_parts(path, 0)
    assert len(parts) == 1
    sent: list[int] = []
    data = b"".join(part_chunks(path, head, parts[0], sent.append))
    assert data == path.read_bytes() and sum(sent) == len(data)
    _, split = plan_parts(path, 2)
    bodies = [b"".join(part_chunks(path, head, p, lambda n: None)) for p in split]
    assert [len(records(b, "latin-1")) - 1 for b in bodies] == [2, 2, 1]
    assert [p.rows for p in split] == [2, 2, 1]


def test_backoff_honours_retry_after_and_caps() -> None:
    assert backoff_delay(1, None) == 1.0
    assert backoff_delay(3, None) == 4.0
    assert backoff_delay(10, None) == 60.0
    assert backoff_delay(1, "7") == 7.0
    assert backoff_delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 1.0


def response(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, json={"ok": status < 400})


@pytest.mark.parametrize("statuses", [[429, 503, 202], [500, 502, 504, 202]])
def test_retries_429_and_5xx_until_accepted(statuses: list[int]) -> None:
    answers = iter([response(s, **{"Retry-After": "2"}) for s in statuses])
    slept: list[float] = []
    final = send_with_retries(lambda: next(answers), 6, 1.0, slept.append)
    assert final.status_code == 202
    assert slept == [2.0] * (len(statuses) - 1)


def test_does_not_retry_a_4xx_and_gives_up_after_the_attempts() -> None:
    calls: list[int] = []

    def refused() -> Any:
        calls.append(1)
        return response(422)

    assert send_with_retries(refused, 5, 1.0, lambda s: None).status_code == 422
    assert len(calls) == 1
    slept: list[float] = []
    busy = send_with_retries(lambda: response(503), 3, 0.5, slept.append)
    assert busy.status_code == 503 and slept == [0.5, 1.0]


def test_network_errors_are_retried() -> None:
    attempts = iter([httpx.ConnectError("refused"), response(202)])

    def flaky() -> Any:
        item = next(attempts)
        if isinstance(item, Exception):
            raise item
        return item

    assert send_with_retries(flaky, 3, 1.0, lambda s: None).status_code == 202
