"""The chart installed by the real Helm engine into the REAL kube-apiserver.

The API server validates every object (built-in schemas, the AnalyzerPool CRD's OpenAPI schema)
and stores it; RBAC is then checked with SubjectAccessReviews for the operator's ServiceAccount.
No Pods run (no kubelet), so this proves the objects, not the workloads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.core.config import DIMENSION_QUEUES
from tests.charts.render import CHART, PROD_VALUES, load_values
from tests.operators.kube import ensure_crd, require_kube

pytestmark = [pytest.mark.integration, pytest.mark.kube]


@pytest.fixture(scope="module")
def kubeconfig() -> Path:
    return require_kube()


@pytest.fixture(scope="module")
def kube_api(kubeconfig: Path) -> Any:
    from kubernetes import config

    api = config.new_client_from_config(config_file=str(kubeconfig))
    ensure_crd(api)
    return api


@pytest.fixture(scope="module")
def installed(kubeconfig: Path, kube_api: Any) -> Iterator[tuple[str, str, Any]]:
    """`helm install` of the chart with production values into a fresh namespace."""
    import helm_python as helm

    namespace = f"elysia-chart-{uuid.uuid4().hex[:8]}"
    values = load_values(PROD_VALUES)
    values["secrets"] = {"existingSecret": "", "adminBootstrapKey": "k", "testApiKey": "t"}
    cfg = helm.Config(kubeconfig_path=kubeconfig, namespace=namespace)
    release = cfg.install(
        str(CHART), "elysia", values, namespace=namespace, create_namespace=True, timeout=120
    )
    yield namespace, "elysia", release
    cfg.uninstall("elysia")


def test_server_side_dry_run_accepts_default_values(kubeconfig: Path, kube_api: Any) -> None:
    import helm_python as helm

    namespace = "default"
    cfg = helm.Config(kubeconfig_path=kubeconfig, namespace=namespace)
    release = cfg.install(str(CHART), f"dry-{uuid.uuid4().hex[:6]}", {}, dry_run="server")
    assert "kind: AnalyzerPool" in str(release)


def test_install_creates_every_object(installed: tuple[str, str, Any], kube_api: Any) -> None:
    from kubernetes import client

    namespace, _, _ = installed
    apps = client.AppsV1Api(kube_api)
    names = {d.metadata.name for d in apps.list_namespaced_deployment(namespace).items}
    assert {f"elysia-worker-{q}" for q in DIMENSION_QUEUES} <= names
    assert {"elysia-gateway", "elysia-operator", "elysia-reconciler"} <= names
    op = apps.read_namespaced_deployment("elysia-operator", namespace)
    assert op.spec.strategy.type == "Recreate" and op.spec.replicas == 1
    custom = client.CustomObjectsApi(kube_api)
    pools = custom.list_namespaced_custom_object(
        "elysia.io", "v1alpha1", namespace, "analyzerpools"
    )
    queues = {p["spec"]["queue"]: p["spec"] for p in pools["items"]}
    assert set(DIMENSION_QUEUES) <= set(queues)
    # The CRD's defaults were applied by the API server.
    assert all("scaleUpStabilizationSeconds" in s for s in queues.values())
    core = client.CoreV1Api(kube_api)
    secret = core.read_namespaced_secret("elysia-secrets", namespace)
    assert "ELYSIA_REDIS_URL" in secret.data
    assert core.read_namespaced_service("elysia-gateway", namespace).spec.ports[0].port == 80
    net = client.NetworkingV1Api(kube_api)
    assert net.list_namespaced_network_policy(namespace).items


@pytest.mark.parametrize(
    ("group", "resource", "verb", "allowed"),
    [
        ("apps", "deployments/scale", "patch", True),
        ("apps", "deployments/scale", "get", True),
        ("elysia.io", "analyzerpools", "watch", True),
        ("elysia.io", "analyzerpools/status", "patch", True),
        ("", "events", "create", True),
        ("apps", "deployments", "delete", False),
        ("apps", "deployments", "patch", False),
        ("", "secrets", "get", False),
        ("", "pods", "delete", False),
        ("elysia.io", "analyzerpools", "delete", False),
    ],
)
def test_operator_rbac_is_least_privilege(
    installed: tuple[str, str, Any],
    kube_api: Any,
    group: str,
    resource: str,
    verb: str,
    allowed: bool,
) -> None:
    from kubernetes import client

    namespace, _, _ = installed
    base, _, sub = resource.partition("/")
    review = client.AuthorizationV1Api(kube_api).create_subject_access_review(
        {
            "spec": {
                "user": f"system:serviceaccount:{namespace}:elysia-operator",
                "groups": ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"],
                "resourceAttributes": {
                    "namespace": namespace,
                    "group": group,
                    "resource": base,
                    "subresource": sub,
                    "verb": verb,
                },
            }
        }
    )
    assert review.status.allowed is allowed


def test_operator_cannot_touch_another_namespace(
    installed: tuple[str, str, Any], kube_api: Any
) -> None:
    from kubernetes import client

    namespace, _, _ = installed
    review = client.AuthorizationV1Api(kube_api).create_subject_access_review(
        {
            "spec": {
                "user": f"system:serviceaccount:{namespace}:elysia-operator",
                "resourceAttributes": {
                    "namespace": "default",
                    "group": "apps",
                    "resource": "deployments",
                    "subresource": "scale",
                    "verb": "patch",
                },
            }
        }
    )
    assert review.status.allowed is False
