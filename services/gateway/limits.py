"""Request body limits (size, and UTF-8 for JSON), enforced as the body streams in.

A declared `Content-Length` above the limit is refused at once; a chunked body is counted as it
streams and cut off when it crosses the limit. Either way the client gets a 413 JSON error naming
the limit, and the server never buffers more than the limit.
"""

from __future__ import annotations

import codecs
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyNotUtf8(HTTPException):
    """A JSON body that is not UTF-8 (RFC 8259 requires it): say at which byte."""

    def __init__(self, offset: int) -> None:
        super().__init__(400, f"request body is not valid UTF-8 (at byte {offset})")


class BodyTooLarge(HTTPException):
    """Raised from `receive`: an HTTPException, so FastAPI's body parsing lets it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


class BodySizeLimit:
    """Pure ASGI middleware (streaming bodies pass through untouched below the limit)."""

    def __init__(self, app: ASGIApp, default_limit: int, overrides: dict[str, int]) -> None:
        self.app = app
        self.default_limit = default_limit
        self.overrides = overrides

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reject(send, limit)
            return
        received = 0
        started = False
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        decoder = (
            codecs.getincrementaldecoder("utf-8")()
            if content_type.startswith(b"application/json")
            else None
        )

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                if decoder is not None:
                    try:
                        decoder.decode(chunk, final=not message.get("more_body", False))
                    except UnicodeDecodeError as exc:
                        raise BodyNotUtf8(received + exc.start) from None
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, limit)


async def _reject(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"request body exceeds the limit of {limit} bytes",
                "field": None,
            }
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
