"""`elysia analyze`: every dimension in-process over a file of essays (the embedded mode)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.cli.app import app

console = Console()


@app.command()
def analyze(
    source: Annotated[str, typer.Argument(help="A .txt, .jsonl or .csv file of essays, or '-'.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write one JSON line per essay here.")
    ] = None,
    no_score: Annotated[bool, typer.Option("--no-score", help="Skip the scorer.")] = False,
) -> None:
    """Analyse essays on this machine (no servers) and print a summary table."""
    from services.analysis.pipeline import analyse_essay
    from services.cli.inputs import InputError, read_essays

    try:
        essays = list(read_essays(source))
    except InputError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from None
    rows: list[tuple[str, dict[str, object]]] = []
    sink = output.open("w", encoding="utf-8") if output else None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("analysing", total=len(essays))
            for item in essays:
                report = analyse_essay(item.essay, score=not no_score)
                record = {"id": item.id, **report.model_dump(mode="json")}
                rows.append((item.id, record))
                if sink:
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                progress.advance(task)
    finally:
        if sink:
            sink.close()
    console.print(summary_table(rows))
    if output:
        console.print(f"results written to {output}")


def summary_table(rows: list[tuple[str, dict[str, object]]]) -> Table:
    """One line per essay: words, issues per dimension, levels and total when scored."""
    table = Table(title="Elysia — análise das redações")
    for column in (
        "essay",
        "words",
        "issues",
        "C1",
        "C2",
        "C3",
        "C4",
        "C5",
        "total",
        "flags",
        "ms",
    ):
        table.add_column(column, justify="right" if column not in {"essay", "flags"} else "left")
    for essay_id, record in rows:
        results = record.get("results") or {}
        assert isinstance(results, dict)
        metrics = (results.get("metrics") or {}).get("metrics", {})
        issues = sum(len(r.get("issues", [])) for r in results.values())
        score = record.get("score") or {}
        assert isinstance(score, dict)
        levels = score.get("levels", {})
        table.add_row(
            essay_id,
            str(int(metrics.get("words", 0))),
            str(issues),
            *(str(levels.get(c, "-")) for c in ("c1", "c2", "c3", "c4", "c5")),
            str(score.get("total", "-")),
            ", ".join(score.get("flags", [])) or "-",
            f"{record.get('elapsed_ms', 0):.0f}",
        )
    return table
