"""k8s/: the kustomize base is the chart's rendering, and each overlay builds valid objects.

No kustomize binary can be built here (kustomize v5 needs Go >= 1.22; Debian 12 ships 1.19), so
`build` below interprets the SUBSET of kustomize features these overlays use (resources,
namespace, images, secretGenerator with literals, strategic-merge patches of maps). The test
first asserts that the kustomizations use nothing outside that subset, so a new feature cannot
be silently ignored; every built object is then validated against the strict Kubernetes schemas
(and AnalyzerPools against the CRD's schema).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.charts.render import crd_schema
from tests.conftest import ROOT

K8S = ROOT / "k8s"
SUPPORTED = {"apiVersion", "kind", "namespace", "resources", "images", "secretGenerator", "patches"}
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}


def _merge(base: Any, patch: Any) -> Any:
    """Strategic merge restricted to maps (lists are replaced: none of our patches edit lists)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = _merge(base.get(k), v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(patch)


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def build(directory: Path) -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    assert not unsupported, f"{directory}: kustomize features not interpreted here: {unsupported}"
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            objects.extend(build(path))
        else:
            objects.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for gen in kustomization.get("secretGenerator", []):
        assert gen.get("options", {}).get("disableNameSuffixHash") is True
        data = dict(item.split("=", 1) for item in gen["literals"])
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": gen["name"]},
                "type": "Opaque",
                "stringData": data,
            }
        )
    index = {_key(o): i for i, o in enumerate(objects)}
    for patch in kustomization.get("patches", []):
        assert set(patch) == {"path"}, patch
        for doc in yaml.safe_load_all((directory / patch["path"]).read_text()):
            if not doc:
                continue
            assert _key(doc) in index, f"patch targets a missing object {_key(doc)}"
            i = index[_key(doc)]
            assert objects[i]["apiVersion"].split("/")[0] == doc["apiVersion"].split("/")[0]
            objects[i] = _merge(objects[i], doc)
    for image in kustomization.get("images", []):
        for obj in objects:
            spec = obj.get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []):
                if c["image"].rsplit(":", 1)[0] == image["name"]:
                    c["image"] = f"{image['name']}:{image['newTag']}"
    if "namespace" in kustomization:
        ns = kustomization["namespace"]
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = ns
            for subject in obj.get("subjects", []):
                if subject.get("kind") == "ServiceAccount":
                    subject["namespace"] = ns
    return objects


def test_base_is_the_chart_rendering() -> None:
    result = subprocess.run(
        [sys.executable, str(K8S / "render_base.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_builds_valid_objects(overlay: str) -> None:
    objects = build(K8S / "overlays" / overlay)
    kinds = [o["kind"] for o in objects]
    assert kinds.count("AnalyzerPool") == 6
    assert "CustomResourceDefinition" in kinds
    for obj in objects:
        if obj["apiVersion"].startswith("elysia.io/"):
            jsonschema.validate(obj, crd_schema())
        else:
            kubernetes_validate.validate(obj, "1.31.0", strict=True)
    namespaced = [o for o in objects if o["kind"] not in CLUSTER_SCOPED]
    assert {o["metadata"]["namespace"] for o in namespaced} == {
        {"dev": "elysia-dev", "prod": "elysia"}[overlay]
    }
    images = {
        c["image"]
        for o in objects
        if o["kind"] == "Deployment"
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"ghcr.io/elysia-edu/elysia:{'dev' if overlay == 'dev' else '0.1.0'}"}


def test_dev_overlay_provides_the_secret_every_pod_reads() -> None:
    objects = build(K8S / "overlays" / "dev")
    secrets = {o["metadata"]["name"] for o in objects if o["kind"] == "Secret"}
    for o in objects:
        if o["kind"] == "Deployment":
            for c in o["spec"]["template"]["spec"]["containers"]:
                refs = {e["secretRef"]["name"] for e in c["envFrom"] if "secretRef" in e}
                assert refs <= secrets


def test_every_file_is_valid_yaml_of_known_kinds() -> None:
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "base-values.yaml":  # Helm values for render_base.py
            continue
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert docs, path
        for doc in docs:
            assert "kind" in doc and "apiVersion" in doc, path
