"""Fixtures for the operator tests against the real kube-apiserver and Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.operators.kube import ensure_crd, require_kube


@pytest.fixture(scope="session")
def kubeconfig() -> Path:
    return require_kube()


@pytest.fixture(scope="session")
def kube_api(kubeconfig: Path) -> object:
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    ensure_crd(api)
    return api


@pytest.fixture()
def kube_namespace(kube_api: object) -> Iterator[str]:
    """A fresh namespace per test (no controller deletes its content: we delete what we made)."""
    from kubernetes import client

    core = client.CoreV1Api(kube_api)
    name = f"elysia-op-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)
