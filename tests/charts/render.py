"""Helpers that render the chart with the real Helm engine (helm-python-sdk, Helm v4 Go SDK)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

CHART = ROOT / "charts" / "elysia"
PROD_VALUES = CHART / "values-production.yaml"
CRD = yaml.safe_load((CHART / "crds" / "analyzerpools.elysia.io.yaml").read_text())


def load_values(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def render(values: dict[str, Any] | None = None, *, name: str = "elysia") -> list[dict[str, Any]]:
    """Every object the chart renders (hooks included), NOTES excluded."""
    import helm_python as helm

    chart = helm.Chart.load(CHART)
    manifests = chart.render(values or {}, name=name, namespace="elysia", is_install=True)
    objects: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(object name, PodSpec) of every workload and bare Pod."""
    specs = []
    for o in objects:
        if o["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            specs.append((o["metadata"]["name"], o["spec"]["template"]["spec"]))
        elif o["kind"] == "Pod":
            specs.append((o["metadata"]["name"], o["spec"]))
    return specs


def crd_schema() -> dict[str, Any]:
    schema: dict[str, Any] = CRD["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema
