"""Webhooks: signed JSON events to a tenant's callback URL, delivered with retries.

Signature scheme (documented for receivers): the headers `X-Elysia-Timestamp: <unix seconds>` and
`X-Elysia-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`. A receiver recomputes
the HMAC over the raw body, compares in constant time, and rejects timestamps outside its replay
window (default 300 s): a captured request cannot be replayed later, nor its body altered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlparse

from services.core.models import AnalysisJob, Tenant, WebhookDelivery, derived_id

SIGNATURE_HEADER = "X-Elysia-Signature"
TIMESTAMP_HEADER = "X-Elysia-Timestamp"
EVENT_HEADER = "X-Elysia-Event"
DELIVERY_HEADER = "X-Elysia-Delivery"


class WebhookUrlError(ValueError):
    """The callback URL is not an absolute http(s) URL."""


def validate_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise WebhookUrlError("the webhook URL must be an absolute http:// or https:// URL")
    return url


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    tolerance_s: int = 300,
    now: float | None = None,
) -> bool:
    """What a receiver does: constant-time HMAC check and a replay window on the timestamp."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def event_payload(job: AnalysisJob, delivery_id: str) -> dict[str, Any]:
    """The event body: enough to act on without a second request, small enough to log."""
    score = (job.result or {}).get("score") or {}
    return {
        "id": delivery_id,
        "type": f"job.{job.status.value.lower()}",
        "job_id": job.id,
        "essay_id": job.essay_id,
        "batch_id": job.batch_id,
        "status": job.status.value,
        "total": score.get("total"),
        "levels": score.get("levels"),
        "flags": score.get("flags", []),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


async def create_delivery(job: AnalysisJob) -> WebhookDelivery | None:
    """Record the event of a finished job for its tenant's webhook (once per job)."""
    tenant = await Tenant.get(job.tenant_id)
    if tenant is None or not tenant.webhook_url:
        return None
    delivery_id = derived_id(job.id, "webhook", job.status.value)
    existing = await WebhookDelivery.get(delivery_id)
    if existing is not None:
        return existing
    delivery = WebhookDelivery(
        id=delivery_id,
        tenant_id=job.tenant_id,
        event=f"job.{job.status.value.lower()}",
        job_id=job.id,
        url=tenant.webhook_url,
        payload=event_payload(job, delivery_id),
    )
    await delivery.insert()
    return delivery
