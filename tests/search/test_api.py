"""`GET /v1/search` over HTTP (the real gateway app in process, real MongoDB and Elasticsearch)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.core.config import Settings
from services.core.search import SearchIndex
from tests.search.corpus import corpus

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def keys(
    metadata: Any, search_index: SearchIndex, s3_server: None, redis_server: None
) -> AsyncIterator[tuple[str, str, str]]:
    """Two tenants with indexed essays, and a key of the first without the `search` scope."""
    from services.core.apikeys import create_tenant, issue_key

    tenant, key = await create_tenant("Escola Busca")
    other, other_key = await create_tenant("Outra Escola Busca")
    no_search = await issue_key(tenant.id, ("essays:read",))
    docs = corpus(tenant.id, other.id)
    search_index.bulk_index(docs, refresh=True)
    yield key.secret, other_key.secret, no_search.secret
    for essay_id, _ in docs:
        search_index.delete(essay_id)


@pytest.fixture(scope="module")
async def client(settings: Settings, metadata: Any) -> AsyncIterator[httpx.AsyncClient]:
    from services.gateway.app import create_app

    # Beanie is already initialised on this loop by `metadata`: the lifespan is not needed.
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


async def get(
    client: httpx.AsyncClient, key: str, params: dict[str, Any] | list[tuple[str, Any]]
) -> httpx.Response:
    return await client.get("/v1/search", params=params, headers={"Authorization": f"Bearer {key}"})


async def test_search_returns_hits_highlights_facets(
    client: httpx.AsyncClient, keys: tuple[str, str, str]
) -> None:
    key, _, _ = keys
    response = await get(client, key, {"q": '"mobilidade urbana"', "sort": "-total"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 2 and body["next"] is None
    first, second = body["hits"]
    assert first["essay_id"].endswith("-mobilidade") and second["essay_id"].endswith("-transporte")
    assert first["total"] == 840 and first["levels"]["c1"] == 200
    assert first["groups"] == {"turma": "3C", "escola": "E1"}
    assert "A <em>mobilidade urbana</em> nas" in first["highlights"]["text"][0]
    assert body["facets"]["c5"] == {"160": 2}
    assert first["cursor"] and first["score"] is None


async def test_filters_and_pagination_over_http(
    client: httpx.AsyncClient, keys: tuple[str, str, str]
) -> None:
    key, _, _ = keys
    params: list[tuple[str, Any]] = [
        ("group", "turma=3B"),
        ("group", "turma=3C"),
        ("max_c5", "120"),
        ("sort", "date"),
        ("size", "2"),
        ("facets", "false"),
    ]
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        page = await get(client, key, [*params, *([("cursor", cursor)] if cursor else [])])
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["total"] == 5 and body["facets"] == {}
        seen.extend(hit["essay_id"].split("-", 1)[1] for hit in body["hits"])
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == ["educacao", "escola", "mobilidade-separada", "onde", "saude"]


async def test_tenant_isolation_over_http(
    client: httpx.AsyncClient, keys: tuple[str, str, str]
) -> None:
    key, other_key, _ = keys
    mine = (await get(client, key, {"q": "mobilidade"})).json()
    theirs = (await get(client, other_key, {"q": "mobilidade"})).json()
    assert mine["total"] == 3 and theirs["total"] == 1
    assert not {h["essay_id"] for h in mine["hits"]} & {h["essay_id"] for h in theirs["hits"]}
    # Unknown parameters (e.g. an attempt to pass a tenant) are rejected, not ignored.
    response = await get(client, key, {"tenant_id": "other"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "query.tenant_id"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"min_c5": "abc"}, "query.min_c5"),
        ({"max_total": "1200"}, "query.max_total"),
        ({"sort": "shuffle"}, "query.sort"),
        ({"size": "0"}, "query.size"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"q": '"unterminated'}, "q"),
        ({"q": "tenant_id:x"}, "q"),
        ({"group": "turma"}, "group"),
        ({"created_from": "yesterday"}, "query.created_from"),
    ],
)
async def test_invalid_parameters_are_422_naming_the_field(
    client: httpx.AsyncClient, keys: tuple[str, str, str], params: dict[str, str], field: str
) -> None:
    response = await get(client, keys[0], params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field and error["code"] == "validation_error"


async def test_cursor_of_another_sort_is_rejected(
    client: httpx.AsyncClient, keys: tuple[str, str, str]
) -> None:
    first = (await get(client, keys[0], {"sort": "-total", "size": 1})).json()
    response = await get(client, keys[0], {"sort": "date", "cursor": first["next"]})
    assert response.status_code == 422
    assert "belongs to sort '-total'" in response.json()["error"]["message"]


async def test_auth_and_scope(client: httpx.AsyncClient, keys: tuple[str, str, str]) -> None:
    assert (await client.get("/v1/search")).status_code == 401
    assert (await get(client, keys[2], {"q": "escola"})).status_code == 403


async def test_openapi_documents_the_response(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"]["/v1/search"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"q", "min_c5", "group", "cursor", "sort"} <= names
    schema = spec["components"]["schemas"]["SearchResponse"]
    assert {"hits", "total", "facets", "next"} <= set(schema["properties"])


async def test_elasticsearch_down_is_a_503_with_retry_after(
    settings: Settings, metadata: Any, keys: tuple[str, str, str]
) -> None:
    import socket

    from services.gateway.app import create_app
    from tests.conftest import make_test_settings

    with socket.socket() as probe:  # a port nobody listens on: connection refused, for real
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = make_test_settings(elasticsearch_url=f"http://127.0.0.1:{port}", backend_timeout_s=1.0)
    # Starlette re-raises after the catch-all handler answered; a real server would log it.
    transport = httpx.ASGITransport(app=create_app(down), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        response = await get(http, keys[0], {"q": "escola"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "backend_unavailable"
    assert response.headers["Retry-After"]
