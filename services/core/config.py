"""Runtime configuration: one `Settings` object built from `ELYSIA_*` environment variables.

Nothing reads the environment at import time; callers build `Settings()` once (CLI entry
point, app factory, worker start-up) and pass it down, so tests can run several configurations
side by side.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DIMENSION_QUEUES = ("grammar", "theme", "argumentation", "cohesion", "proposal", "metrics")
PLATFORM_QUEUES = ("consolidate", "ingest", "index", "webhooks")


class Settings(BaseSettings):
    """Every knob of the platform, with defaults that match `scripts/infra/up` on loopback."""

    model_config = SettingsConfigDict(env_prefix="ELYSIA_", extra="ignore")

    # Backends
    redis_url: str = "redis://127.0.0.1:6379/0"
    mongodb_uri: str = "mongodb://127.0.0.1:27017"
    mongodb_db: str = "elysia"
    elasticsearch_url: str = "http://127.0.0.1:9200"
    es_index_prefix: str = "elysia"
    s3_endpoint_url: str | None = "http://127.0.0.1:5000"
    s3_bucket: str = "elysia"
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr = SecretStr("elysia")
    s3_secret_access_key: SecretStr = SecretStr("elysia-secret")
    backend_timeout_s: float = 5.0
    kubeconfig: str | None = None  # the operator's cluster (None: in-cluster config)

    # Queues: names are the dimension names, optionally prefixed so that several deployments
    # (or parallel test sessions) can share one Redis without seeing each other's work.
    queue_prefix: str = ""
    job_max_attempts: int = Field(default=4, ge=1, le=20)
    job_backoff_base_s: float = Field(default=2.0, ge=0.0)
    job_timeout_s: int = Field(default=300, ge=1)
    reconcile_interval_s: float = Field(default=30.0, gt=0)
    reconcile_grace_s: float = Field(default=60.0, ge=0)
    worker_liveness_ttl_s: int = Field(default=15, ge=2)

    # Analysis
    rubric: str = "enem"
    language: str = "pt-BR"

    # Gateway input limits
    max_text_bytes: int = Field(default=50_000, gt=0)
    max_request_bytes: int = Field(default=256 * 1024, gt=0)
    max_csv_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    public_base_url: str = ""

    # Tenancy and limits
    admin_bootstrap_key: SecretStr | None = None
    auth_cache_s: float = Field(default=10.0, ge=0)
    webhook_tolerance_s: int = Field(default=300, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_backoff_base_s: float = Field(default=1.0, ge=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    metrics_port: int = Field(default=0, ge=0, le=65535)

    log_level: str = "INFO"
    log_json: bool = True

    def queue_name(self, name: str) -> str:
        """The RQ queue for a dimension or platform step, with this deployment's prefix."""
        return f"{self.queue_prefix}{name}"

    def channel(self, job_id: str) -> str:
        """The Redis pub/sub channel that carries one job's state changes."""
        return f"{self.queue_prefix}elysia:events:{job_id}"

    def liveness_key(self, worker_name: str) -> str:
        """Short-TTL key a live worker keeps refreshing (see `services.workers.runner`)."""
        return f"{self.queue_prefix}elysia:alive:{worker_name}"

    def durations_key(self, name: str) -> str:
        """Redis list of recent job durations (seconds, newest first) of one queue.

        Workers push to it; the autoscaler operator reads it to size each dimension's Deployment.
        """
        return f"{self.queue_prefix}elysia:durations:{name}"

    @property
    def es_alias(self) -> str:
        """The alias every search reads from; indices behind it are versioned."""
        return f"{self.es_index_prefix}-essays"
