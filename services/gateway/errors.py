"""Every error the API returns is JSON: `{"error": {"code", "message", "field", "details"}}`.

Validation errors name the offending field (a dotted path into the body, query or header);
transient backend failures answer 503 with `Retry-After` (the request was fine, try again), and
nothing unexpected leaks a stack trace: it becomes a 500 with a request id to quote.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.core.errors import backend_of, is_transient
from services.core.logs import request_id_var

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error with a stable machine-readable code, raised by routes and dependencies."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.details = details
        self.headers = headers or {}


def error_body(
    code: str, message: str, field: str | None = None, details: Any = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if details is not None:
        body["details"] = details
    request_id = request_id_var.get()
    if request_id:
        body["request_id"] = request_id
    return {"error": body}


def _field(loc: Any) -> str:
    return ".".join(str(part) for part in loc)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.field, exc.details),
        status_code=exc.status,
        headers=exc.headers,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request", "type": "invalid"}
    details = [
        {"field": _field(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
        for e in errors
    ]
    code = "invalid_json" if first.get("type") == "json_invalid" else "validation_error"
    message = f"{_field(first.get('loc', ()))}: {first.get('msg', 'invalid')}"
    return JSONResponse(
        error_body(code, message, _field(first.get("loc", ())), details), status_code=422
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 400 and "UTF-8" in str(exc.detail):
        code = "invalid_encoding"
    return JSONResponse(
        error_body(code, str(exc.detail)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None) or {},
    )


async def _unhandled(_: Request, exc: Exception) -> JSONResponse:
    if is_transient(exc):
        backend = backend_of(exc)
        log.warning("backend %s unavailable: %s", backend, exc)
        return JSONResponse(
            error_body("backend_unavailable", f"{backend} is temporarily unavailable; retry later"),
            status_code=503,
            headers={"Retry-After": "5"},
        )
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(error_body("internal_error", "internal error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unhandled)
