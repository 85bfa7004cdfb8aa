"""Search against the real Elasticsearch: Portuguese analysis, query language, filters, facets,
highlights, deep pagination and tenant isolation (issue 8 acceptance)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services.core.search import SearchIndex
from services.core.search_query import (
    SearchParams,
    build_request,
    facets_of,
    merge_highlights,
)
from tests.search.corpus import corpus, document

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tenants(search_index: SearchIndex) -> Iterator[tuple[str, str]]:
    tenant, other = f"ta{uuid.uuid4().hex[:8]}", f"tb{uuid.uuid4().hex[:8]}"
    docs = corpus(tenant, other)
    assert search_index.bulk_index(docs, refresh=True) == len(docs)
    yield tenant, other
    for essay_id, _ in docs:
        search_index.delete(essay_id)


def run(index: SearchIndex, tenant: str, **params: Any) -> dict[str, Any]:
    return index.search(tenant, build_request(SearchParams(**params)))


def ids(index: SearchIndex, tenant: str, **params: Any) -> set[str]:
    hits = run(index, tenant, size=100, **params)["hits"]["hits"]
    return {hit["_id"].split("-", 1)[1] for hit in hits}


def test_accent_insensitive(search_index: SearchIndex, tenants: tuple[str, str]) -> None:
    tenant, _ = tenants
    assert "educacao" in ids(search_index, tenant, q="educacao")
    assert "educacao" in ids(search_index, tenant, q="EDUCAÇÃO")
    # "saude" (unaccented query) finds "saúde"; "redacoes" finds "redações".
    assert ids(search_index, tenant, q="saude") == {"saude"}
    assert ids(search_index, tenant, q="redacoes") == {"redacoes"}


def test_stemming(search_index: SearchIndex, tenants: tuple[str, str]) -> None:
    tenant, _ = tenants
    # "escolas" finds the essay that only says "escola", and the other way round.
    assert {"escola", "saude"} <= ids(search_index, tenant, q="escolas")
    assert {"escola", "saude"} <= ids(search_index, tenant, q="escola")
    assert "redacoes" in ids(search_index, tenant, q="redação")
    assert "mobilidade" in ids(search_index, tenant, q="cidade")


def test_phrases_need_adjacent_words(search_index: SearchIndex, tenants: tuple[str, str]) -> None:
    tenant, _ = tenants
    assert ids(search_index, tenant, q='"mobilidade urbana"') == {"mobilidade", "transporte"}
    assert ids(search_index, tenant, q="mobilidade urbana") == {
        "mobilidade",
        "transporte",
        "mobilidade-separada",
    }


def test_boolean_operators_and_fields(search_index: SearchIndex, tenants: tuple[str, str]) -> None:
    tenant, _ = tenants
    assert ids(search_index, tenant, q="mobilidade NOT transporte") == {"mobilidade-separada"}
    assert ids(search_index, tenant, q="violência OR futebol") == {"violencia", "tema"}
    assert ids(search_index, tenant, q="(violência OR futebol) -futebol") == {"violencia"}
    assert ids(search_index, tenant, q="category:grammar.onde") == {"onde"}
    assert ids(search_index, tenant, q='"mobilidade urbana" AND c5:<160') == set()
    assert ids(search_index, tenant, q="mobilidade c5:<120") == {"mobilidade-separada"}
    assert ids(search_index, tenant, q="exact:onde") == {"onde"}
    assert ids(search_index, tenant, q="feedback:tempo") == {"onde"}
    assert ids(search_index, tenant, q="group.turma:3C total:..500") == {"mobilidade-separada"}


def test_filters(search_index: SearchIndex, tenants: tuple[str, str]) -> None:
    tenant, _ = tenants
    assert ids(search_index, tenant, q="mobilidade", max_c5=119) == {"mobilidade-separada"}
    assert ids(search_index, tenant, min_c1=200) == {"mobilidade"}
    assert ids(search_index, tenant, min_total=700, max_total=760) == {"transporte"}
    assert ids(search_index, tenant, flag=["fuga_ao_tema"]) == {"tema"}
    assert "tema" not in ids(search_index, tenant, not_flag=["fuga_ao_tema"])
    assert ids(search_index, tenant, prompt=["p-outro"]) == {"tema"}
    assert ids(search_index, tenant, batch=["b-1"]) == {"redacoes", "transporte"}
    assert ids(search_index, tenant, category=["grammar.onde", "grammar.crase"]) == {
        "onde",
        "educacao",
    }
    assert ids(search_index, tenant, group=["turma=3B", "escola=E2"]) == {"onde"}
    assert ids(search_index, tenant, group=["turma=3B", "turma=3C", "escola=E2"]) == {
        "onde",
        "mobilidade-separada",
        "transporte",
    }
    created_from = "2026-03-08T00:00:00+00:00"
    assert ids(search_index, tenant, created_from=created_from, created_to="2026-03-09T23:00Z") == {
        "redacoes",
        "transporte",
    }


def test_facets(search_index: SearchIndex, tenants: tuple[str, str]) -> None:
    tenant, _ = tenants
    facets = facets_of(run(search_index, tenant)["aggregations"])
    assert facets["c5"] == {"0": 1, "40": 2, "80": 2, "120": 3, "160": 2}
    assert facets["c1"] == {"120": 4, "160": 3, "80": 2, "200": 1}
    assert facets["error_categories"] == {
        "grammar.concordancia": 1,
        "grammar.crase": 1,
        "grammar.onde": 1,
    }
    assert facets["flags"] == {"fuga_ao_tema": 1}
    assert facets["groups"]["turma=3B"] == 4 and facets["groups"]["escola=E2"] == 3
    assert facets["total"] == {"0": 0, "200": 2, "400": 3, "600": 4, "800": 1, "1000": 0}
    # Facets follow the query: only the two "mobilidade urbana" essays.
    narrowed = facets_of(run(search_index, tenant, q='"mobilidade urbana"')["aggregations"])
    assert narrowed["c5"] == {"160": 2}


def test_highlights(search_index: SearchIndex, tenants: tuple[str, str]) -> None:
    tenant, _ = tenants
    hits = run(search_index, tenant, q="educacao")["hits"]["hits"]
    highlights = merge_highlights(hits[0]["highlight"])
    assert "<em>educação</em>" in highlights["text"][0]
    assert highlights["title"] == ["<em>Educação</em> para todos"]
    onde = run(search_index, tenant, q="exact:onde")["hits"]["hits"][0]
    assert merge_highlights(onde["highlight"])["text"][0].count("<em>onde</em>") == 2


def test_tenant_isolation(search_index: SearchIndex, tenants: tuple[str, str]) -> None:
    tenant, other = tenants
    assert ids(search_index, other, q="mobilidade") == {"mobilidade"}
    mine = run(search_index, tenant, size=100)
    assert mine["hits"]["total"]["value"] == 10
    assert all(hit["_source"]["essay_id"].startswith(tenant) for hit in mine["hits"]["hits"])
    theirs = facets_of(run(search_index, other)["aggregations"])
    assert theirs["c5"] == {"200": 1, "40": 1}
    # A query naming another tenant's essay id still only sees this tenant.
    assert ids(search_index, tenant, q=f"essay:{other}-mobilidade") == set()
    assert search_index.get(tenant, f"{other}-mobilidade") is None


@pytest.mark.parametrize("sort", ["relevance", "-total", "total", "date", "-date"])
def test_deep_pagination_is_stable(search_index: SearchIndex, sort: str) -> None:
    tenant = f"tp{uuid.uuid4().hex[:8]}"
    # 57 essays with only 3 distinct totals and identical dates in pairs: many ties to break.
    docs = [
        document(
            tenant,
            f"{tenant}-{n:03d}",
            f"A escola {'pública ' * (n % 4)}e a educação número {n}.",
            levels=(40 * (n % 3), 120, 120, 120, 120),
            day=n // 2,
        )
        for n in range(57)
    ]
    search_index.bulk_index(docs, refresh=True)
    try:
        q = "escola" if sort == "relevance" else None
        everything = [
            hit["_id"]
            for hit in run(search_index, tenant, q=q, sort=sort, size=100)["hits"]["hits"]
        ]
        assert len(everything) == 57
        pages: list[str] = []
        cursor: str | None = None
        from services.core.search_query import encode_cursor

        for _ in range(20):
            result = run(search_index, tenant, q=q, sort=sort, size=8, cursor=cursor)
            hits = result["hits"]["hits"]
            assert result["hits"]["total"]["value"] == 57
            pages.extend(hit["_id"] for hit in hits)
            if len(hits) < 8:
                break
            cursor = encode_cursor(sort, hits[-1]["sort"])
        assert pages == everything
    finally:
        for essay_id, _ in docs:
            search_index.delete(essay_id)
