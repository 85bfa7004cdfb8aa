"""Table-driven tests of the pure autoscaling decision (operators/autoscaler/policy.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from operators.autoscaler.policy import (
    PoolSpec,
    Reading,
    Reason,
    Recommendation,
    decide,
    raw_recommendation,
)


def spec(**kw: object) -> PoolSpec:
    base: dict[str, object] = {
        "deployment": "elysia-worker-grammar",
        "queue": "grammar",
        "minReplicas": 0,
        "maxReplicas": 20,
        "targetDrainSeconds": 60,
        "scaleUpStabilizationSeconds": 0,
        "scaleDownStabilizationSeconds": 120,
    }
    base.update(kw)
    return PoolSpec.model_validate(base)


@dataclass(frozen=True)
class RawCase:
    name: str
    backlog: int
    in_flight: int
    mean: float | None
    current: int
    expected: int
    spec_kw: tuple[tuple[str, object], ...] = ()


RAW_CASES = [
    RawCase("idle pool recommends zero", 0, 0, 2.0, 3, 0),
    RawCase("idle pool respects minReplicas", 0, 0, 2.0, 3, 2, (("minReplicas", 2),)),
    # 600 jobs × 2 s / 60 s = 20
    RawCase("time-based sizing", 590, 10, 2.0, 1, 20),
    # 600 × 2 / 60 = 20 but max 8
    RawCase("clamped to maxReplicas", 590, 10, 2.0, 1, 8, (("maxReplicas", 8),)),
    # 100 × 0.1 / 60 → ceil(0.166) = 1: cheap jobs need few pods whatever the list length
    RawCase("cheap jobs need one pod", 100, 0, 0.1, 0, 1),
    # 31 × 2 / 60 = 1.03 → 2
    RawCase("ceil, not round", 31, 0, 2.0, 0, 2),
    RawCase("never below busy pods", 0, 5, 1.0, 5, 5),
    RawCase("busy floor capped by current size (stale wip)", 0, 5, 1.0, 2, 2),
    RawCase("busy floor may exceed max when already there", 0, 6, 1.0, 6, 6, (("maxReplicas", 4),)),
    RawCase("no durations yet: busy + 1", 40, 2, None, 2, 3),
    RawCase("no durations, nothing running: one pod", 40, 0, None, 0, 1),
    RawCase("zero mean duration still serves a backlog", 10, 0, 0.0, 0, 1),
]


@pytest.mark.parametrize("case", RAW_CASES, ids=[c.name for c in RAW_CASES])
def test_raw_recommendation(case: RawCase) -> None:
    reading = Reading(backlog=case.backlog, in_flight=case.in_flight, mean_duration=case.mean)
    assert raw_recommendation(spec(**dict(case.spec_kw)), reading, case.current) == case.expected


@dataclass(frozen=True)
class DecideCase:
    name: str
    reading: Reading
    current: int
    history: tuple[tuple[float, int], ...]  # (seconds before now, replicas)
    expected_replicas: int
    expected_reason: Reason
    spec_kw: tuple[tuple[str, object], ...] = ()


NOW = 10_000.0
BIG = Reading(backlog=600, in_flight=0, mean_duration=2.0)  # recommends 20
SMALL = Reading(backlog=30, in_flight=0, mean_duration=2.0)  # recommends 1
NONE = Reading(backlog=0, in_flight=0, mean_duration=2.0)  # recommends 0

DECIDE_CASES = [
    DecideCase("scale up at once with a zero up-window", BIG, 1, (), 20, Reason.SCALE_UP),
    DecideCase(
        "up-window takes the lowest recommendation seen",
        BIG,
        1,
        ((5, 4), (20, 1)),
        4,
        Reason.SCALE_UP,
        (("scaleUpStabilizationSeconds", 10),),
    ),
    DecideCase(
        "a one-tick spike is held by a non-zero up-window",
        BIG,
        2,
        ((5, 2),),
        2,
        Reason.HELD_BY_UP_WINDOW,
        (("scaleUpStabilizationSeconds", 10),),
    ),
    DecideCase(
        "scale down waits while the window saw a higher recommendation",
        NONE,
        20,
        ((60, 20), (30, 0)),
        20,
        Reason.HELD_BY_DOWN_WINDOW,
    ),
    DecideCase(
        "scale down to the max of the window",
        SMALL,
        20,
        ((60, 5), (30, 3), (200, 20)),
        5,
        Reason.SCALE_DOWN,
    ),
    DecideCase(
        "scale to zero after a quiet window",
        NONE,
        3,
        ((100, 0), (50, 0), (200, 3)),
        0,
        Reason.SCALE_DOWN,
    ),
    DecideCase(
        "zero down-window scales down at once",
        NONE,
        4,
        ((5, 4),),
        0,
        Reason.SCALE_DOWN,
        (("scaleDownStabilizationSeconds", 0),),
    ),
    DecideCase(
        "never below in-flight even after a quiet window",
        Reading(backlog=0, in_flight=3, mean_duration=1.0),
        5,
        ((100, 0), (50, 0)),
        3,
        Reason.SCALE_DOWN,
    ),
    DecideCase("steady", SMALL, 1, ((10, 1),), 1, Reason.STEADY),
    DecideCase(
        "scale from zero on new work",
        Reading(backlog=5, in_flight=0, mean_duration=30.0),
        0,
        ((10, 0),),
        3,
        Reason.SCALE_UP,
    ),
    DecideCase(
        "future-dated history (clock skew) is ignored",
        NONE,
        3,
        ((-50, 9),),
        0,
        Reason.SCALE_DOWN,
    ),
]


@pytest.mark.parametrize("case", DECIDE_CASES, ids=[c.name for c in DECIDE_CASES])
def test_decide(case: DecideCase) -> None:
    history = [Recommendation(time=NOW - ago, replicas=r) for ago, r in case.history]
    decision = decide(spec(**dict(case.spec_kw)), case.reading, case.current, history, NOW)
    assert (decision.desired_replicas, decision.reason) == (
        case.expected_replicas,
        case.expected_reason,
    )
    assert decision.changes == (case.expected_replicas != case.current)


def test_history_is_trimmed_to_the_longest_window_and_includes_this_tick() -> None:
    old = [Recommendation(time=NOW - 500, replicas=9), Recommendation(time=NOW - 30, replicas=2)]
    decision = decide(spec(), SMALL, 2, old, NOW)
    assert [(r.time, r.replicas) for r in decision.history] == [(NOW - 30, 2), (NOW, 1)]


def test_a_burst_then_quiet_sequence() -> None:
    """Simulated ticks: up at once, hold through the down-window, then release."""
    s = spec(scaleDownStabilizationSeconds=60)
    history: list[Recommendation] = []
    current = 0
    timeline = []
    for t in range(0, 200, 10):
        reading = BIG if t < 30 else NONE
        d = decide(s, reading, current, history, float(t))
        history = list(d.history)
        current = d.desired_replicas
        timeline.append(current)
    assert timeline[0] == 20  # immediate scale-up
    assert timeline[3:9] == [20] * 6  # quiet from t=30, window still holds the t=20 peak
    assert timeline[9] == 0  # t=90: the last 20 (t=20) left the 60 s window
    assert timeline[-1] == 0


def test_spec_rejects_min_above_max() -> None:
    with pytest.raises(ValidationError):
        spec(minReplicas=5, maxReplicas=2)
