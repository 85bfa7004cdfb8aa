"""The Helm chart, rendered offline by the real Helm engine and checked against real schemas."""

from __future__ import annotations

from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from services.core.config import DIMENSION_QUEUES
from tests.charts.render import (
    CHART,
    PROD_VALUES,
    crd_schema,
    load_values,
    of_kind,
    pod_specs,
    render,
)

KUBE_VERSION = "1.31.0"
VALUE_SETS = {
    "default": lambda: {},
    "production": lambda: load_values(PROD_VALUES),
}


@pytest.fixture(scope="module", params=sorted(VALUE_SETS))
def rendered(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    values = VALUE_SETS[request.param]()
    return request.param, values, render(values)


def test_lint_passes_strict() -> None:
    import helm_python as helm

    for values in ({}, load_values(PROD_VALUES)):
        report = helm.lint(CHART, values, strict=True, kube_version="v1.31.0")
        errors = [m for m in report["messages"] if m["severity"] >= 2]
        assert report["errors"] == [] and errors == [], report


def test_every_object_passes_strict_kubernetes_schemas(rendered: Any) -> None:
    _, _, objects = rendered
    checked = 0
    for obj in objects:
        if obj["apiVersion"].startswith("elysia.io/"):
            jsonschema.validate(obj, crd_schema())
        else:
            kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        checked += 1
    assert checked > 20


def test_pod_security_everywhere(rendered: Any) -> None:
    _, _, objects = rendered
    specs = pod_specs(objects)
    assert specs
    for name, spec in specs:
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True, name
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", name
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])
            assert sc["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert sc["capabilities"]["drop"] == ["ALL"], (name, c["name"])
            assert sc["runAsNonRoot"] is True
            # read-only root: /tmp must be a writable emptyDir
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            volumes = {v["name"]: v for v in spec["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]], name


def test_resources_everywhere(rendered: Any) -> None:
    _, _, objects = rendered
    for name, spec in pod_specs(objects):
        for c in spec["containers"]:
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][section]), (name, section)


def test_probes(rendered: Any) -> None:
    _, _, objects = rendered
    deployments = {d["metadata"]["name"]: d for d in of_kind(objects, "Deployment")}
    gw = deployments["elysia-gateway"]["spec"]["template"]["spec"]["containers"][0]
    assert gw["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert gw["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gw["args"][:1] == ["serve"]
    for name, d in deployments.items():
        c = d["spec"]["template"]["spec"]["containers"][0]
        assert "livenessProbe" in c, name
        if name != "elysia-operator":
            assert "readinessProbe" in c, name


def test_one_worker_deployment_and_pool_per_dimension(rendered: Any) -> None:
    which, values, objects = rendered
    workers = {
        d["metadata"]["labels"]["elysia.io/queue"]: d
        for d in of_kind(objects, "Deployment")
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "worker"
    }
    analyzers = values.get("analyzers") or load_values(CHART / "values.yaml")["analyzers"]
    assert set(DIMENSION_QUEUES) <= set(workers)
    pools = {p["spec"]["queue"]: p for p in of_kind(objects, "AnalyzerPool")}
    assert set(analyzers) <= set(pools)
    job_timeout = (values.get("config") or {}).get("jobTimeoutSeconds", 300)
    for queue, dep in workers.items():
        pod = dep["spec"]["template"]["spec"]
        assert pod["containers"][0]["args"] == ["worker", queue]
        # drain on SIGTERM: the whole job timeout fits in the grace period
        assert pod["terminationGracePeriodSeconds"] >= job_timeout
        assert pod["automountServiceAccountToken"] is False
    for queue, a in analyzers.items():
        pool = pools[queue]["spec"]
        assert pool["deployment"] == workers[queue]["metadata"]["name"]
        assert (pool["minReplicas"], pool["maxReplicas"]) == (a["minReplicas"], a["maxReplicas"])
        assert workers[queue]["spec"]["replicas"] == a["minReplicas"]
        limits = workers[queue]["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert limits == a["resources"]
    if which == "production":
        assert "consolidate" in pools  # a platform queue opted into autoscaling


def test_custom_dimension_set_renders_exactly_those_workers() -> None:
    res = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 1, "memory": "1Gi"}}
    values = {
        "analyzers": {
            "grammar": {
                "minReplicas": 0,
                "maxReplicas": 3,
                "targetDrainSeconds": 30,
                "resources": res,
            },
            "essay-length": {
                "minReplicas": 2,
                "maxReplicas": 4,
                "targetDrainSeconds": 90,
                "resources": res,
            },
            # Helm deep-merges maps with values.yaml: null removes a default dimension.
            **dict.fromkeys(("theme", "argumentation", "cohesion", "proposal", "metrics")),
        },
        "platformWorkers": dict.fromkeys(("consolidate", "ingest", "index", "webhooks")),
    }
    objects = render(values)
    workers = [
        d["metadata"]["name"]
        for d in of_kind(objects, "Deployment")
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "worker"
    ]
    assert sorted(workers) == ["elysia-worker-essay-length", "elysia-worker-grammar"]
    pools = {p["spec"]["queue"]: p["spec"] for p in of_kind(objects, "AnalyzerPool")}
    assert pools["essay-length"]["targetDrainSeconds"] == 90
    assert pools["grammar"]["minReplicas"] == 0


def test_upgrade_leaves_autoscaled_replicas_to_the_operator() -> None:
    import helm_python as helm

    chart = helm.Chart.load(CHART)
    manifests = chart.render({}, name="elysia", namespace="elysia", is_upgrade=True)
    import yaml

    workers = [
        d
        for text in manifests.values()
        if not text.startswith("Elysia")
        for d in yaml.safe_load_all(text)
        if d and d["kind"] == "Deployment" and "elysia.io/autoscaled-by" in d["metadata"]["labels"]
    ]
    assert workers and all("replicas" not in d["spec"] for d in workers)


def test_operator_is_single_recreate_with_least_privilege_rbac(rendered: Any) -> None:
    _, _, objects = rendered
    op = next(
        d for d in of_kind(objects, "Deployment") if d["metadata"]["name"].endswith("operator")
    )
    assert op["spec"]["replicas"] == 1
    assert op["spec"]["strategy"]["type"] == "Recreate"
    assert op["spec"]["template"]["spec"]["serviceAccountName"] == "elysia-operator"
    assert of_kind(objects, "ClusterRole") == [] and of_kind(objects, "ClusterRoleBinding") == []
    (role,) = of_kind(objects, "Role")
    granted = {
        (g, r, v)
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    assert ("apps", "deployments/scale", "patch") in granted
    assert ("elysia.io", "analyzerpools/status", "patch") in granted
    assert ("", "events", "create") in granted
    assert all("*" not in item for item in granted)
    resources = {r for _, r, _ in granted}
    assert not resources & {"secrets", "pods", "deployments", "configmaps"}
    assert all(
        v not in ("delete", "deletecollection", "create") or r == "events" for _, r, v in granted
    )


def test_existing_secret_is_used_and_no_secret_rendered() -> None:
    objects = render({"secrets": {"existingSecret": "my-backends"}})
    assert of_kind(objects, "Secret") == []
    for name, spec in pod_specs(objects):
        for c in spec["containers"]:
            refs = [e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e]
            env_refs = [
                e["valueFrom"]["secretKeyRef"]["name"]
                for e in c.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})
            ]
            assert set(refs + env_refs) <= {"my-backends"}, name
            assert refs or env_refs, name


