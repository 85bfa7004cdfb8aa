"""The autoscaler operator, run in-process with kopf against the REAL kube-apiserver and Redis.

There is no kubelet or controller-manager behind this API server, so the test checks objects:
the Deployment's scale subresource, the AnalyzerPool's status and the Events it posts.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis

from operators.autoscaler.handlers import GROUP, PLURAL, VERSION, build_context, build_registry
from operators.autoscaler.readings import queue_key, started_registry_key
from services.core.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.kube]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def running_operator(
    settings: Settings, kubeconfig: Path, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """kopf in a background thread, watching one namespace, ticking every second."""
    import kopf

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    ctx = build_context(settings, kubeconfig=str(kubeconfig))
    stop, ready = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            kopf.run(
                registry=build_registry(interval_s=1.0),
                memo=kopf.Memo(ctx=ctx),
                standalone=True,
                namespaces=[namespace],
                clusterwide=False,
                stop_flag=stop,
                ready_flag=ready,
            )
        except BaseException as exc:  # surfaced by the test below
            errors.append(exc)

    thread = threading.Thread(target=run, name="kopf-test", daemon=True)
    thread.start()
    assert ready.wait(30), f"operator did not start: {errors}"
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        assert not errors, errors


def make_deployment(apps: Any, namespace: str, name: str) -> None:
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": name},
            "spec": {
                "replicas": 0,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "w", "image": "elysia:test"}]},
                },
            },
        },
    )


def make_pool(custom: Any, namespace: str, name: str, spec: dict[str, Any]) -> None:
    custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "AnalyzerPool",
            "metadata": {"name": name},
            "spec": spec,
        },
    )


def drop_pool(custom: Any, namespace: str, name: str) -> None:
    """Delete a pool whose operator is gone (its finalizer would block the deletion forever)."""
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name, {"metadata": {"finalizers": None}}
    )
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name)


@pytest.fixture()
def queue(redis_server: None, settings: Settings) -> Iterator[tuple[str, redis.Redis]]:
    name = f"grammar-{uuid.uuid4().hex[:6]}"
    client = redis.Redis.from_url(settings.redis_url)
    yield name, client
    client.delete(
        queue_key(settings, name),
        started_registry_key(settings, name),
        settings.durations_key(name),
    )


def test_operator_scales_up_holds_in_flight_and_scales_down(
    kube_api: Any,
    kube_namespace: str,
    kubeconfig: Path,
    settings: Settings,
    queue: tuple[str, redis.Redis],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kubernetes import client

    name, r = queue
    ns = kube_namespace
    apps = client.AppsV1Api(kube_api)
    custom = client.CustomObjectsApi(kube_api)
    core = client.CoreV1Api(kube_api)
    deployment, pool = f"worker-{name}", f"pool-{name}"

    # 10 recent jobs of 2 s, 30 waiting: ceil(30 × 2 / 10) = 6 replicas (max 8).
    r.lpush(settings.durations_key(name), *["2.0"] * 10)
    r.rpush(queue_key(settings, name), *[f"job-{i}" for i in range(30)])
    make_deployment(apps, ns, deployment)
    make_pool(
        custom,
        ns,
        pool,
        {
            "deployment": deployment,
            "queue": name,
            "minReplicas": 0,
            "maxReplicas": 8,
            "targetDrainSeconds": 10,
            "scaleUpStabilizationSeconds": 0,
            "scaleDownStabilizationSeconds": 4,
        },
    )

    def replicas() -> int:
        return int(apps.read_namespaced_deployment_scale(deployment, ns).spec.replicas or 0)

    def status() -> dict[str, Any]:
        obj = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, pool)
        return dict(obj.get("status") or {})

    try:
        with running_operator(settings, kubeconfig, ns, monkeypatch):
            started = time.monotonic()
            wait_for(lambda: replicas() == 6, 10, "scale-up to 6")
            assert time.monotonic() - started < 10

            st = wait_for(lambda: status().get("desiredReplicas") == 6 and status(), 5, "status")
            assert st["backlog"] == 30 and st["inFlight"] == 0
            assert st["meanDuration"] == pytest.approx(2.0)
            assert st["lastScaleTime"] and st["recommendations"]

            def scale_events() -> list[Any]:
                events = core.list_namespaced_event(ns).items
                return [e for e in events if e.involved_object.name == pool]

            events = wait_for(scale_events, 10, "a ScaleUp event")
            assert any(e.reason == "ScaleUp" and "6" in e.message for e in events)

            # Backlog drained, 2 jobs still running (RQ's started registry, not expired).
            r.delete(queue_key(settings, name))
            future = time.time() + 600
            r.zadd(started_registry_key(settings, name), {"job-a:x": future, "job-b:y": future})
            held = wait_for(
                lambda: status().get("reason") == "HeldByDownStabilization", 5, "a held tick"
            )
            assert held and replicas() == 6
            wait_for(lambda: replicas() == 2, 15, "scale-down to the 2 busy workers")
            # ...and never below them while they run.
            for _ in range(6):
                assert replicas() == 2
                time.sleep(0.5)
            assert status()["inFlight"] == 2

            # Work done: down to minReplicas (0) after the window.
            r.delete(started_registry_key(settings, name))
            wait_for(lambda: replicas() == 0, 15, "scale-down to zero")
            assert any(e.reason == "ScaleDown" for e in scale_events())
    finally:
        drop_pool(custom, ns, pool)
        apps.delete_namespaced_deployment(deployment, ns)


def test_operator_reports_a_missing_deployment(
    kube_api: Any,
    kube_namespace: str,
    kubeconfig: Path,
    settings: Settings,
    queue: tuple[str, redis.Redis],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kubernetes import client

    name, _ = queue
    custom = client.CustomObjectsApi(kube_api)
    pool = f"pool-{name}"
    make_pool(
        custom,
        kube_namespace,
        pool,
        {"deployment": "does-not-exist", "queue": name, "maxReplicas": 3},
    )
    try:
        with running_operator(settings, kubeconfig, kube_namespace, monkeypatch):

            def reason() -> str | None:
                obj = custom.get_namespaced_custom_object(
                    GROUP, VERSION, kube_namespace, PLURAL, pool
                )
                return (obj.get("status") or {}).get("reason")

            assert wait_for(lambda: reason() == "DeploymentNotFound", 10, "DeploymentNotFound")
    finally:
        drop_pool(custom, kube_namespace, pool)


def test_crd_rejects_an_invalid_pool(kube_api: Any, kube_namespace: str) -> None:
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    custom = client.CustomObjectsApi(kube_api)
    with pytest.raises(ApiException) as exc:
        make_pool(
            custom,
            kube_namespace,
            "bad",
            {"deployment": "x", "queue": "grammar", "maxReplicas": 3, "minReplicas": -1},
        )
    assert exc.value.status == 422
