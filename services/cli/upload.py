"""`elysia upload FILE.csv`: send a CSV of essays to the API as one or more batches.

The file is streamed from disk (never read whole), optionally split into parts of `--split` rows
at record boundaries (quote-aware, so a text with line breaks is never cut), each part sent as its
own batch with the header repeated. A part is re-readable by byte offsets, so a 429 or 5xx answer
is retried with exponential backoff (honouring `Retry-After`). `--wait` follows every batch to its
end and prints its report.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from services.cli.app import app

console = Console(stderr=True)
BLOCK = 256 * 1024
RETRY_STATUSES = {429, 500, 502, 503, 504}
_BOUNDARY = re.compile(rb'["\n]')


@dataclass(frozen=True)
class Part:
    """A slice of the file after its header: bytes [start, end) and how many records it holds."""

    start: int
    end: int
    rows: int


def header_end(path: Path) -> int:
    """Byte offset just past the header record (quotes may hide line breaks)."""
    return next(iter(_record_ends(path, 0)), path.stat().st_size)


def _record_ends(path: Path, offset: int) -> Iterator[int]:
    """Offsets just past each record's line break, from `offset` (`"` toggles quoting).

    Works on bytes for UTF-8 and Latin-1 alike: both encode `"` and `\\n` as single ASCII bytes.
    """
    quoted = False
    position = offset
    with path.open("rb") as handle:
        handle.seek(offset)
        while block := handle.read(BLOCK):
            for match in _BOUNDARY.finditer(block):
                if match.group() == b'"':
                    quoted = not quoted
                elif not quoted:
                    yield position + match.end()
            position += len(block)


def plan_parts(path: Path, rows_per_part: int) -> tuple[int, list[Part]]:
    """(header size, parts): one part for the whole body unless `rows_per_part` > 0."""
    size = path.stat().st_size
    head = header_end(path)
    if rows_per_part <= 0:
        return head, [Part(head, size, -1)]
    parts: list[Part] = []
    start, rows, last_end = head, 0, head
    for end in _record_ends(path, head):
        rows, last_end = rows + 1, end
        if rows == rows_per_part:
            parts.append(Part(start, end, rows))
            start, rows = end, 0
    if start < size:  # a last record without a final line break counts too
        parts.append(Part(start, size, rows + (1 if last_end < size else 0)))
    return head, parts


def part_chunks(
    path: Path, head: int, part: Part, advance: Callable[[int], None]
) -> Iterator[bytes]:
    """Header + the part's bytes, read lazily from disk (a retry simply reads them again)."""
    with path.open("rb") as handle:
        header = handle.read(head)
        yield header
        advance(len(header))
        handle.seek(part.start)
        remaining = part.end - part.start
        while remaining > 0:
            block = handle.read(min(BLOCK, remaining))
            if not block:
                return
            remaining -= len(block)
            advance(len(block))
            yield block


class UploadFailed(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"HTTP {status}: {json.dumps(body, ensure_ascii=False)}")
        self.status = status
        self.body = body


def backoff_delay(attempt: int, retry_after: str | None, base: float = 1.0) -> float:
    """Seconds before retry `attempt` (1-based): Retry-After if given, else base·2^(n-1), ≤ 60."""
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), 60.0)
    delay: float = base * math.pow(2.0, attempt - 1)
    return min(delay, 60.0)


def send_with_retries(
    send: Callable[[], Any], attempts: int, base_delay: float, sleep: Callable[[float], None]
) -> Any:
    """Call `send` (returning an httpx.Response) until it is not a 429/5xx or attempts run out."""
    import httpx

    for attempt in range(1, attempts + 1):
        try:
            response = send()
        except httpx.TransportError as exc:
            if attempt == attempts:
                raise
            delay = backoff_delay(attempt, None, base_delay)
            console.print(f"[yellow]network error ({exc}); retrying in {delay:.1f}s[/yellow]")
            sleep(delay)
            continue
        if response.status_code not in RETRY_STATUSES or attempt == attempts:
            return response
        delay = backoff_delay(attempt, response.headers.get("retry-after"), base_delay)
        console.print(f"[yellow]HTTP {response.status_code}; retrying in {delay:.1f}s[/yellow]")
        sleep(delay)
    raise AssertionError("unreachable")


