"""Replay a bursty day through the autoscaler: Elysia's time-based rule vs KEDA's list length.

Usage:
    .venv/bin/python bench/operator_sim.py [--seed 7] [--burst 5000] [--trickle-per-min 30]
        [--hours 2] [--durations grammar=1.2,theme=0.8,...] [--keda-target 5,50]

The trace: a batch of `--burst` essays at 08:00 (a school uploading its ENEM mock exam) plus a
steady Poisson trickle. Every essay becomes one job on each of the six dimension queues. Each
queue has its own pool of workers (production bounds from charts/elysia/values-production.yaml:
min/max replicas, targetDrainSeconds 300) and its own job-duration distribution: lognormal
(sigma 0.5) around a per-dimension mean. The means default to ASSUMED figures (below), because
no measured per-dimension means were available when this was written; pass the means printed by
`bench/analysis_speed.py` (wall s/essay per dimension) with `--durations` to replace them.

Both rules run through the SAME stabilisation (`operators.autoscaler.policy.decide`: scale up
at once, scale down to the max recommendation of a 300 s window), the same 5 s tick, the same
20 s pod start-up and the same graceful drain (a busy pod finishes its job before leaving); only
the raw recommendation differs:

    Elysia   ceil((backlog + in_flight) × mean_duration / targetDrainSeconds), ≥ in_flight
    KEDA     ceil(backlog / targetListLength)     (KEDA's Redis list scaler; default length 5)

Printed per rule: time to drain the 08:00 batch (the last burst essay fully analysed),
replica-seconds spent (cost), p95 queue wait of a job, p95 essay latency (all six dimensions
done), and ratios against Elysia in the same run. Deterministic for a given --seed.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from operators.autoscaler.policy import (  # noqa: E402
    PoolSpec,
    Reading,
    Recommendation,
    decide,
    raw_recommendation,
)

# ASSUMED mean job durations (seconds per essay) — replace with measured ones via --durations.
ASSUMED_MEANS = {
    "grammar": 1.2,
    "theme": 0.8,
    "argumentation": 2.5,
    "cohesion": 0.6,
    "proposal": 0.9,
    "metrics": 0.05,
}
# From values-production.yaml.
BOUNDS = {
    "grammar": (2, 40),
    "theme": (2, 40),
    "argumentation": (2, 60),
    "cohesion": (1, 40),
    "proposal": (1, 40),
    "metrics": (1, 10),
}
TICK_S = 5.0
STARTUP_S = 20.0
SIGMA = 0.5
DRAIN_TARGET_S = 300.0
DOWN_WINDOW_S = 300.0


@dataclass
class Job:
    essay: int
    arrival: float
    duration: float


@dataclass
class Pod:
    created: float
    ready_at: float
    free_at: float = 0.0
    leaving: bool = False
    gone_at: float | None = None


@dataclass
class PoolResult:
    waits: list[float] = field(default_factory=list)
    replica_seconds: float = 0.0
    done_at: dict[int, float] = field(default_factory=dict)
    peak: int = 0


Rule = Callable[[PoolSpec, Reading, int], int]


def elysia_rule(spec: PoolSpec, reading: Reading, current: int) -> int:
    return raw_recommendation(spec, reading, current)


def keda_rule(target_length: int) -> Rule:
    def rule(spec: PoolSpec, reading: Reading, current: int) -> int:
        wanted = math.ceil(reading.backlog / target_length)
        return min(max(wanted, spec.min_replicas), spec.max_replicas)

    return rule


def lognormal(rng: random.Random, mean: float) -> float:
    mu = math.log(mean) - SIGMA**2 / 2
    return rng.lognormvariate(mu, SIGMA)


def make_trace(rng: random.Random, burst: int, trickle_per_min: float, hours: float) -> list[float]:
    """Arrival time (s after 08:00) of every essay: the batch at 0, then a Poisson trickle."""
    arrivals = [0.0] * burst
    t, end, rate = 0.0, hours * 3600, trickle_per_min / 60
    while rate > 0:
        t += rng.expovariate(rate)
        if t >= end:
            break
        arrivals.append(t)
    return arrivals


def simulate_pool(
    dim: str,
    jobs: list[Job],
    rule: Rule,
    horizon: float,
    rng: random.Random,
    drain_target: float,
) -> PoolResult:
    low, high = BOUNDS[dim]
    spec = PoolSpec.model_validate(
        {
            "deployment": dim,
            "queue": dim,
            "minReplicas": low,
            "maxReplicas": high,
            "targetDrainSeconds": drain_target,
            "scaleUpStabilizationSeconds": 0,
            "scaleDownStabilizationSeconds": DOWN_WINDOW_S,
        }
    )
    result = PoolResult()
    pods = [Pod(created=-3600, ready_at=-3600) for _ in range(low)]
    queue: deque[Job] = deque()
    recent = deque((lognormal(rng, ASSUMED_MEANS_ACTIVE[dim]) for _ in range(20)), maxlen=20)
    history: list[Recommendation] = []
    pending = list(jobs)  # sorted by arrival
    nxt = 0
    t = 0.0
    finishing: list[tuple[float, float]] = []  # (finish time, duration) heap, for the mean
    while t < horizon:
        while nxt < len(pending) and pending[nxt].arrival <= t:
            queue.append(pending[nxt])
            nxt += 1
        # workers take jobs during (t, t + TICK]
        step_end = t + TICK_S
        for pod in pods:
            if pod.leaving or pod.ready_at >= step_end:
                continue
            clock = max(pod.free_at, pod.ready_at, t)
            while queue and clock < step_end:
                job = queue.popleft()
                start = max(clock, job.arrival)
                result.waits.append(start - job.arrival)
                pod.free_at = start + job.duration
                heapq.heappush(finishing, (pod.free_at, job.duration))
                prev = result.done_at.get(job.essay, 0.0)
                result.done_at[job.essay] = max(prev, pod.free_at)
                clock = pod.free_at
        t = step_end
        while finishing and finishing[0][0] <= t:
            recent.appendleft(heapq.heappop(finishing)[1])
        # leaving pods exit once their job is done
        for pod in pods:
            if pod.leaving and pod.gone_at is None:
                pod.gone_at = max(pod.free_at, t - TICK_S)
        live = [p for p in pods if not p.leaving]
        in_flight = sum(1 for p in live if p.free_at > t)
        reading = Reading(
            backlog=len(queue),
            in_flight=in_flight,
            mean_duration=sum(recent) / len(recent),
            samples=len(recent),
        )
        # the shared HPA-style stabilisation, fed the rule's raw recommendation
        decision = decide(
            spec, reading, len(live), history, t, recommendation=rule(spec, reading, len(live))
        )
        history = list(decision.history)
        desired = decision.desired_replicas
        if desired > len(live):
            pods.extend(Pod(created=t, ready_at=t + STARTUP_S) for _ in range(desired - len(live)))
        elif desired < len(live):
            # ReplicaSet victims: not-ready first, then the newest.
            victims = sorted(live, key=lambda p: (p.ready_at <= t, -p.created))
            for pod in victims[: len(live) - desired]:
                pod.leaving = True
        result.peak = max(result.peak, sum(1 for p in pods if not p.leaving))
    for pod in pods:
        end = pod.gone_at if pod.gone_at is not None else horizon
        result.replica_seconds += max(0.0, min(end, horizon) - max(pod.created, 0.0))
    return result


ASSUMED_MEANS_ACTIVE = dict(ASSUMED_MEANS)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1) + 0.5))] if ordered else 0.0


def run(
    rule: Rule, arrivals: list[float], seed: int, horizon: float, drain_target: float
) -> dict[str, float]:
    waits: list[float] = []
    replica_s = 0.0
    essay_done: dict[int, float] = {}
    for i, dim in enumerate(ASSUMED_MEANS_ACTIVE):
        rng = random.Random(seed * 1000 + i)  # same job durations for every rule
        mean = ASSUMED_MEANS_ACTIVE[dim]
        jobs = [Job(e, a, lognormal(rng, mean)) for e, a in enumerate(arrivals)]
        res = simulate_pool(
            dim, jobs, rule, horizon, random.Random(seed * 1000 + 100 + i), drain_target
        )
        waits.extend(res.waits)
        replica_s += res.replica_seconds
        for essay, done in res.done_at.items():
            essay_done[essay] = max(essay_done.get(essay, 0.0), done)
    burst = [e for e, a in enumerate(arrivals) if a == 0.0]
    unfinished = sum(1 for e in range(len(arrivals)) if e not in essay_done)
    latencies = [essay_done[e] - arrivals[e] for e in essay_done]
    return {
        "drain_s": max(essay_done.get(e, math.inf) for e in burst) if burst else 0.0,
        "replica_s": replica_s,
        "p95_wait_s": p95(waits),
        "p95_essay_s": p95(latencies),
        "unfinished": float(unfinished),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--trickle-per-min", type=float, default=30.0)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--durations", default="", help="dim=mean_s,... (from analysis_speed)")
    parser.add_argument("--keda-target", default="5,50,500", help="KEDA listLength value(s)")
    parser.add_argument(
        "--drain-targets", default="300,120", help="Elysia targetDrainSeconds value(s)"
    )
    parser.add_argument(
        "--max-replicas", type=int, default=0, help="override every pool's max (0 = production)"
    )
    args = parser.parse_args(argv)
    if args.max_replicas:
        for dim, (low, _) in list(BOUNDS.items()):
            BOUNDS[dim] = (low, args.max_replicas)
    source = "ASSUMED (no measured means given)"
    if args.durations:
        for item in args.durations.split(","):
            dim, value = item.split("=")
            ASSUMED_MEANS_ACTIVE[dim.strip()] = float(value)
        source = f"given: {args.durations}"
    rng = random.Random(args.seed)
    arrivals = make_trace(rng, args.burst, args.trickle_per_min, args.hours)
    horizon = args.hours * 3600 + 1800  # 30 min of tail for the last essays
    print(
        f"trace: {args.burst} essays at 08:00 + {args.trickle_per_min}/min for {args.hours} h "
        f"= {len(arrivals)} essays x {len(ASSUMED_MEANS_ACTIVE)} dimensions; seed {args.seed}"
    )
    means = ", ".join(f"{d} {m:g}s" for d, m in ASSUMED_MEANS_ACTIVE.items())
    print(f"mean job durations ({source}): {means}; lognormal sigma {SIGMA}")
    print(
        f"tick {TICK_S:g}s, pod start-up {STARTUP_S:g}s, "
        f"scale-down window {DOWN_WINDOW_S:g}s, bounds per dimension "
        f"{'max ' + str(args.max_replicas) if args.max_replicas else 'from values-production.yaml'}"
    )
    rules: list[tuple[str, Rule, float]] = [
        (f"elysia drain={float(d):g}s", elysia_rule, float(d))
        for d in args.drain_targets.split(",")
    ]
    for target in args.keda_target.split(","):
        rules.append((f"keda listLength={target}", keda_rule(int(target)), DRAIN_TARGET_S))
    rows = [(name, run(rule, arrivals, args.seed, horizon, d)) for name, rule, d in rules]
    base = rows[0][1]
    header = (
        f"{'rule':<24}{'drain 08:00 batch':>18}{'replica-hours':>15}{'p95 wait':>11}"
        f"{'p95 essay':>11}{'unfinished':>11}   ratios vs first row (drain, cost, p95 wait)"
    )
    print(header)
    print("-" * len(header))
    for name, r in rows:
        print(
            f"{name:<24}{r['drain_s']:>16.0f} s{r['replica_s'] / 3600:>15.1f}"
            f"{r['p95_wait_s']:>9.0f} s{r['p95_essay_s']:>9.0f} s{int(r['unfinished']):>11}"
            f"   {r['drain_s'] / base['drain_s']:.2f}x, {r['replica_s'] / base['replica_s']:.2f}x, "
            f"{r['p95_wait_s'] / max(base['p95_wait_s'], 1e-9):.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
