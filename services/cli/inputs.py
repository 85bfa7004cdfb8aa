"""Reading essays for the embedded commands: a .txt file, JSON lines, or a CSV (or stdin).

Errors name the file and the line, because these files come from people: "line 12: not JSON"
is actionable, a traceback is not.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.analysis.results import EssayInput


class InputError(ValueError):
    """A precise complaint about an input file (file, line, what is wrong)."""


@dataclass(frozen=True)
class InputEssay:
    id: str
    essay: EssayInput


def _row_essay(row: dict[str, object], where: str, default_id: str) -> InputEssay:
    text = row.get("text")
    if not isinstance(text, str):
        raise InputError(f"{where}: missing 'text' (a string)")

    def opt(name: str) -> str | None:
        value = row.get(name)
        return str(value) if value not in (None, "") else None

    essay = EssayInput(
        text=text,
        title=opt("title"),
        prompt_text=opt("prompt_text"),
        prompt_id=opt("prompt_id"),
        language=opt("language") or "pt-BR",
    )
    return InputEssay(id=opt("id") or opt("external_id") or default_id, essay=essay)


def _jsonl(stream: io.TextIOBase, name: str) -> Iterator[InputEssay]:
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{name}:{number}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise InputError(f"{name}:{number}: expected a JSON object")
        yield _row_essay(row, f"{name}:{number}", default_id=str(number))


def _csv(stream: io.TextIOBase, name: str) -> Iterator[InputEssay]:
    reader = csv.DictReader(stream)
    if reader.fieldnames is None or "text" not in reader.fieldnames:
        raise InputError(f"{name}:1: the header must have a 'text' column")
    for row in reader:
        yield _row_essay(dict(row), f"{name}:{reader.line_num}", default_id=str(reader.line_num))


def read_essays(path: str) -> Iterator[InputEssay]:
    """Essays from `path` ('-' is stdin, read as JSON lines unless it does not start with '{')."""
    if path == "-":
        data = sys.stdin.read()
        stream = io.StringIO(data)
        if data.lstrip().startswith("{"):
            yield from _jsonl(stream, "<stdin>")
        else:
            yield InputEssay(id="stdin", essay=EssayInput(text=data))
        return
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path}: no such file")
    suffix = file.suffix.lower()
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            if suffix in {".jsonl", ".ndjson", ".json"}:
                yield from _jsonl(handle, path)
            elif suffix == ".csv":
                yield from _csv(handle, path)
            else:
                yield InputEssay(id=file.stem, essay=EssayInput(text=handle.read()))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 (byte {exc.start})") from None