def _error_body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV to send.")],
    url: Annotated[
        str, typer.Option(envvar="ELYSIA_API_URL", help="Gateway base URL.")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str, typer.Option(envvar="ELYSIA_API_KEY", help="A key with essays:write.")
    ] = "",
    split: Annotated[
        int, typer.Option(help="Rows per batch (0: the whole file as one batch).")
    ] = 0,
    chunk_rows: Annotated[int, typer.Option(help="Rows per bulk insert on the server.")] = 500,
    retries: Annotated[int, typer.Option(help="Attempts per batch on 429/5xx.")] = 6,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the batches to the end; print reports.")
    ] = False,
    poll: Annotated[float, typer.Option(help="Seconds between status polls.")] = 2.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Upload a CSV of essays (column `text` required) and optionally wait for the report."""
    import httpx

    if not api_key:
        raise typer.BadParameter("pass --api-key or set ELYSIA_API_KEY", param_hint="--api-key")
    head, parts = plan_parts(file, split)
    total_bytes = sum(head + p.end - p.start for p in parts)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "text/csv"}
    created: list[dict[str, Any]] = []
    with (
        httpx.Client(base_url=url, headers=headers, timeout=httpx.Timeout(60.0)) as client,
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=console,
            disable=as_json,
        ) as bar,
    ):
        task = bar.add_task(f"upload {file.name}", total=total_bytes)
        for index, part in enumerate(parts, start=1):
            sent = 0

            def advance(n: int) -> None:
                nonlocal sent
                sent += n
                bar.advance(task, n)

            def send(part: Part = part, index: int = index) -> Any:
                nonlocal sent
                bar.advance(task, -sent)  # a retry sends the part again
                sent = 0
                return client.post(
                    "/v1/batches",
                    params={"chunk_rows": chunk_rows, "filename": f"{file.name}#{index}"},
                    content=part_chunks(file, head, part, advance),
                )

            response = send_with_retries(send, retries, 1.0, time.sleep)
            if response.status_code != 202:
                raise UploadFailed(response.status_code, _error_body(response))
            created.append(response.json())
        if wait:
            reports = [_follow(client, b["id"], poll, bar) for b in created]
    if as_json:
        print(json.dumps({"batches": created, "reports": reports if wait else None}, default=str))
        return
    for batch in created:
        console.print(f"batch {batch['id']}: {batch['status_url']}")
    if wait:
        for report in reports:
            _print_report(report)


def _follow(client: Any, batch_id: str, poll: float, bar: Progress) -> dict[str, Any]:
    """Poll a batch until it ends, with a progress bar over its accepted rows; its report."""
    task = bar.add_task(f"batch {batch_id[:8]}", total=None)
    while True:
        response = send_with_retries(
            lambda: client.get(f"/v1/batches/{batch_id}"), 6, 1.0, time.sleep
        )
        if response.status_code != 200:
            raise UploadFailed(response.status_code, _error_body(response))
        batch = response.json()
        bar.update(
            task,
            total=batch["rows_accepted"] or None,
            completed=batch["essays_completed"],
            description=f"batch {batch_id[:8]} {batch['status'].lower()}",
        )
        if batch["status"] in {"COMPLETED", "FAILED"}:
            break
        time.sleep(poll)
    report = client.get(f"/v1/batches/{batch_id}/report")
    return {"batch": batch, "report": report.json() if report.status_code == 200 else None}


def _print_report(result: dict[str, Any]) -> None:
    from rich.table import Table

    batch, report = result["batch"], result["report"] or {}
    console.print(
        f"[bold]batch {batch['id']}[/bold] {batch['status']}: {batch['rows_accepted']} accepted, "
        f"{batch['rows_rejected']} rejected, {batch['essays_completed']} analysed"
    )
    table = Table("measure", "n", "mean", "median", "min", "max")
    for name, stats in (report.get("scores") or {}).items():
        table.add_row(name, *(str(stats.get(k, "")) for k in ("n", "mean", "median", "min", "max")))
    console.print(table)
    for item in (report.get("issue_categories") or [])[:5]:
        console.print(f"  {item['dimension']}/{item['category']}: {item['count']}")
