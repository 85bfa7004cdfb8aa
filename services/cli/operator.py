"""`elysia operator`: run the AnalyzerPool autoscaler (kopf) in the foreground."""

from __future__ import annotations

import typer

from services.cli.app import app


@app.command("operator")
def operator(
    namespace: list[str] = typer.Option(
        [],
        "--namespace",
        "-n",
        help="Namespace(s) to watch (repeatable). Default: $POD_NAMESPACE, else cluster-wide.",
        envvar="ELYSIA_OPERATOR_NAMESPACES",
    ),
    interval: float = typer.Option(5.0, min=0.5, help="Seconds between two looks at each pool."),
    kubeconfig: str | None = typer.Option(
        None, envvar="KUBECONFIG", help="Kubeconfig outside a cluster (in a Pod: ServiceAccount)."
    ),
    liveness: str = typer.Option(
        "http://0.0.0.0:8080/healthz", help="kopf's liveness endpoint (probed by Kubernetes)."
    ),
) -> None:
    """Autoscale each AnalyzerPool's Deployment from its Redis backlog and job durations.

    Standalone (no kopf peering objects): the chart runs exactly one replica with the Recreate
    strategy, so two operators never fight over the same scale.
    """
    import os

    import kopf

    from operators.autoscaler.handlers import build_context, build_registry
    from services.core.config import Settings

    namespaces = list(namespace)
    if not namespaces and os.environ.get("POD_NAMESPACE"):
        namespaces = [os.environ["POD_NAMESPACE"]]
    settings = Settings()
    kubeconfig = kubeconfig or settings.kubeconfig  # $KUBECONFIG, else $ELYSIA_KUBECONFIG
    if kubeconfig:
        # kopf's own login reads $KUBECONFIG; keep it and the API client on the same file.
        os.environ["KUBECONFIG"] = kubeconfig
    ctx = build_context(settings, kubeconfig=kubeconfig)
    kopf.run(
        registry=build_registry(interval),
        memo=kopf.Memo(ctx=ctx),
        standalone=True,
        namespaces=namespaces,
        clusterwide=not namespaces,
        liveness_endpoint=liveness,
    )
