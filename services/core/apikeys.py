"""API keys: random, shown once, stored as SHA-256, compared in constant time.

A key reads `ely_<prefix>_<secret>`: the 12-character prefix is stored in clear to find the key
and to name it in listings and logs; the whole key is hashed. The secret has 256 bits of entropy,
so a plain SHA-256 (not a slow password hash) is the right tool: there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from services.core.models import ApiKey, Tenant, TenantLimits, utcnow

SCOPES = ("essays:write", "essays:read", "search", "admin")
DEFAULT_SCOPES = ("essays:write", "essays:read", "search")
_LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: `secret` is the only copy of the full key, shown once."""

    secret: str
    record: ApiKey


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant every query is scoped to, and what the key may do."""

    tenant_id: str
    key_prefix: str
    scopes: frozenset[str]
    limits: TenantLimits = field(default_factory=TenantLimits)

    def can(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def hash_key(full_key: str) -> str:
    return hashlib.sha256(full_key.encode("utf-8")).hexdigest()


def parse_prefix(full_key: str) -> str | None:
    parts = full_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "ely" or len(parts[1]) != 12 or len(parts[2]) < 32:
        return None
    return parts[1]


def check_scopes(scopes: tuple[str, ...]) -> None:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes {unknown}; known: {list(SCOPES)}")


def mint() -> tuple[str, str]:
    """A new (full key, prefix): 48 random bits of prefix, 256 of secret."""
    prefix = secrets.token_hex(6)
    return f"ely_{prefix}_{secrets.token_urlsafe(32)}", prefix


def new_key(tenant_id: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, name: str = "") -> IssuedKey:
    """Mint a key (not yet stored)."""
    check_scopes(scopes)
    full, prefix = mint()
    record = ApiKey(
        prefix=prefix,
        secret_hash=hash_key(full),
        tenant_id=tenant_id,
        scopes=list(scopes),
        name=name,
    )
    return IssuedKey(secret=full, record=record)


async def issue_key(
    tenant_id: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, name: str = ""
) -> IssuedKey:
    issued = new_key(tenant_id, scopes, name)
    await issued.record.insert()
    return issued


async def create_tenant(
    name: str, scopes: tuple[str, ...] = DEFAULT_SCOPES, tenant_id: str | None = None
) -> tuple[Tenant, IssuedKey]:
    """A tenant and its first key (the `elysia admin create-tenant` bootstrap)."""
    tenant = Tenant(name=name) if tenant_id is None else Tenant(id=tenant_id, name=name)
    await tenant.insert()
    return tenant, await issue_key(tenant.id, scopes, name="bootstrap")


async def authenticate(full_key: str) -> Principal | None:
    """The principal for a presented key, or None (unknown, revoked, or tenant disabled)."""
    prefix = parse_prefix(full_key)
    if prefix is None:
        return None
    record = await ApiKey.find_one(ApiKey.prefix == prefix)
    if record is None or record.revoked_at is not None:
        return None
    if not hmac.compare_digest(record.secret_hash, hash_key(full_key)):
        return None
    tenant = await Tenant.get(record.tenant_id)
    if tenant is None or not tenant.active:
        return None
    now = utcnow()
    if record.last_used_at is None or now - record.last_used_at > _LAST_USED_RESOLUTION:
        await ApiKey.get_pymongo_collection().update_one(
            {"_id": record.id}, {"$set": {"last_used_at": now}}
        )
    return Principal(
        tenant_id=record.tenant_id,
        key_prefix=prefix,
        scopes=frozenset(record.scopes),
        limits=tenant.limits,
    )


async def revoke(tenant_id: str, prefix: str) -> bool:
    result = await ApiKey.get_pymongo_collection().update_one(
        {"prefix": prefix, "tenant_id": tenant_id, "revoked_at": None},
        {"$set": {"revoked_at": utcnow()}},
    )
    return result.modified_count == 1
