"""`elysia` commands: scoring (`elysia score`) and training (`elysia train`) of the ENEM scorer.

`elysia score` is the stable batch interface: JSONL in (`id`, `text`, optional `prompt_text`,
`prompt_id`, `title`), JSONL out (`id`, `c1`..`c5`, `total`, `annulled`, `flags`, `confidence`,
`needs_human_review`). Input is validated up front so a bad line is reported with its number
before any (slow) analysis starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import BaseModel, ConfigDict, ValidationError

from services.cli.app import app

if TYPE_CHECKING:
    from services.analysis.results import DimensionResult, EssayInput
    from services.analysis.scoring.types import Scorer, ScoreResult


class ScoreInputRow(BaseModel):
    """One input line of `elysia score`."""

    model_config = ConfigDict(extra="ignore")

    id: str | int | None = None
    text: str | None
    prompt_text: str | None = None
    prompt_id: str | int | None = None
    title: str | None = None


class InputError(ValueError):
    """A malformed input line; the message names the line number."""


def read_score_input(path: Path) -> list[tuple[str, ScoreInputRow]]:
    """Parse and validate every line (blank lines skipped); ids default to the line number."""
    rows: list[tuple[str, ScoreInputRow]] = []
    seen: set[str] = set()
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}: line {number}: invalid JSON ({exc.msg})") from exc
            if not isinstance(data, dict):
                raise InputError(f"{path}: line {number}: expected a JSON object")
            if "text" not in data:
                raise InputError(f"{path}: line {number}: missing field 'text'")
            try:
                row = ScoreInputRow.model_validate(data)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first["loc"])
                raise InputError(f"{path}: line {number}: field '{where}': {first['msg']}") from exc
            essay_id = str(row.id) if row.id is not None else str(number)
            if essay_id in seen:
                raise InputError(f"{path}: line {number}: duplicate id {essay_id!r}")
            seen.add(essay_id)
            rows.append((essay_id, row))
    return rows


def _essay(row: ScoreInputRow) -> EssayInput:
    from services.analysis.results import EssayInput

    return EssayInput(
        text=row.text or "",
        title=row.title,
        prompt_text=row.prompt_text or None,
        prompt_id=str(row.prompt_id) if row.prompt_id is not None else None,
    )


def _analyse(essay: EssayInput) -> tuple[dict[str, DimensionResult], list[str]]:
    """All dimensions in-process; a dimension that crashes on this essay is left out (the scorer
    then skips its rules and asks for human review) instead of failing the whole batch."""
    from services.analysis.pipeline import analyse_essay, run_dimension
    from services.analysis.rubric import get_rubric

    if not essay.text.strip():
        return {}, []
    try:
        return dict(analyse_essay(essay, score=False).results), []
    except Exception:
        rubric = get_rubric("enem")
        results: dict[str, DimensionResult] = {}
        failed: list[str] = []
        for name in rubric.dimension_names:
            try:
                results[name] = run_dimension(rubric, name, essay)
            except Exception:
                failed.append(name)
        return results, failed


def score_row(scorer: Scorer, essay_id: str, row: ScoreInputRow) -> dict[str, Any]:
    """Analyse and score one input row into the output record."""
    essay = _essay(row)
    results, failed = _analyse(essay)
    result: ScoreResult = scorer.score(essay, results)
    flags = list(result.flags) + [f"dimension_failed:{d}" for d in failed]
    return {
        "id": essay_id,
        **{c: int(result.levels[c]) for c in ("c1", "c2", "c3", "c4", "c5")},
        "total": int(result.total),
        "annulled": result.annulled,
        "flags": flags,
        "confidence": result.confidence,
        "needs_human_review": result.needs_human_review or bool(failed),
        "model_version": result.model_version,
        "rules": [r.model_dump() for r in result.rules],
    }


@app.command("score")
def score(
    input_path: Annotated[
        Path, typer.Argument(metavar="INPUT.jsonl", help="essays, one JSON per line")
    ],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="where to write the scores (JSONL)")
    ],
    model: Annotated[
        Path | None,
        typer.Option(help="a model file from `elysia train` (default: the shipped one)"),
    ] = None,
) -> None:
    """Score essays with the ENEM scorer: the six dimensions in-process, then model and rules."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    try:
        rows = read_score_input(input_path)
    except InputError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from exc
    scorer = _load_scorer(model)
    output.parent.mkdir(parents=True, exist_ok=True)
    columns = (
        TextColumn("[bold]scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with output.open("w", encoding="utf-8") as out, Progress(*columns, transient=False) as bar:
        task = bar.add_task("score", total=len(rows))
        for essay_id, row in rows:
            out.write(json.dumps(score_row(scorer, essay_id, row), ensure_ascii=False) + "\n")
            out.flush()
            bar.advance(task)
    typer.echo(f"wrote {len(rows)} scores to {output}", err=True)


def _load_scorer(model: Path | None) -> Scorer:
    from services.analysis.pipeline import get_scorer
    from services.analysis.rubric import get_rubric
    from services.analysis.scoring.model import load_scorer

    if model is not None:
        return load_scorer(model)
    return get_scorer(get_rubric("enem"))


def _dims_option(value: str) -> tuple[str, ...]:
    from services.analysis.scoring.features import DIMENSIONS

    dims = tuple(d.strip() for d in value.split(",") if d.strip())
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise typer.BadParameter(f"unknown dimensions {unknown}; known: {list(DIMENSIONS)}")
    return dims


@app.command("train")
def train(
    data: Annotated[
        Path, typer.Option(help="directory with essays.jsonl.gz (and prompts.jsonl.gz)")
    ],
    out: Annotated[
        Path, typer.Option(help="model file to write (model_card.json/.md go beside it)")
    ],
    seed: Annotated[
        int, typer.Option(help="random seed (the same seed gives the same model)")
    ] = 13,
    folds: Annotated[int, typer.Option(help="grouped CV folds (by prompt)")] = 5,
    dimensions: Annotated[
        str, typer.Option(help="comma-separated dimensions whose results become features")
    ] = "grammar,argumentation,cohesion,proposal,metrics",
    rule_dimensions: Annotated[
        str, typer.Option(help="extra dimensions read from the cache only to check the rules")
    ] = "theme",
    rule_sample: Annotated[
        int,
        typer.Option(
            help="extract the rule dimensions for about N essays (whole prompts, fixed order); "
            "0 = use only what the cache holds"
        ),
    ] = 0,
    limit: Annotated[
        int | None, typer.Option(help="train on a fixed subsample of N essays")
    ] = None,
    workers: Annotated[
        int, typer.Option(help="processes extracting missing dimension results")
    ] = 2,
    extract: Annotated[
        bool, typer.Option(help="run the dimensions on essays missing from the cache")
    ] = True,
    ngram: Annotated[bool, typer.Option(help="include the n-gram model and stacks")] = True,
    cache: Annotated[Path | None, typer.Option(help="feature cache directory")] = None,
) -> None:
    """Train the ENEM scorer with prompt-grouped CV and write the model plus its model card."""
    from rich.console import Console

    from services.analysis.scoring.corpus import (
        cached_results,
        coverage,
        dimension_version,
        extract_dimensions,
        load_corpus,
        prompt_grouped_sample,
    )
    from services.analysis.scoring.features import FeatureCache, NgramEncoder, default_cache_dir
    from services.analysis.scoring.model import save_artifact
    from services.analysis.scoring.train import (
        KINDS,
        TrainConfig,
        build_dataset,
        card_markdown,
        train_model,
    )

    console = Console(stderr=True)
    dims = _dims_option(dimensions)
    rule_dims = tuple(d for d in _dims_option(rule_dimensions) if d not in dims)
    rows = load_corpus(data, limit=limit)
    if len({r.prompt_id for r in rows}) < 2:
        raise typer.BadParameter(
            "need essays of at least two prompts for grouped CV", param_hint="--data"
        )
    feature_cache = FeatureCache(cache or default_cache_dir())
    if extract and dims:
        with console.status("extracting dimension results") as status:

            def progress(done: int, total: int) -> None:
                status.update(f"extracting dimension results: {done}/{total} essays")

            results = extract_dimensions(
                rows, lambda r: dims, feature_cache, workers=workers, progress=progress
            )
    else:
        results = cached_results(rows, dims, feature_cache)
    if rule_sample and rule_dims:
        sample = set(prompt_grouped_sample(rows, rule_sample))
        with console.status("extracting rule-dimension results") as status:

            def rule_progress(done: int, total: int) -> None:
                status.update(f"extracting rule-dimension results: {done}/{total} essays")

            extract_dimensions(
                [r for r in rows if r.id in sample],
                lambda r: rule_dims,
                feature_cache,
                workers=workers,
                progress=rule_progress,
            )
    extra = cached_results(rows, rule_dims, feature_cache) if rule_dims else {}
    for essay_id, got in extra.items():
        results.setdefault(essay_id, {}).update(got)
    cover = coverage(results, (*dims, *rule_dims))
    console.print(f"dimension coverage: {cover}")
    cfg = TrainConfig(
        seed=seed,
        folds=folds,
        dimensions=dims,
        kinds=KINDS if ngram else tuple(k for k in KINDS if k in ("ridge", "hgb")),
    )
    encoder = NgramEncoder(cfg.ngram_features) if ngram else None
    dataset = build_dataset(rows, results, dims, encoder)
    versions = {d: dimension_version("enem", d) for d in (*dims, *rule_dims)}
    description = {
        "essays": len(rows),
        "prompts": len({r.prompt_id for r in rows}),
        "sources": {
            s: sum(1 for r in rows if r.source == s) for s in sorted({r.source for r in rows})
        },
        "dimension_coverage": cover,
        "location": "ENEM training set (not shipped: publishers' terms)",
    }
    output = train_model(dataset, cfg, versions, description, log=console.print)
    model_path = out / "model.joblib" if out.suffix == "" else out
    save_artifact(output.artifact, model_path)
    card_json = model_path.parent / "model_card.json"
    card_json.write_text(
        json.dumps(output.card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (model_path.parent / "model_card.md").write_text(card_markdown(output.card), encoding="utf-8")
    sel = output.card["evaluation"]["qwk_selected"]
    base = output.card["evaluation"]["qwk_baseline"]
    console.print(f"model {output.artifact.version} -> {model_path}")
    console.print(f"grouped-CV QWK selected: {sel}")
    console.print(f"grouped-CV QWK baseline: {base}")
