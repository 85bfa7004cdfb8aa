"""Prometheus metrics of the gateway and the workers (`prometheus-client`).

The metric objects live in the default registry of each process; the gateway serves them at
`/metrics`, a worker on `ELYSIA_METRICS_PORT` when set. Queue depths are read from Redis at scrape
time by a collector, so the gauge is exact whenever Prometheus looks, with no polling loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

HTTP_REQUESTS = Counter(
    "elysia_http_requests_total", "HTTP requests by route and status", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "elysia_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
JOBS_ENQUEUED = Counter("elysia_jobs_enqueued_total", "RQ jobs enqueued", ["queue"])
JOBS_STARTED = Counter("elysia_jobs_started_total", "Dimension jobs started", ["queue"])
JOBS_FINISHED = Counter("elysia_jobs_finished_total", "Jobs finished successfully", ["queue"])
JOBS_FAILED = Counter("elysia_jobs_failed_total", "Jobs failed for good", ["queue"])
JOBS_RETRIED = Counter(
    "elysia_jobs_retried_total", "Jobs retried after transient errors", ["queue"]
)
JOB_DURATION = Histogram(
    "elysia_job_duration_seconds",
    "Job duration per queue",
    ["queue"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
WEBHOOK_DELIVERIES = Counter(
    "elysia_webhook_deliveries_total", "Webhook delivery attempts by outcome", ["outcome"]
)


class QueueDepthCollector(Collector):
    """`elysia_queue_depth{queue=…}` read from Redis when scraped."""

    def __init__(self, depths: Callable[[], dict[str, int]]) -> None:
        self.depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("elysia_queue_depth", "Jobs waiting per queue", labels=["queue"])
        with contextlib.suppress(Exception):  # a scrape must not fail because Redis is down
            for name, depth in self.depths().items():
                family.add_metric([name], float(depth))
        yield family


def register_queue_depths(depths: Callable[[], dict[str, int]]) -> None:
    """Register the depth collector once per process (several apps may share one in tests)."""
    with contextlib.suppress(ValueError):
        REGISTRY.register(QueueDepthCollector(depths))
