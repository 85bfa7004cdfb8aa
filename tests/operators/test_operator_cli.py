"""`elysia operator` as a real process: settings from ELYSIA_* env, kubeconfig, liveness probe."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from typer.testing import CliRunner

from operators.autoscaler.readings import queue_key
from services.core.config import Settings
from tests.conftest import ROOT
from tests.operators.test_operator_kube import drop_pool, make_deployment, make_pool, wait_for

# The command registers itself on the shared app when its module is imported.
LAUNCH = "import services.cli.operator; from services.cli.app import app; app()"


def test_operator_command_help() -> None:
    import services.cli.operator  # noqa: F401
    from services.cli.app import app

    result = CliRunner().invoke(app, ["operator", "--help"])
    assert result.exit_code == 0, result.output
    assert "AnalyzerPool" in result.output and "--namespace" in result.output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
@pytest.mark.kube
def test_operator_process_scales_a_pool(
    kube_api: Any,
    kube_namespace: str,
    kubeconfig: Path,
    settings: Settings,
    redis_server: None,
    tmp_path: Path,
) -> None:
    from kubernetes import client

    ns = kube_namespace
    name = f"theme-{uuid.uuid4().hex[:6]}"
    apps = client.AppsV1Api(kube_api)
    custom = client.CustomObjectsApi(kube_api)
    r = redis.Redis.from_url(settings.redis_url)
    r.lpush(settings.durations_key(name), *["3.0"] * 5)
    r.rpush(queue_key(settings, name), *[f"j{i}" for i in range(10)])  # ceil(10×3/10) = 3
    make_deployment(apps, ns, f"w-{name}")
    make_pool(
        custom,
        ns,
        f"p-{name}",
        {"deployment": f"w-{name}", "queue": name, "maxReplicas": 5, "targetDrainSeconds": 10},
    )
    port = free_port()
    env = {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "ELYSIA_REDIS_URL": settings.redis_url,
        "ELYSIA_QUEUE_PREFIX": settings.queue_prefix,
    }
    log = (tmp_path / "operator.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            LAUNCH,
            "operator",
            "-n",
            ns,
            "--interval",
            "1",
            "--liveness",
            f"http://127.0.0.1:{port}/healthz",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def scaled() -> bool:
            scale = apps.read_namespaced_deployment_scale(f"w-{name}", ns)
            return scale.spec.replicas == 3

        wait_for(scaled, 20, "the operator process to scale to 3")

        def alive() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    return bool(resp.status == 200)
            except OSError:
                return False

        assert wait_for(alive, 10, "the liveness endpoint")
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        r.delete(queue_key(settings, name), settings.durations_key(name))
        drop_pool(custom, ns, f"p-{name}")
        apps.delete_namespaced_deployment(f"w-{name}", ns)
    assert proc.returncode is not None
