"""CSV batches: encoding detection, delimiter sniffing, header validation and a streaming reader.

Pure functions over bytes and text streams (no backend code), shared by the gateway (which checks
the first kilobytes before accepting an upload) and the ingestion worker (which streams the whole
file from object storage). Every problem carries where it is: the physical `line` where the record
starts, the 1-based `column` (field position) and the column name, so a teacher can fix the file.

Why these choices:
- Encoding: UTF-8 (BOM or not) is the norm; spreadsheets on Windows still export Latin-1, so a
  sample that is not UTF-8 and shows no valid multi-byte UTF-8 sequence is declared Latin-1. A
  sample with *both* valid UTF-8 and invalid bytes is a mixed file: it is read as UTF-8 with
  `surrogateescape`, and each row holding invalid bytes is rejected with its line and column
  instead of being silently mis-decoded.
- Memory: the text stream is read in pieces of at most `max_line_chars`, and the csv module's field
  limit is set per reader, so a 10 MB field or a quote that never closes costs a bounded buffer
  and becomes a per-row error, not an out-of-memory kill.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

REQUIRED_COLUMNS = ("text",)
OPTIONAL_COLUMNS = ("external_id", "title", "prompt_id", "language")
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
# Names the results export writes itself: a grouping column with one of them would be ambiguous.
RESERVED_COLUMNS = frozenset(
    {"row", "line", "essay_id", "job_id", "status", "total", "flags", "c1", "c2", "c3", "c4", "c5"}
)
DELIMITERS = (",", ";", "\t")
MAX_GROUP_COLUMNS = 20
SAMPLE_BYTES = 64 * 1024

GROUP_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_PROMPT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
_SURROGATE = re.compile("[\udc80-\udcff]")


class CsvFormatError(ValueError):
    """The file as a whole cannot be read (answered 4xx at upload): says what and where."""

    def __init__(
        self,
        code: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.field = field


@dataclass(frozen=True)
class CsvLayout:
    """How to read a file: its encoding, delimiter and (normalised) header."""

    encoding: str
    delimiter: str
    columns: tuple[str, ...]
    bom: bool = False

    @property
    def group_columns(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in KNOWN_COLUMNS)


@dataclass(frozen=True)
class RowLimits:
    """What a row may hold; `max_text_bytes` matches the single-essay API limit."""

    max_text_bytes: int = 50_000
    max_field_chars: int = 500

    @property
    def max_record_chars(self) -> int:
        """The csv module's field limit: past it a record is rejected without being buffered."""
        return self.max_text_bytes + 1024


@dataclass
class CsvRow:
    """A valid record: `row` is its 1-based position after the header, `line` where it starts."""

    row: int
    line: int
    text: str
    external_id: str | None = None
    title: str | None = None
    prompt_id: str | None = None
    language: str | None = None
    groups: dict[str, str] = field(default_factory=dict)


@dataclass
class RowError:
    """A rejected record, with the position a person needs to find and fix it."""

    row: int
    line: int
    code: str
    message: str
    column: int | None = None
    field: str | None = None
    end_line: int | None = None


# --- encoding -------------------------------------------------------------------------------


