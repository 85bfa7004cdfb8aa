"""`elysia` commands that run the platform: health, worker, reconcile, serve."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from services.cli.app import app
from services.core.config import Settings

console = Console()


@app.command()
def health(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Check each backend (Redis, MongoDB, Elasticsearch, S3): reachability and latency."""
    from services.core.health import check_all

    results = asyncio.run(check_all(Settings()))
    if as_json:
        console.print_json(data=[r.model_dump() for r in results])
    else:
        table = Table(title="Elysia backends")
        for column in ("backend", "status", "latency ms", "detail"):
            table.add_column(column)
        for r in results:
            status = "[green]ok[/green]" if r.ok else "[red]DOWN[/red]"
            latency = f"{r.latency_ms:.1f}" if r.latency_ms is not None else "-"
            table.add_row(r.name, status, latency, r.detail)
        console.print(table)
    if not all(r.ok for r in results):
        raise typer.Exit(code=1)


@app.command()
def worker(
    queues: Annotated[
        list[str] | None, typer.Argument(help="Queues to serve, e.g. grammar.")
    ] = None,
    all_queues: Annotated[
        bool, typer.Option("--all", help="Serve every queue (local runs).")
    ] = False,
    burst: Annotated[bool, typer.Option(help="Stop when the queues are empty.")] = False,
    max_jobs: Annotated[int | None, typer.Option(help="Stop after this many jobs.")] = None,
) -> None:
    """Run an RQ worker on one dimension's queue (models load once, before the first job)."""
    from services.core.logs import configure_logging
    from services.workers.runner import resolve_queues, run_worker

    settings = Settings()
    configure_logging(settings)
    try:
        chosen = resolve_queues(queues or [], all_queues)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    run_worker(settings, chosen, burst=burst, max_jobs=max_jobs)


@app.command()
def reconcile(
    loop: Annotated[
        bool, typer.Option(help="Keep running every ELYSIA_RECONCILE_INTERVAL_S.")
    ] = False,
    grace: Annotated[
        float | None, typer.Option(help="Only touch jobs quiet for this many seconds.")
    ] = None,
) -> None:
    """Re-enqueue accepted work that no live RQ job carries (lost queues, killed workers)."""
    from services.core.logs import configure_logging
    from services.workers.context import init_context
    from services.workers.reconcile import reconcile_once

    settings = Settings()
    configure_logging(settings)
    ctx = init_context(settings)
    try:
        while True:
            report = ctx.run(reconcile_once(ctx, grace_s=grace))
            console.print_json(data=report.model_dump())
            if not loop:
                break
            time.sleep(settings.reconcile_interval_s)
    finally:
        ctx.close()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP gateway (REST API, live events, web UI)."""
    import uvicorn

    uvicorn.run(
        "services.gateway.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_config=None,
    )
