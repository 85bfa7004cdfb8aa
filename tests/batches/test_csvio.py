"""csvio: encoding, delimiter, header and row validation on crafted files (pure, no servers)."""

from __future__ import annotations

import io

import pytest

from services.core.csvio import (
    CsvFormatError,
    CsvLayout,
    CsvRow,
    RowError,
    RowLimits,
    detect_encoding,
    inspect_sample,
    read_rows,
    text_stream,
)

ESSAY = "A educação é um direito de todos."


def rows_of(data: bytes, limits: RowLimits | None = None) -> list[CsvRow | RowError]:
    layout = inspect_sample(data[:65536])
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]  # tiny chunks: split characters
    return list(read_rows(text_stream(chunks, layout.encoding), layout, limits))


def test_utf8_with_and_without_bom() -> None:
    plain = f"text,school\n{ESSAY},A\n".encode()
    assert detect_encoding(plain) == ("utf-8", False)
    assert detect_encoding(b"\xef\xbb\xbf" + plain) == ("utf-8-sig", True)
    rows = rows_of(b"\xef\xbb\xbf" + plain)
    assert isinstance(rows[0], CsvRow)
    assert rows[0].text == ESSAY and rows[0].groups == {"school": "A"}


def test_latin1_fallback_is_declared_and_decoded() -> None:
    data = f"text;escola\n{ESSAY};São Paulo\n".encode("latin-1")
    layout = inspect_sample(data)
    assert layout.encoding == "latin-1" and layout.delimiter == ";"
    row = rows_of(data)[0]
    assert isinstance(row, CsvRow) and row.text == ESSAY and row.groups == {"escola": "São Paulo"}


def test_sample_cut_inside_a_character_is_still_utf8() -> None:
    data = "text\nação".encode()
    assert detect_encoding(data[:-1]) == ("utf-8", False)


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_delimiter_sniffing(delimiter: str, name: str) -> None:
    data = f"external_id{delimiter}text{delimiter}class\n1{delimiter}{ESSAY}{delimiter}3A\n"
    layout = inspect_sample(data.encode())
    assert layout.delimiter == delimiter, name
    assert layout.columns == ("external_id", "text", "class")
    assert layout.group_columns == ("class",)


def test_missing_text_column_names_it_and_the_delimiter() -> None:
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(b"title,school\nx,y\n")
    assert info.value.code == "missing_column" and info.value.field == "text"
    assert info.value.line == 1


def test_wrong_delimiter_is_a_missing_text_column() -> None:
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(b"text|school\nabc|A\n")
    assert info.value.code == "missing_column"
    assert "text|school" in info.value.message


def test_unknown_column_close_to_a_known_one_is_refused_with_a_hint() -> None:
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(b"text,titel,school\na,b,c\n")
    assert info.value.code == "unknown_column"
    assert info.value.column == 2 and "did you mean 'title'" in info.value.message


def test_reserved_and_invalid_group_names_are_unknown_columns() -> None:
    for header, column in ((b"text,total\n", 2), (b"text,school,nota final!\n", 3)):
        with pytest.raises(CsvFormatError) as info:
            inspect_sample(header + b"a,b\n")
        assert info.value.code == "unknown_column" and info.value.column == column


def test_duplicate_and_empty_header_names() -> None:
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(b"text,school,school\n")
    assert info.value.code == "invalid_header" and info.value.column == 3
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(b"text,,school\n")
    assert info.value.column == 2


def test_binary_garbage_and_empty_files() -> None:
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert info.value.code == "binary_file"
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(bytes(range(1, 32)) * 40)
    assert info.value.code == "binary_file"
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(b"  \n")
    assert info.value.code == "empty_file"


def test_header_quote_that_never_closes() -> None:
    with pytest.raises(CsvFormatError) as info:
        inspect_sample(b'"text,school\nabc,def\n')
    assert info.value.code == "invalid_header"


