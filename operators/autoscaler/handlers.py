"""kopf wiring: a timer per AnalyzerPool reads Redis, asks `policy.decide`, patches the scale.

Handlers are registered on a registry built by `build_registry` rather than kopf's global one,
so importing this module has no side effects and tests can run an operator with a short tick.
Everything the handlers need (settings, Redis, the Kubernetes API) travels in kopf's `memo`
as an `OperatorContext`, built once by the entry point (`elysia operator`) or by a test.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import kopf
import redis
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from pydantic import ValidationError

from operators.autoscaler.policy import Decision, PoolSpec, Reason, Recommendation, decide
from operators.autoscaler.readings import DEFAULT_SAMPLE_SIZE, read_queue
from services.core.config import Settings

GROUP = "elysia.io"
VERSION = "v1alpha1"
PLURAL = "analyzerpools"
DEFAULT_INTERVAL_S = 5.0
MAX_KEPT_RECOMMENDATIONS = 400


@dataclass
class OperatorContext:
    """Long-lived clients shared by every pool's timer (kopf copies memo shallowly)."""

    settings: Settings
    redis: redis.Redis
    apps: k8s.AppsV1Api
    clock: Callable[[], float] = time.time
    sample_size: int = DEFAULT_SAMPLE_SIZE


def kubernetes_api_client(kubeconfig: str | None = None) -> k8s.ApiClient:
    """In-cluster credentials inside a Pod, else the given (or default) kubeconfig."""
    if kubeconfig is None:
        try:
            k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
            return k8s.ApiClient()
        except k8s_config.ConfigException:
            pass
    return k8s_config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call,no-any-return]


def build_context(settings: Settings, kubeconfig: str | None = None) -> OperatorContext:
    """Clients for one operator process (the CLI and the integration tests both use this)."""
    return OperatorContext(
        settings=settings,
        redis=redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=settings.backend_timeout_s,
            socket_connect_timeout=settings.backend_timeout_s,
        ),
        apps=k8s.AppsV1Api(kubernetes_api_client(kubeconfig)),
    )


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _history(status: Mapping[str, Any]) -> list[Recommendation]:
    """Recommendations kept in status by earlier ticks (malformed entries are dropped)."""
    kept: list[Recommendation] = []
    for item in status.get("recommendations") or []:
        try:
            kept.append(Recommendation.model_validate(item))
        except ValidationError:
            continue
    return kept


def _status_patch(
    decision: Decision,
    spec: PoolSpec,
    current: int,
    reading_fields: dict[str, Any],
    now: float,
    last_scale_time: str | None,
    generation: int | None,
) -> dict[str, Any]:
    horizon = max(spec.scale_up_stabilization_seconds, spec.scale_down_stabilization_seconds)
    recent = [r for r in decision.history if now - r.time <= horizon][-MAX_KEPT_RECOMMENDATIONS:]
    return {
        "desiredReplicas": decision.desired_replicas,
        "currentReplicas": current,
        "recommendation": decision.recommendation,
        "reason": decision.reason.value,
        "message": decision.message,
        "lastScaleTime": last_scale_time,
        "lastReadTime": _iso(now),
        "observedGeneration": generation,
        "recommendations": [r.model_dump() for r in recent],
        **reading_fields,
    }


def reconcile_pool(
    ctx: OperatorContext,
    spec_body: Mapping[str, Any],
    status: Mapping[str, Any],
    namespace: str,
    body: kopf.Body,
    patch: kopf.Patch,
    generation: int | None,
    logger: logging.Logger | kopf.Logger,
) -> None:
    """One tick for one pool: read → decide → (maybe) scale → report."""
    try:
        spec = PoolSpec.model_validate(dict(spec_body))
    except ValidationError as exc:
        patch.status["reason"] = "InvalidSpec"
        patch.status["message"] = str(exc.errors()[0]["msg"]) if exc.errors() else str(exc)
        return

    now = ctx.clock()
    try:
        reading = read_queue(ctx.redis, ctx.settings, spec.queue, now, ctx.sample_size)
    except redis.RedisError as exc:
        # Holding the current size is the safe choice when the load cannot be seen.
        patch.status["reason"] = "RedisUnavailable"
        patch.status["message"] = f"cannot read queue {spec.queue!r}: {exc}"
        logger.warning("Redis unavailable for %s: %s", spec.queue, exc)
        return

    try:
        scale = ctx.apps.read_namespaced_deployment_scale(spec.deployment, namespace)
    except ApiException as exc:
        if exc.status == 404:
            patch.status["reason"] = "DeploymentNotFound"
            patch.status["message"] = f"deployment {spec.deployment!r} not found"
            return
        raise kopf.TemporaryError(f"reading scale: {exc.reason}", delay=5) from exc
    current = int(scale.spec.replicas or 0) if scale.spec is not None else 0

    decision = decide(spec, reading, current, _history(status), now)
    last_scale_time: str | None = status.get("lastScaleTime")
    paused = bool(spec_body.get("paused", False))
    if decision.changes and not paused:
        ctx.apps.patch_namespaced_deployment_scale(
            spec.deployment, namespace, {"spec": {"replicas": decision.desired_replicas}}
        )
        last_scale_time = _iso(now)
        kopf.info(body, reason=decision.reason.value, message=decision.message)
        logger.info("%s: %s", spec.deployment, decision.message)

    reading_fields = {
        "backlog": reading.backlog,
        "inFlight": reading.in_flight,
        "meanDuration": reading.mean_duration,
        "durationSamples": reading.samples,
    }
    patch.status.update(
        _status_patch(decision, spec, current, reading_fields, now, last_scale_time, generation)
    )
    if paused and decision.changes:
        patch.status["reason"] = "Paused"


def build_registry(interval_s: float = DEFAULT_INTERVAL_S) -> kopf.OperatorRegistry:
    """A fresh registry with the login and the per-pool timer, ticking every `interval_s`."""
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)  # type: ignore[arg-type]
    def _login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # In a Pod: the ServiceAccount token; elsewhere: $KUBECONFIG / ~/.kube/config.
        return kopf.login_with_service_account(**kwargs) or kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.startup(registry=registry)  # type: ignore[arg-type]
    def _startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        # A finalizer name users can attribute to us (kopf's timers need one to stop cleanly).
        settings.persistence.finalizer = f"{GROUP}/autoscaler"
        # Least privilege: no cluster-wide list/watch of Namespaces and CRDs. The operator
        # serves the namespaces it is given and the AnalyzerPool CRD present at start-up.
        settings.scanning.disabled = True
        settings.posting.level = logging.INFO

    @kopf.timer(GROUP, VERSION, PLURAL, interval=interval_s, registry=registry, id="autoscale")
    def _autoscale(
        *,
        spec: kopf.Spec,
        status: kopf.Status,
        namespace: str | None,
        body: kopf.Body,
        patch: kopf.Patch,
        meta: kopf.Meta,
        memo: Any,
        logger: kopf.Logger,
        **_: Any,
    ) -> None:
        reconcile_pool(
            memo["ctx"],
            spec,
            status,
            namespace or "default",
            body,
            patch,
            meta.get("generation"),
            logger,
        )

    return registry


__all__ = [
    "DEFAULT_INTERVAL_S",
    "GROUP",
    "PLURAL",
    "VERSION",
    "OperatorContext",
    "Reason",
    "build_context",
    "build_registry",
    "kubernetes_api_client",
    "reconcile_pool",
]