def test_settings_reach_every_container_as_elysia_env() -> None:
    objects = render(
        {
            "config": {"queuePrefix": "x:", "extraEnv": {"ELYSIA_DEFAULT_BURST": "7"}},
            "secrets": {"redisUrl": "redis://r:6379/1", "adminBootstrapKey": "k"},
        }
    )
    (cm,) = of_kind(objects, "ConfigMap")
    (secret,) = of_kind(objects, "Secret")
    assert cm["data"]["ELYSIA_QUEUE_PREFIX"] == "x:"
    assert cm["data"]["ELYSIA_DEFAULT_BURST"] == "7"
    assert secret["stringData"]["ELYSIA_REDIS_URL"] == "redis://r:6379/1"
    assert all(k.startswith("ELYSIA_") for k in [*cm["data"], *secret["stringData"]])


def test_helm_test_hook_submits_an_essay() -> None:
    (pod,) = of_kind(render({"secrets": {"testApiKey": "k"}}), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    script = pod["spec"]["containers"][0]["args"][0]
    compile(script, "helm-test", "exec")  # the one-liner is valid Python
    assert "/v1/essays" in script and "COMPLETED" in script
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    ref = env["ELYSIA_TEST_API_KEY"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "elysia-secrets", "key": "ELYSIA_TEST_API_KEY"}


def test_network_policies_default_deny() -> None:
    objects = render({})
    policies = {p["metadata"]["name"]: p for p in of_kind(objects, "NetworkPolicy")}
    deny = policies["elysia-default-deny"]["spec"]
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    assert of_kind(render({"networkPolicy": {"enabled": False}}), "NetworkPolicy") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"analyzers": {"grammar": {"minReplicas": -1}}},
        {"analyzers": {"Bad_Name": {}}},
        {"operator": {"intervalSeconds": 0}},
        {"config": {"extraEnv": {"PATH": "/x"}}},
        {"image": {"pullPolicy": "Sometimes"}},
    ],
)
def test_values_schema_rejects(bad: dict[str, Any]) -> None:
    import helm_python as helm

    with pytest.raises(helm.HelmError):
        helm.Chart.load(CHART).validate_schema(bad)


def test_values_schema_accepts_shipped_values() -> None:
    import helm_python as helm

    chart = helm.Chart.load(CHART)
    chart.validate_schema({})
    chart.validate_schema(load_values(PROD_VALUES))


def test_crd_copies_identical() -> None:
    from tests.conftest import ROOT

    a = (CHART / "crds" / "analyzerpools.elysia.io.yaml").read_text()
    b = (ROOT / "k8s" / "crds" / "analyzerpools.elysia.io.yaml").read_text()
    assert a == b
