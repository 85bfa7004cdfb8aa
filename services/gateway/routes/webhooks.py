"""`/v1/webhooks`: a tenant's callback URL and the record of every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from services.core.models import Tenant, WebhookDelivery
from services.core.webhooks import WebhookUrlError, new_secret, validate_url
from services.gateway.deps import EssaysRead, EssaysWrite
from services.gateway.errors import ApiError

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000, description="Absolute http(s) URL that receives events.")
    rotate_secret: bool = Field(default=False, description="Issue a new signing secret.")


class WebhookView(BaseModel):
    url: str | None
    secret: str | None = Field(
        default=None, description="The signing secret: returned when created or rotated only."
    )


class DeliveryView(BaseModel):
    id: str
    event: str
    job_id: str
    url: str
    status: str
    attempts: list[dict[str, Any]]
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryView]
    next_before: datetime | None


async def _tenant(tenant_id: str) -> Tenant:
    tenant = await Tenant.get(tenant_id)
    assert tenant is not None, "an authenticated principal always has a tenant"
    return tenant


@router.put("", response_model=WebhookView)
async def set_webhook(body: WebhookConfig, principal: EssaysWrite) -> WebhookView:
    """Register (or change) the callback URL; events are signed with the returned secret."""
    try:
        url = validate_url(body.url)
    except WebhookUrlError as exc:
        raise ApiError(422, "validation_error", str(exc), field="url") from None
    tenant = await _tenant(principal.tenant_id)
    secret = None
    if tenant.webhook_secret is None or body.rotate_secret:
        secret = new_secret()
        await tenant.set({"webhook_url": url, "webhook_secret": secret})
    else:
        await tenant.set({"webhook_url": url})
    return WebhookView(url=url, secret=secret)


@router.get("", response_model=WebhookView)
async def get_webhook(principal: EssaysRead) -> WebhookView:
    return WebhookView(url=(await _tenant(principal.tenant_id)).webhook_url)


@router.delete("", status_code=204)
async def delete_webhook(principal: EssaysWrite) -> Response:
    tenant = await _tenant(principal.tenant_id)
    await tenant.set({"webhook_url": None, "webhook_secret": None})
    return Response(status_code=204)


@router.get("/deliveries", response_model=DeliveryPage)
async def list_deliveries(
    principal: EssaysRead,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        datetime | None, Query(description="Cursor: created_at of the last item.")
    ] = None,
    job_id: Annotated[str | None, Query(max_length=64)] = None,
) -> DeliveryPage:
    """Delivery attempts of this tenant's events, newest first."""
    query: dict[str, Any] = {"tenant_id": principal.tenant_id}
    if before is not None:
        query["created_at"] = {"$lt": before}
    if job_id is not None:
        query["job_id"] = job_id
    found = await WebhookDelivery.find(query).sort("-created_at").limit(limit).to_list()
    items = [DeliveryView(**d.model_dump(include=set(DeliveryView.model_fields))) for d in found]
    return DeliveryPage(
        items=items, next_before=found[-1].created_at if len(found) == limit else None
    )