def detect_encoding(sample: bytes) -> tuple[str, bool]:
    """(Python codec, had a BOM) for a file, judged from its first bytes."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", True
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CsvFormatError(
            "unsupported_encoding", "UTF-16 files are not supported: save the CSV as UTF-8", 1, 1
        )
    nul = sample.find(b"\x00")
    if nul >= 0:
        line = sample.count(b"\n", 0, nul) + 1
        column = nul - (sample.rfind(b"\n", 0, nul) + 1) + 1
        raise CsvFormatError(
            "binary_file",
            f"the file contains NUL bytes (line {line}, character {column}): not a text CSV",
            line,
            column,
        )
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(sample) - 3:
            return "utf-8", False  # the sample cut a character in two; the file is UTF-8
        if _has_utf8_multibyte(sample):
            return "utf-8", False  # mixed: invalid rows are rejected one by one
        return "latin-1", False
    return "utf-8", False


def _has_utf8_multibyte(sample: bytes) -> bool:
    decoded = sample.decode("utf-8", errors="surrogateescape")
    return any(ord(ch) > 0x7F and not 0xDC80 <= ord(ch) <= 0xDCFF for ch in decoded)


def _check_binary(text: str) -> None:
    """Reject files that decode but are mostly control characters (images, zips, PDFs)."""
    if not text:
        return
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
    if controls > max(8, len(text) // 20):
        raise CsvFormatError(
            "binary_file", "the file looks binary (control characters): not a text CSV", 1, 1
        )


# --- header ---------------------------------------------------------------------------------


def _first_record(text: str, delimiter: str) -> list[str] | None:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return next(reader, None)
    except csv.Error:
        return None


def sniff_delimiter(header_text: str) -> str:
    """The delimiter among `, ; TAB` that splits the header into the most known columns.

    Ties go to the one giving most fields; a one-column header ("text") means comma.
    """
    best = ","
    best_key = (-1, -1)
    for delimiter in DELIMITERS:
        record = _first_record(header_text, delimiter)
        if record is None:
            continue
        names = [normalise_name(n) for n in record]
        key = (sum(1 for n in names if n in KNOWN_COLUMNS), len(names))
        if key > best_key:
            best, best_key = delimiter, key
    return best


def normalise_name(name: str) -> str:
    return name.strip().strip("\ufeff").strip().lower()


def validate_header(raw: list[str], delimiter: str) -> tuple[str, ...]:
    """The normalised column names, or a `CsvFormatError` naming the first bad header."""
    names = [normalise_name(n) for n in raw]
    for required in REQUIRED_COLUMNS:
        if required not in names:
            shown = delimiter if delimiter != "\t" else "TAB"
            raise CsvFormatError(
                "missing_column",
                f"the header has no {required!r} column (read {len(names)} column(s) "
                f"{names[:6]} with delimiter {shown!r}; supported delimiters: ',' ';' TAB)",
                1,
                None,
                required,
            )
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if not name:
            raise CsvFormatError(
                "invalid_header", f"column {index} of the header has no name", 1, index
            )
        if name in seen:
            raise CsvFormatError(
                "invalid_header",
                f"column {name!r} appears twice in the header (columns {seen[name]} and {index})",
                1,
                index,
                name,
            )
        seen[name] = index
        if name in KNOWN_COLUMNS:
            continue
        close = difflib.get_close_matches(name, KNOWN_COLUMNS, n=1, cutoff=0.75)
        if close or name in RESERVED_COLUMNS or not GROUP_NAME.match(name):
            hint = f"; did you mean {close[0]!r}?" if close else ""
            why = (
                " (reserved by the results export)"
                if name in RESERVED_COLUMNS
                else " (grouping columns are letters, digits, '_' or '-')"
                if not close
                else ""
            )
            raise CsvFormatError(
                "unknown_column",
                f"unknown column {raw[index - 1]!r} in the header at column {index}{why}{hint}",
                1,
                index,
                name,
            )
    groups = [n for n in names if n not in KNOWN_COLUMNS]
    if len(groups) > MAX_GROUP_COLUMNS:
        raise CsvFormatError(
            "too_many_columns",
            f"{len(groups)} grouping columns; at most {MAX_GROUP_COLUMNS} are allowed",
            1,
            len(names),
        )
    return tuple(names)


def inspect_sample(sample: bytes) -> CsvLayout:
    """Encoding, delimiter and header of a file from its first bytes (the gateway's check)."""
    if not sample.strip():
        raise CsvFormatError("empty_file", "the file is empty", 1, 1)
    encoding, bom = detect_encoding(sample)
    text = sample.decode(encoding, errors="surrogateescape")
    _check_binary(text[:8192])
    header_end = _header_end(text)
    if header_end is None:
        raise CsvFormatError(
            "invalid_header",
            f"no complete header record in the first {len(sample)} bytes "
            "(a quote that never closes, or no line break)",
            1,
            None,
        )
    header_text = text[:header_end]
    delimiter = sniff_delimiter(header_text)
    bad = _SURROGATE.search(header_text)
    if bad:
        column = header_text.count(delimiter, 0, bad.start()) + 1
        raise CsvFormatError("invalid_encoding", "the header is not valid UTF-8", 1, column)
    record = _first_record(header_text, delimiter)
    if record is None:
        raise CsvFormatError("invalid_header", "the header is not a valid CSV record", 1, None)
    columns = validate_header(record, delimiter)
    return CsvLayout(encoding=encoding, delimiter=delimiter, columns=columns, bom=bom)


def _header_end(text: str) -> int | None:
    """Offset just past the header record (quotes may hide line breaks), or None."""
    quoted = False
    for index, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            return index + 1
    return None if quoted or len(text) >= SAMPLE_BYTES - 4 else len(text)


# --- rows -----------------------------------------------------------------------------------


class _Pieces:
    """Physical lines of a text stream in pieces of at most `limit` chars, counting lines.

    `line` is the number of the line the next piece belongs to; `at_line_start` says whether the
    last piece ended a physical line (so a failed record can be skipped to the end of its line).
    """

    def __init__(self, stream: IO[str], limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.line = 1
        self.at_line_start = True

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        piece = self.stream.readline(self.limit)
        if not piece:
            raise StopIteration
        self.at_line_start = piece.endswith(("\n", "\r"))
        if self.at_line_start:
            self.line += 1
        return piece

    def skip_rest_of_line(self) -> None:
        while not self.at_line_start:
            try:
                next(self)
            except StopIteration:
                return


def text_stream(chunks: Iterable[bytes], encoding: str) -> IO[str]:
    """A text stream over byte chunks (S3 body, upload), decoded lazily; bad bytes survive as
    surrogates so the reader can reject the row that holds them."""
    raw = _ChunkReader(iter(chunks))
    buffered = io.BufferedReader(raw, buffer_size=64 * 1024)
    return io.TextIOWrapper(buffered, encoding=encoding, errors="surrogateescape", newline="")


class _ChunkReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self.pending:
            try:
                self.pending = next(self.chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def read_rows(
    stream: IO[str], layout: CsvLayout, limits: RowLimits | None = None
) -> Iterator[CsvRow | RowError]:
    """Every data record after the header, validated, in file order.

    Structural problems (a field past the limit, a quote that never closes, a stray quote) reject
    the record that holds them and reading resumes at the next physical line.
    """
    limits = limits or RowLimits()
    pieces = _Pieces(stream, limits.max_record_chars + 2)
    old_limit = csv.field_size_limit()
    csv.field_size_limit(limits.max_record_chars)
    try:
        reader = csv.reader(pieces, delimiter=layout.delimiter, strict=True)
        header_line = pieces.line
        try:
            next(reader)  # the header, validated at upload
        except csv.Error as exc:
            raise CsvFormatError("invalid_header", f"header: {exc}", header_line) from None
        except StopIteration:
            return
        row = 0
        while True:
            start = pieces.line
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                row += 1
                yield _structural_error(row, start, pieces.line, str(exc), limits)
                pieces.skip_rest_of_line()
                continue
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line: not a row
            row += 1
            yield validate_record(row, start, record, layout, limits)
    finally:
        csv.field_size_limit(old_limit)


def _structural_error(row: int, start: int, end: int, reason: str, limits: RowLimits) -> RowError:
    if "field larger than field limit" in reason:
        return RowError(
            row,
            start,
            "field_too_large",
            f"a field starting on line {start} exceeds {limits.max_record_chars} characters "
            f"(read up to line {end}; a quote that never closes?)",
            end_line=end,
        )
    if "unexpected end of data" in reason:
        return RowError(
            row,
            start,
            "unclosed_quote",
            f"the quote opened in the record on line {start} never closes (end of file)",
            end_line=end,
        )
    return RowError(row, start, "malformed_row", f"malformed CSV on line {start}: {reason}")


def validate_record(
    row: int, line: int, record: list[str], layout: CsvLayout, limits: RowLimits
) -> CsvRow | RowError:
    """One record against the header and the limits; the first problem found is reported."""
    columns = layout.columns
    if len(record) != len(columns):
        return RowError(
            row,
            line,
            "wrong_field_count",
            f"line {line} has {len(record)} field(s), the header has {len(columns)}",
            column=min(len(record), len(columns)) + 1,
        )
    values = dict(zip(columns, record, strict=True))
    for index, name in enumerate(columns, start=1):
        bad = _SURROGATE.search(values[name])
        if bad:
            return RowError(
                row,
                line,
                "invalid_encoding",
                f"column {name!r} has bytes that are not UTF-8 at character {bad.start() + 1}",
                column=index,
                field=name,
            )
    text_col = columns.index("text") + 1
    text = values["text"]
    if not text.strip():
        return RowError(row, line, "empty_text", "text is empty", text_col, "text")
    size = len(text.encode("utf-8"))
    if size > limits.max_text_bytes:
        return RowError(
            row,
            line,
            "text_too_long",
            f"text is {size} bytes of UTF-8; the limit is {limits.max_text_bytes}",
            text_col,
            "text",
        )
    if "\x00" in text:
        return RowError(row, line, "invalid_text", "text contains NUL characters", text_col, "text")
    problem = _check_fields(values, columns, limits)
    if problem is not None:
        code, message, name = problem
        return RowError(row, line, code, message, columns.index(name) + 1, name)
    return CsvRow(
        row=row,
        line=line,
        text=text,
        external_id=values.get("external_id", "").strip() or None,
        title=values.get("title", "").strip() or None,
        prompt_id=values.get("prompt_id", "").strip() or None,
        language=values.get("language", "").strip() or None,
        groups={g: values[g].strip() for g in layout.group_columns if values[g].strip()},
    )


def _check_fields(
    values: dict[str, str], columns: tuple[str, ...], limits: RowLimits
) -> tuple[str, str, str] | None:
    for name in columns:
        if name == "text":
            continue
        value = values[name].strip()
        if len(value) > limits.max_field_chars:
            return (
                "field_too_long",
                f"{name} has {len(value)} characters; the limit is {limits.max_field_chars}",
                name,
            )
    prompt_id = values.get("prompt_id", "").strip()
    if prompt_id and not _PROMPT_ID.match(prompt_id):
        return (
            "bad_prompt_id",
            f"prompt_id {prompt_id[:40]!r} must be 1-200 letters, digits or '_.:-'",
            "prompt_id",
        )
    language = values.get("language", "").strip()
    if language and not _LANGUAGE.match(language):
        return ("bad_language", f"language {language[:20]!r} is not a tag like 'pt-BR'", "language")
    return None
