"""Request observability as one pure ASGI middleware: request id, metrics, correlation.

A pure ASGI layer (not Starlette's `BaseHTTPMiddleware`, which wraps every request in extra tasks
and streams) keeps the per-request cost low: the rate limiter's 429 path must stay cheap under a
burst. Each request gets an id (the caller's `X-Request-ID`, or a new one) that is echoed back and
attached to every log line written while serving it; counts and latencies go to Prometheus by
route *template*, so ids in paths do not explode label cardinality.
"""

from __future__ import annotations

import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.core import metrics
from services.core.logs import request_id_var


class Observability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        rid = (headers.get(b"x-request-id", b"").decode("latin-1") or uuid.uuid4().hex)[:64]
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
            request_id_var.reset(token)
