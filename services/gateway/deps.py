"""FastAPI dependencies: the app's shared clients, and the caller's identity and scopes.

Routes receive a `Principal` and scope every query with `principal.tenant_id`; a key without the
required scope gets 403, no key or a bad key 401. The platform operator's bootstrap key
(`ELYSIA_ADMIN_BOOTSTRAP_KEY`) is an admin principal of no tenant: it can manage tenants, and
nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from services.core.apikeys import Principal, authenticate
from services.core.config import Settings
from services.core.logs import tenant_id_var
from services.core.queues import Queues
from services.core.search import SearchIndex
from services.core.storage import ObjectStore
from services.core.submission import SubmissionService
from services.gateway.errors import ApiError
from services.gateway.ratelimit import RateLimiter

ADMIN_TENANT = "__admin__"


@dataclass
class AppState:
    """Clients built once per app (in the lifespan) and shared by every request."""

    settings: Settings
    store: ObjectStore
    queues: Queues
    search: SearchIndex
    submissions: SubmissionService
    limiter: RateLimiter
    auth_cache: dict[str, tuple[float, Principal]] = field(default_factory=dict)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.elysia
    return state


State = Annotated[AppState, Depends(get_state)]


def _presented_key(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


async def cached_authenticate(state: AppState, key: str) -> Principal | None:
    """Authenticate with a short in-process cache (`auth_cache_s`): a burst of requests with one
    key costs one MongoDB lookup, and a revoked key stops working within that many seconds."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    now = time.monotonic()
    cached = state.auth_cache.get(digest)
    if cached is not None and cached[0] > now:
        return cached[1]
    principal = await authenticate(key)
    if principal is not None and state.settings.auth_cache_s > 0:
        if len(state.auth_cache) > 10_000:
            state.auth_cache.clear()
        state.auth_cache[digest] = (now + state.settings.auth_cache_s, principal)
    return principal


async def get_principal(
    state: State,
    response: Response,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    key = _presented_key(authorization, x_api_key)
    if not key:
        raise ApiError(
            401,
            "unauthorized",
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    bootstrap = state.settings.admin_bootstrap_key
    if bootstrap is not None and hmac.compare_digest(
        key.encode(), bootstrap.get_secret_value().encode()
    ):
        return Principal(
            tenant_id=ADMIN_TENANT, key_prefix="bootstrap", scopes=frozenset({"admin"})
        )
    principal = await cached_authenticate(state, key)
    if principal is None:
        raise ApiError(
            401,
            "unauthorized",
            "invalid or revoked API key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    tenant_id_var.set(principal.tenant_id)
    limits = principal.limits
    decision = await state.limiter.hit(principal.key_prefix, limits.requests, limits.window_s)
    if not decision.allowed:
        raise ApiError(
            429,
            "rate_limited",
            f"rate limit of {limits.requests} requests per {limits.window_s:g}s exceeded for "
            f"key {principal.key_prefix}",
            headers=decision.headers(),
        )
    response.headers.update(decision.headers())
    return principal


def require(scope: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates and demands one scope (admin implies all)."""

    async def dependency(
        principal: Annotated[Principal, Depends(get_principal)],
    ) -> Principal:
        if scope == "admin":
            allowed = "admin" in principal.scopes
        else:
            allowed = principal.tenant_id != ADMIN_TENANT and principal.can(scope)
        if not allowed:
            raise ApiError(403, "forbidden", f"this API key lacks the '{scope}' scope")
        return principal

    return dependency


EssaysWrite = Annotated[Principal, Depends(require("essays:write"))]
EssaysRead = Annotated[Principal, Depends(require("essays:read"))]
SearchScope = Annotated[Principal, Depends(require("search"))]
Admin = Annotated[Principal, Depends(require("admin"))]
