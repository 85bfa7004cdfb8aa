"""The autoscaler's decision: a PURE function from readings and history to a replica count.

Why not KEDA's Redis list scaler (`replicas = ceil(LLEN / listLength)`)? A list length counts
essays, not work: 500 queued `metrics` jobs (≈0.1 s each) and 500 queued `argumentation` jobs
(≈3 s each) are very different amounts of work. Elysia sizes each pool for *time*:

    desired = ceil((backlog + in_flight) × mean_duration / target_drain_seconds)

i.e. "enough workers to finish what is waiting and running within `targetDrainSeconds`", clamped
to [minReplicas, maxReplicas] and never below the number of jobs running right now: the
ReplicaSet, not us, picks which Pods go, so capacity below the in-flight count would certainly
hit busy workers. (A busy Pod that is picked anyway finishes its job: RQ drains on SIGTERM
within the grace period the chart sizes to the job timeout.)

Flapping is avoided like the HorizontalPodAutoscaler's `behavior` stabilisation: every tick's raw
recommendation is remembered; a scale UP goes to the *lowest* recommendation seen within the
up-window (a one-tick spike does not buy pods when the window is non-zero) and a scale DOWN goes
to the *highest* recommendation seen within the down-window (it happens only after the window has
consistently recommended fewer replicas).

Nothing here does I/O or reads a clock: `handlers.py` passes `now`, so tests are table-driven.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PoolSpec(BaseModel):
    """The knobs of one AnalyzerPool (mirrors the CRD's `spec`, camelCase on the wire)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    deployment: str
    queue: str
    min_replicas: int = Field(default=0, ge=0, alias="minReplicas")
    max_replicas: int = Field(default=10, ge=0, alias="maxReplicas")
    target_drain_seconds: float = Field(default=60.0, gt=0, alias="targetDrainSeconds")
    scale_up_stabilization_seconds: float = Field(
        default=0.0, ge=0, alias="scaleUpStabilizationSeconds"
    )
    scale_down_stabilization_seconds: float = Field(
        default=300.0, ge=0, alias="scaleDownStabilizationSeconds"
    )

    @model_validator(mode="after")
    def _min_le_max(self) -> PoolSpec:
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must not exceed maxReplicas")
        return self


class Reading(BaseModel):
    """What Redis says about one queue at one instant."""

    model_config = ConfigDict(frozen=True)

    backlog: int = Field(ge=0)
    in_flight: int = Field(ge=0)
    mean_duration: float | None = Field(default=None, ge=0)
    samples: int = Field(default=0, ge=0)


class Recommendation(BaseModel):
    """One tick's raw recommendation, kept for the stabilisation windows."""

    model_config = ConfigDict(frozen=True)

    time: float
    replicas: int = Field(ge=0)


class Reason(StrEnum):
    """Why the decision is what it is (written to status and to Events)."""

    SCALE_UP = "ScaleUp"
    SCALE_DOWN = "ScaleDown"
    STEADY = "Steady"
    HELD_BY_UP_WINDOW = "HeldByUpStabilization"
    HELD_BY_DOWN_WINDOW = "HeldByDownStabilization"


class Decision(BaseModel):
    """The outcome of one tick: the replica count to set and the history to keep."""

    model_config = ConfigDict(frozen=True)

    desired_replicas: int
    recommendation: int
    reason: Reason
    message: str
    history: tuple[Recommendation, ...]

    @property
    def changes(self) -> bool:
        return self.reason in (Reason.SCALE_UP, Reason.SCALE_DOWN)


def raw_recommendation(spec: PoolSpec, reading: Reading, current_replicas: int) -> int:
    """Replicas needed to drain backlog + in-flight within the target, before stabilisation.

    Without any duration sample yet (a fresh queue), one worker per running job plus one more
    when essays are waiting: enough to start producing durations, never a jump to `max`.
    """
    work = reading.backlog + reading.in_flight
    if work == 0:
        needed = 0
    elif reading.mean_duration is None:
        needed = reading.in_flight + (1 if reading.backlog > 0 else 0)
    else:
        needed = math.ceil(work * reading.mean_duration / spec.target_drain_seconds)
        if reading.backlog > 0:
            needed = max(needed, 1)
    clamped = min(max(needed, spec.min_replicas), spec.max_replicas)
    # Busy pods are never removed. Capped by the current size: RQ's started registry can hold
    # stale entries for a while after a crash, and those must not buy new pods.
    busy_floor = min(reading.in_flight, current_replicas)
    return max(clamped, busy_floor)


def _window(history: Sequence[Recommendation], now: float, seconds: float) -> list[int]:
    return [r.replicas for r in history if now - r.time <= seconds]


def decide(
    spec: PoolSpec,
    reading: Reading,
    current_replicas: int,
    history: Sequence[Recommendation],
    now: float,
    recommendation: int | None = None,
) -> Decision:
    """Choose the replica count for this tick (the HPA's stabilisation over our recommendation).

    `history` is the previous ticks' raw recommendations (any order, possibly empty: after an
    operator restart the windows start afresh from what status kept). `recommendation`
    replaces our raw rule (the benchmark feeds KEDA's list-length rule through the same windows).
    """
    rec = (
        raw_recommendation(spec, reading, current_replicas)
        if recommendation is None
        else recommendation
    )
    horizon = max(spec.scale_up_stabilization_seconds, spec.scale_down_stabilization_seconds)
    earlier = sorted(
        (r for r in history if now - r.time <= horizon and r.time < now), key=lambda r: r.time
    )
    kept = (*earlier, Recommendation(time=now, replicas=rec))

    up_limit = min(_window(kept, now, spec.scale_up_stabilization_seconds))
    down_limit = max(_window(kept, now, spec.scale_down_stabilization_seconds))
    basis = (
        f"backlog={reading.backlog} inFlight={reading.in_flight} "
        f"meanDuration={_fmt(reading.mean_duration)}s target={spec.target_drain_seconds:g}s "
        f"-> recommend {rec}"
    )

    if rec > current_replicas:
        if up_limit > current_replicas:
            return Decision(
                desired_replicas=up_limit,
                recommendation=rec,
                reason=Reason.SCALE_UP,
                message=f"{basis}; scale up {current_replicas}->{up_limit}",
                history=kept,
            )
        return Decision(
            desired_replicas=current_replicas,
            recommendation=rec,
            reason=Reason.HELD_BY_UP_WINDOW,
            message=f"{basis}; held at {current_replicas} by the up-stabilisation window",
            history=kept,
        )
    if rec < current_replicas:
        if down_limit < current_replicas:
            return Decision(
                desired_replicas=down_limit,
                recommendation=rec,
                reason=Reason.SCALE_DOWN,
                message=f"{basis}; scale down {current_replicas}->{down_limit}",
                history=kept,
            )
        return Decision(
            desired_replicas=current_replicas,
            recommendation=rec,
            reason=Reason.HELD_BY_DOWN_WINDOW,
            message=f"{basis}; held at {current_replicas} by the down-stabilisation window",
            history=kept,
        )
    return Decision(
        desired_replicas=current_replicas,
        recommendation=rec,
        reason=Reason.STEADY,
        message=f"{basis}; steady at {current_replicas}",
        history=kept,
    )


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}"
