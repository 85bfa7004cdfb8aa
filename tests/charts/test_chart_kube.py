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


def test_operator_runs_with_only_its_service_account_rights(
    installed: tuple[str, str, Any],
    kube_api: Any,
    kubeconfig: Path,
    tmp_path: Path,
    redis_server: None,
    settings: Any,
) -> None:
    """The chart's Role is not only narrow but sufficient: the operator, authenticated with a
    token of its own ServiceAccount (TokenRequest API), scales the chart's grammar workers."""
    import os
    import subprocess
    import sys
    import time

    import redis
    import yaml
    from kubernetes import client

    from operators.autoscaler.readings import queue_key
    from tests.conftest import ROOT
    from tests.operators.test_operator_cli import LAUNCH, free_port

    namespace, _, _ = installed
    core = client.CoreV1Api(kube_api)
    token = core.create_namespaced_service_account_token(
        "elysia-operator", namespace, {"spec": {"expirationSeconds": 3600}}
    ).status.token
    config = yaml.safe_load(kubeconfig.read_text())
    config["users"][0]["user"] = {"token": token}
    sa_kubeconfig = tmp_path / "operator-sa.kubeconfig"
    sa_kubeconfig.write_text(yaml.safe_dump(config))

    prefix = f"{settings.queue_prefix}{uuid.uuid4().hex[:4]}:"
    r = redis.Redis.from_url(settings.redis_url)
    durations = f"{prefix}elysia:durations:grammar"
    backlog = f"rq:queue:{prefix}grammar"
    r.lpush(durations, *["3.0"] * 10)
    r.rpush(backlog, *[f"j{i}" for i in range(600)])  # ceil(600 × 3 / 300) = 6
    apps = client.AppsV1Api(kube_api)
    assert (
        apps.read_namespaced_deployment_scale("elysia-worker-grammar", namespace).spec.replicas == 2
    )

    env = {
        **os.environ,
        "KUBECONFIG": str(sa_kubeconfig),
        "ELYSIA_REDIS_URL": settings.redis_url,
        "ELYSIA_QUEUE_PREFIX": prefix,
    }
    log_path = tmp_path / "operator.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAUNCH,
                "operator",
                "-n",
                namespace,
                "--interval",
                "1",
                "--liveness",
                f"http://127.0.0.1:{free_port()}/healthz",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 20
            replicas = 2
            while time.monotonic() < deadline and replicas != 6:
                time.sleep(0.5)
                scale = apps.read_namespaced_deployment_scale("elysia-worker-grammar", namespace)
                replicas = scale.spec.replicas
            custom = client.CustomObjectsApi(kube_api)
            pool = custom.get_namespaced_custom_object(
                "elysia.io", "v1alpha1", namespace, "analyzerpools", "elysia-grammar"
            )
        finally:
            proc.terminate()
            proc.wait(20)
            r.delete(durations, backlog, queue_key(settings, "grammar"))
    output = log_path.read_text()
    assert replicas == 6, output[-3000:]
    assert pool["status"]["desiredReplicas"] == 6 and pool["status"]["backlog"] == 600
    assert "Forbidden" not in output and "403" not in output, output[-3000:]
    events = [
        e
        for e in core.list_namespaced_event(namespace).items
        if e.involved_object.name == "elysia-grammar"
    ]
    assert any(e.reason == "ScaleUp" for e in events)
