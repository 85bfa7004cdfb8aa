"""`/v1/tenants`: the platform operator's endpoints (admin scope) for tenants and their keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from services.core.apikeys import (
    DEFAULT_SCOPES,
    SCOPES,
    Principal,
    check_scopes,
    issue_key,
    revoke,
)
from services.core.models import ApiKey, Tenant, TenantLimits
from services.gateway.deps import Admin, get_principal
from services.gateway.errors import ApiError

router = APIRouter(tags=["tenants"])


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    id: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
    limits: TenantLimits = Field(default_factory=TenantLimits)
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES))


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    active: bool | None = None
    limits: TenantLimits | None = None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES))
    name: str = Field(default="", max_length=200)


class KeyView(BaseModel):
    prefix: str
    name: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class IssuedKeyView(KeyView):
    key: str = Field(description="The full key. Shown once: it is stored only as a hash.")


class TenantView(BaseModel):
    id: str
    name: str
    active: bool
    limits: TenantLimits
    webhook_url: str | None
    created_at: datetime


class TenantCreated(TenantView):
    key: IssuedKeyView


def _tenant_view(t: Tenant) -> TenantView:
    return TenantView(
        id=t.id,
        name=t.name,
        active=t.active,
        limits=t.limits,
        webhook_url=t.webhook_url,
        created_at=t.created_at,
    )


def _key_view(k: ApiKey) -> KeyView:
    return KeyView(
        prefix=k.prefix,
        name=k.name,
        scopes=k.scopes,
        created_at=k.created_at,
        last_used_at=k.last_used_at,
        revoked_at=k.revoked_at,
    )


def _check_scopes(scopes: list[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(scopes))
    try:
        if not chosen:
            raise ValueError(f"give at least one scope of {list(SCOPES)}")
        check_scopes(chosen)
    except ValueError as exc:
        raise ApiError(422, "validation_error", str(exc), field="scopes") from None
    return chosen


async def _tenant_or_404(tenant_id: str) -> Tenant:
    tenant = await Tenant.get(tenant_id)
    if tenant is None:
        raise ApiError(404, "not_found", f"tenant {tenant_id} not found", field="tenant_id")
    return tenant


@router.post("/v1/tenants", status_code=201, response_model=TenantCreated)
async def create_tenant(body: TenantCreate, _: Admin) -> TenantCreated:
    """Create a tenant and its first key (returned once)."""
    scopes = _check_scopes(body.scopes)
    if body.id is not None and await Tenant.get(body.id) is not None:
        raise ApiError(409, "conflict", f"tenant {body.id} already exists", field="id")
    tenant = Tenant(name=body.name, limits=body.limits)
    if body.id is not None:
        tenant.id = body.id
    await tenant.insert()
    issued = await issue_key(tenant.id, scopes, name="first key")
    return TenantCreated(
        **_tenant_view(tenant).model_dump(),
        key=IssuedKeyView(**_key_view(issued.record).model_dump(), key=issued.secret),
    )


@router.get("/v1/tenants/{tenant_id}", response_model=TenantView)
async def get_tenant(tenant_id: str, _: Admin) -> TenantView:
    return _tenant_view(await _tenant_or_404(tenant_id))


@router.patch("/v1/tenants/{tenant_id}", response_model=TenantView)
async def update_tenant(tenant_id: str, body: TenantUpdate, _: Admin) -> TenantView:
    """Rename, (de)activate, or change a tenant's limits."""
    tenant = await _tenant_or_404(tenant_id)
    changes = body.model_dump(exclude_none=True)
    if changes:
        await tenant.set(changes)
    return _tenant_view(await _tenant_or_404(tenant_id))


@router.post("/v1/tenants/{tenant_id}/keys", status_code=201, response_model=IssuedKeyView)
async def create_key(tenant_id: str, body: KeyCreate, _: Admin) -> IssuedKeyView:
    await _tenant_or_404(tenant_id)
    issued = await issue_key(tenant_id, _check_scopes(body.scopes), body.name)
    return IssuedKeyView(**_key_view(issued.record).model_dump(), key=issued.secret)


@router.get("/v1/tenants/{tenant_id}/keys", response_model=list[KeyView])
async def list_keys(tenant_id: str, _: Admin) -> list[KeyView]:
    await _tenant_or_404(tenant_id)
    keys = await ApiKey.find(ApiKey.tenant_id == tenant_id).sort("created_at").to_list()
    return [_key_view(k) for k in keys]


@router.delete("/v1/tenants/{tenant_id}/keys/{prefix}", status_code=204)
async def revoke_key(tenant_id: str, prefix: str, _: Admin) -> Response:
    """Revoke a key (effective within `ELYSIA_AUTH_CACHE_S` seconds on every gateway)."""
    if not await revoke(tenant_id, prefix):
        raise ApiError(
            404, "not_found", f"no active key {prefix} for tenant {tenant_id}", field="prefix"
        )
    return Response(status_code=204)


class MeView(BaseModel):
    tenant_id: str
    key_prefix: str
    scopes: list[str]
    limits: TenantLimits


@router.get("/v1/me", response_model=MeView)
async def me(principal: Annotated[Principal, Depends(get_principal)]) -> MeView:
    """Who the presented key is: its tenant, scopes and limits (no scope required)."""
    return MeView(
        tenant_id=principal.tenant_id,
        key_prefix=principal.key_prefix,
        scopes=sorted(principal.scopes),
        limits=principal.limits,
    )
