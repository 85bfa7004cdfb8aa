"""`elysia admin …`: bootstrap tenants and keys directly in MongoDB (no gateway needed)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console

from services.cli.app import app
from services.core.config import Settings

admin_app = typer.Typer(help="Tenants and API keys (operator commands).", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
console = Console()


@admin_app.command("create-tenant")
def create_tenant(
    name: Annotated[str, typer.Argument(help="Display name of the tenant.")],
    tenant_id: Annotated[str | None, typer.Option("--id", help="Choose the tenant id.")] = None,
    scopes: Annotated[
        str, typer.Option(help="Comma-separated scopes of the first key.")
    ] = "essays:write,essays:read,search",
) -> None:
    """Create a tenant and print its first API key (shown once: store it now)."""
    from services.core.apikeys import create_tenant as create
    from services.core.metadata import init_metadata

    async def run() -> None:
        client = await init_metadata(Settings())
        try:
            tenant, key = await create(name, tuple(s.strip() for s in scopes.split(",")), tenant_id)
        finally:
            await client.close()
        console.print(f"tenant: {tenant.id}")
        console.print(f"key prefix: {key.record.prefix}")
        print(key.secret)

    asyncio.run(run())


@admin_app.command("create-key")
def create_key(
    tenant_id: Annotated[str, typer.Argument(help="The tenant that owns the key.")],
    scopes: Annotated[
        str, typer.Option(help="Comma-separated scopes.")
    ] = "essays:write,essays:read,search",
    name: Annotated[str, typer.Option(help="A label for the key.")] = "",
) -> None:
    """Mint another key for a tenant and print it (shown once)."""
    from services.core.apikeys import issue_key
    from services.core.metadata import init_metadata
    from services.core.models import Tenant

    async def run() -> None:
        client = await init_metadata(Settings())
        try:
            if await Tenant.get(tenant_id) is None:
                console.print(f"[red]error:[/red] no tenant {tenant_id}")
                raise typer.Exit(code=2)
            key = await issue_key(tenant_id, tuple(s.strip() for s in scopes.split(",")), name)
        finally:
            await client.close()
        print(key.secret)

    asyncio.run(run())
