"""`elysia score`: the JSONL interface the scorer is evaluated through."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from services.cli import app
from services.cli.scoring import InputError, read_score_input

ESSAY = (
    "A educação financeira ainda é negligenciada no Brasil, embora seja essencial para a "
    "autonomia dos cidadãos. Segundo o Banco Central, grande parte das famílias está endividada "
    "e não sabe planejar o orçamento doméstico.\n\n"
    "Em primeiro lugar, a escola brasileira raramente ensina a planejar gastos. Dessa forma, os "
    "jovens chegam à vida adulta sem saber lidar com o crédito, o que agrava o endividamento e "
    "compromete o futuro de muitas famílias de baixa renda.\n\n"
    "Além disso, a publicidade estimula o consumo imediato. Nesse sentido, como afirma Zygmunt "
    "Bauman, a sociedade líquida transforma o desejo em necessidade, e o salário não acompanha "
    "as compras parceladas no cartão de crédito.\n\n"
    "Portanto, cabe ao Ministério da Educação incluir a educação financeira no currículo, por meio "
    "de aulas práticas, a fim de formar cidadãos conscientes. Ademais, a mídia deve promover "
    "campanhas sobre o crédito responsável, para que as famílias planejem melhor o orçamento."
)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bad_json_line_is_reported_with_its_number(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "in.jsonl",
        [json.dumps({"id": "a", "text": ESSAY}), "", '{"id": "b", "text": "unterminated'],
    )
    result = CliRunner().invoke(app, ["score", str(src), "--output", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 2
    assert "line 3" in result.output and "invalid JSON" in result.output
    assert not (tmp_path / "out.jsonl").exists()


def test_input_validation_messages(tmp_path: Path) -> None:
    cases = {
        '{"id": "x"}': "line 1: missing field 'text'",
        '["not", "an object"]': "line 1: expected a JSON object",
        '{"id": "x", "text": 12}': "line 1: field 'text'",
    }
    for line, message in cases.items():
        src = _write(tmp_path / "in.jsonl", [line])
        try:
            read_score_input(src)
        except InputError as exc:
            assert message in str(exc)
        else:
            raise AssertionError(f"no error for {line!r}")
    dup = _write(tmp_path / "dup.jsonl", ['{"id": 1, "text": "a"}', '{"id": "1", "text": "b"}'])
    try:
        read_score_input(dup)
    except InputError as exc:
        assert "line 2: duplicate id" in str(exc)
    else:
        raise AssertionError("duplicate ids accepted")


def test_score_round_trip(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "in.jsonl",
        [
            json.dumps(
                {
                    "id": "full",
                    "text": ESSAY,
                    "prompt_text": "Os desafios da educação financeira no Brasil",
                    "prompt_id": "x-1",
                    "title": "Educação financeira",
                }
            ),
            json.dumps({"id": "blank", "text": ""}),
            json.dumps({"text": "Texto curto demais."}),
        ],
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["score", str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["full", "blank", "3"]
    for row in rows:
        levels = [row[c] for c in ("c1", "c2", "c3", "c4", "c5")]
        assert set(levels) <= {0, 40, 80, 120, 160, 200}
        assert row["total"] == sum(levels)
        assert isinstance(row["flags"], list) and isinstance(row["needs_human_review"], bool)
        assert set(row["confidence"]) == {"c1", "c2", "c3", "c4", "c5"}
    full, blank, short = rows
    assert not full["annulled"] and full["total"] > 0
    assert blank["annulled"] and "empty_text" in blank["flags"] and blank["total"] == 0
    assert short["annulled"] and "too_short" in short["flags"]
