"""Access to the real kube-apiserver started by `scripts/infra/kube.sh start` (for tests).

Mirrors `require_server` in tests/conftest.py: when the API server of `.elysia/kubeconfig`
(or $ELYSIA_KUBECONFIG) is not up, a test FAILS under CI and is skipped with a printed reason
on a developer's machine.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from tests.conftest import ROOT, require_server

CRD_PATH = ROOT / "charts" / "elysia" / "crds" / "analyzerpools.elysia.io.yaml"


def kubeconfig_path() -> Path:
    return Path(os.environ.get("ELYSIA_KUBECONFIG") or ROOT / ".elysia" / "kubeconfig")


def require_kube() -> Path:
    """The kubeconfig path, after checking its API server listens (else fail/skip)."""
    path = kubeconfig_path()
    if not path.exists():
        reason = f"no kubeconfig at {path}; start the API server with scripts/infra/up"
        if os.environ.get("CI"):
            pytest.fail(reason)
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    config = yaml.safe_load(path.read_text())
    server = urlparse(config["clusters"][0]["cluster"]["server"])
    require_server("kube-apiserver", server.hostname or "127.0.0.1", server.port or 6443)
    return path


def ensure_crd(api_client: object) -> None:
    """Create (or replace) the AnalyzerPool CRD and wait until it is Established."""
    import time

    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    ext = client.ApiextensionsV1Api(api_client)
    body = yaml.safe_load(CRD_PATH.read_text())
    try:
        current = ext.read_custom_resource_definition(body["metadata"]["name"])
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        ext.replace_custom_resource_definition(body["metadata"]["name"], body)
    except ApiException as exc:
        if exc.status != 404:
            raise
        ext.create_custom_resource_definition(body)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        crd = ext.read_custom_resource_definition(body["metadata"]["name"])
        conditions = (crd.status.conditions or []) if crd.status else []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return
        time.sleep(0.2)
    raise AssertionError("AnalyzerPool CRD not Established within 20 s")
