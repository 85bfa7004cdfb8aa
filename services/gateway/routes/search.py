"""`GET /v1/search`: full-text search over a tenant's consolidated essays.

The tenant comes from the API key and is applied by `SearchIndex.search` as a filter the request
cannot remove; the request itself is parsed and validated into an Elasticsearch body by
`services.core.search_query` (a bad `q`, range or cursor is a 422 naming the parameter).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from elasticsearch import BadRequestError
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from services.core.search_query import (
    CursorError,
    QuerySyntaxError,
    SearchParams,
    build_request,
    encode_cursor,
    facets_of,
    merge_highlights,
)
from services.gateway.deps import SearchScope, State
from services.gateway.errors import ApiError

router = APIRouter()


class SearchQuery(SearchParams):
    """Query-string form of `SearchParams`: an unknown parameter (a typo) is rejected."""

    model_config = ConfigDict(extra="forbid")


class SearchHit(BaseModel):
    essay_id: str
    title: str | None = None
    total: int | None = None
    levels: dict[str, int] = Field(default_factory=dict)
    flags: list[str] = Field(default_factory=list)
    error_categories: list[str] = Field(default_factory=list)
    prompt_id: str | None = None
    batch_id: str | None = None
    groups: dict[str, str] = Field(default_factory=dict)
    created_at: datetime | None = None
    completed_at: datetime | None = None
    score: float | None = Field(default=None, description="Relevance (sort=relevance only)")
    highlights: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Matching fragments per field (text, title, feedback); HTML-escaped, "
        "matches wrapped in <em>",
    )
    cursor: str = Field(description="Pass as `cursor` to continue right after this hit")


class SearchResponse(BaseModel):
    total: int = Field(description="Essays matching the query and filters")
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        description="Counts per value: c1..c5 (level), total (histogram of 200), "
        "error_categories, flags, groups (column=value), prompts",
    )
    next: str | None = Field(
        default=None, description="Cursor of the next page (absent on the last page)"
    )


def _hit(raw: dict[str, Any], sort: str) -> SearchHit:
    source: dict[str, Any] = raw.get("_source") or {}
    return SearchHit(
        essay_id=source.get("essay_id") or raw["_id"],
        title=source.get("title"),
        total=source.get("total"),
        levels=source.get("levels") or {},
        flags=source.get("flags") or [],
        error_categories=source.get("error_categories") or [],
        prompt_id=source.get("prompt_id"),
        batch_id=source.get("batch_id"),
        groups=source.get("groups") or {},
        created_at=source.get("created_at"),
        completed_at=source.get("completed_at"),
        score=raw.get("_score") if sort == "relevance" else None,
        highlights=merge_highlights(raw.get("highlight")),
        cursor=encode_cursor(sort, raw["sort"]),
    )


@router.get("/v1/search", response_model=SearchResponse, tags=["search"])
async def search_essays(
    principal: SearchScope, state: State, params: Annotated[SearchQuery, Query()]
) -> SearchResponse:
    """Search essays: `q` (words, "phrases", AND/OR/NOT, -word, field:value), filters, facets."""
    try:
        body = build_request(params)
    except QuerySyntaxError as exc:
        raise ApiError(422, "validation_error", f"q: {exc}", field="q") from exc
    except CursorError as exc:
        raise ApiError(422, "validation_error", f"cursor: {exc}", field="cursor") from exc
    except ValueError as exc:  # group filters
        raise ApiError(422, "validation_error", f"group: {exc}", field="group") from exc
    try:
        result = await asyncio.to_thread(state.search.search, principal.tenant_id, body)
    except BadRequestError as exc:  # a value the builder let through but the engine refuses
        raise ApiError(
            422, "validation_error", f"the search engine refused the query: {exc.message}"
        ) from exc
    raw_hits: list[dict[str, Any]] = result["hits"]["hits"]
    hits = [_hit(raw, params.sort) for raw in raw_hits]
    return SearchResponse(
        total=int(result["hits"]["total"]["value"]),
        hits=hits,
        facets=facets_of(result.get("aggregations")),
        next=hits[-1].cursor if len(hits) == params.size else None,
    )