def test_row_errors_carry_line_and_column() -> None:
    data = (
        "text,prompt_id,language,school\n"  # line 1
        f'"{ESSAY}\nsegunda linha",p1,pt-BR,A\n'  # lines 2-3: one record
        ",p1,pt-BR,A\n"  # line 4: empty text
        f"{ESSAY},bad id!,pt-BR,A\n"  # line 5
        f"{ESSAY},p1,portuguese,A\n"  # line 6
        f"{ESSAY},p1\n"  # line 7: too few fields
        "\n"  # line 8: blank, not a row
        f"{ESSAY},p2,,B\n"  # line 9
    ).encode()
    rows = rows_of(data)
    assert [type(r).__name__ for r in rows] == [
        "CsvRow",
        "RowError",
        "RowError",
        "RowError",
        "RowError",
        "CsvRow",
    ]
    first, empty, prompt, lang, short, last = rows
    assert isinstance(first, CsvRow) and first.line == 2 and first.text.endswith("segunda linha")
    assert isinstance(empty, RowError)
    assert (empty.row, empty.line, empty.code, empty.column) == (2, 4, "empty_text", 1)
    assert isinstance(prompt, RowError)
    assert (prompt.line, prompt.code, prompt.column, prompt.field) == (
        5,
        "bad_prompt_id",
        2,
        "prompt_id",
    )
    assert isinstance(lang, RowError) and (lang.line, lang.code) == (6, "bad_language")
    assert isinstance(short, RowError) and (short.line, short.code) == (7, "wrong_field_count")
    assert isinstance(last, CsvRow)
    assert (last.row, last.line, last.groups) == (6, 9, {"school": "B"})


def test_text_too_long_is_a_row_error() -> None:
    limits = RowLimits(max_text_bytes=100)
    data = f"text\n{'x' * 101}\n{ESSAY}\n".encode()
    rows = rows_of(data, limits)
    assert isinstance(rows[0], RowError) and rows[0].code == "text_too_long"
    assert isinstance(rows[1], CsvRow) and rows[1].line == 3


def test_huge_field_is_rejected_and_reading_resumes_on_the_next_line() -> None:
    limits = RowLimits(max_text_bytes=1000)
    data = ("text,school\n" + "y" * 3_000_000 + ",A\n" + f"{ESSAY},B\n").encode()
    rows = rows_of(data, limits)
    assert isinstance(rows[0], RowError) and rows[0].code == "field_too_large"
    assert rows[0].line == 2
    assert isinstance(rows[1], CsvRow) and rows[1].line == 3 and rows[1].groups == {"school": "B"}


def test_quote_that_never_closes_is_a_row_error() -> None:
    data = f'text,school\n{ESSAY},A\n"aberta e nunca fechada,B\n{ESSAY},C\n'.encode()
    rows = rows_of(data)
    assert isinstance(rows[0], CsvRow)
    assert isinstance(rows[1], RowError) and rows[1].code == "unclosed_quote"
    assert rows[1].line == 3


def test_stray_quote_is_a_malformed_row_and_the_next_line_still_reads() -> None:
    data = f'text,school\n"abc"def,A\n{ESSAY},B\n'.encode()
    rows = rows_of(data)
    assert isinstance(rows[0], RowError) and rows[0].code == "malformed_row" and rows[0].line == 2
    assert isinstance(rows[1], CsvRow) and rows[1].line == 3


def test_mixed_encodings_reject_only_the_latin1_row() -> None:
    data = (
        b"text,school\n"
        + f"{ESSAY},São Paulo\n".encode()
        + "Texto simples,Goiânia\n".encode("latin-1")
        + f"{ESSAY},Belém\n".encode()
    )
    assert detect_encoding(data) == ("utf-8", False)
    rows = rows_of(data)
    assert isinstance(rows[0], CsvRow) and rows[0].groups == {"school": "São Paulo"}
    assert isinstance(rows[1], RowError)
    assert (rows[1].line, rows[1].code, rows[1].column, rows[1].field) == (
        3,
        "invalid_encoding",
        2,
        "school",
    )
    assert isinstance(rows[2], CsvRow) and rows[2].line == 4


def test_crlf_line_numbers() -> None:
    data = f"text\r\n{ESSAY}\r\n\r\n{ESSAY}\r\n".encode()
    rows = rows_of(data)
    assert [(r.row, r.line) for r in rows] == [(1, 2), (2, 4)]


def test_reader_over_a_plain_string_stream() -> None:
    layout = CsvLayout(encoding="utf-8", delimiter=",", columns=("text",))
    rows = list(read_rows(io.StringIO(f"text\n{ESSAY}\n", newline=""), layout))
    assert len(rows) == 1 and isinstance(rows[0], CsvRow)
