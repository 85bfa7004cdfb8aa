"""The search language and request builder (pure: no Elasticsearch here)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from services.core.search_query import (
    TEXT_FIELDS,
    CursorError,
    QuerySyntaxError,
    SearchParams,
    build_request,
    decode_cursor,
    encode_cursor,
    facets_of,
    filters,
    merge_highlights,
    parse_query,
    plural_variants,
    tokenize,
)


def word(text: str) -> dict[str, Any]:
    return {
        "multi_match": {
            "query": text,
            "fields": list(TEXT_FIELDS),
            "type": "most_fields",
            "operator": "and",
        }
    }


def phrase(text: str) -> dict[str, Any]:
    return {"multi_match": {"query": text, "fields": list(TEXT_FIELDS), "type": "phrase"}}


def test_empty_query_matches_everything() -> None:
    assert parse_query(None) == {"match_all": {}}
    assert parse_query("   ") == {"match_all": {}}


def test_words_are_anded_and_phrases_kept_whole() -> None:
    assert parse_query("escola") == word("escola")
    assert parse_query('"mobilidade urbana" transporte') == {
        "bool": {"must": [phrase("mobilidade urbana"), word("transporte")]}
    }


def test_or_binds_looser_than_and() -> None:
    assert parse_query("a b OR c") == {
        "bool": {
            "should": [{"bool": {"must": [word("a"), word("b")]}}, word("c")],
            "minimum_should_match": 1,
        }
    }
    assert parse_query("a AND (b OR c)") == {
        "bool": {
            "must": [
                word("a"),
                {"bool": {"should": [word("b"), word("c")], "minimum_should_match": 1}},
            ]
        }
    }


def test_not_and_minus_exclude() -> None:
    expected = {"bool": {"must": [word("escola")], "must_not": [word("privada")]}}
    assert parse_query("escola NOT privada") == expected
    assert parse_query("escola -privada") == expected
    assert parse_query("escola AND NOT privada") == expected
    assert parse_query("NOT NOT escola") == word("escola")
    assert parse_query("-escola") == {"bool": {"must_not": [word("escola")]}}


def test_lowercase_operators_are_plain_words() -> None:
    assert parse_query("escola or casa") == {
        "bool": {"must": [word("escola"), word("or"), word("casa")]}
    }


def test_fields() -> None:
    assert parse_query("category:grammar.onde") == {"term": {"error_categories": "grammar.onde"}}
    assert parse_query("flag:fuga_ao_tema") == {"term": {"flags": "fuga_ao_tema"}}
    assert parse_query("group.turma:3B") == {"term": {"group_pairs": "turma=3B"}}
    assert parse_query("c5:<120") == {"range": {"levels.c5": {"lt": 120}}}
    assert parse_query("c5:>=80") == {"range": {"levels.c5": {"gte": 80}}}
    assert parse_query("total:600..800") == {"range": {"total": {"gte": 600, "lte": 800}}}
    assert parse_query("total:..400") == {"range": {"total": {"lte": 400}}}
    assert parse_query("C2:120") == {"term": {"levels.c2": 120}}
    assert parse_query('exact:"onde"')["multi_match"]["fields"] == ["text.exact", "title.words"]
    assert parse_query('title:"cidade"')["multi_match"]["type"] == "phrase"


def test_ao_words_also_ask_for_their_other_number() -> None:
    assert parse_query("redação") == {
        "bool": {"should": [word("redação"), word("redações")], "minimum_should_match": 1}
    }
    assert plural_variants("REDACOES") == ["redacao"]
    assert plural_variants("cidadão") == ["cidadões", "cidadães"]
    assert plural_variants("mães") == ["mão"]
    assert plural_variants("escola") == []
    assert plural_variants("não") == []  # too short to be worth it


def test_prefix_word() -> None:
    query = parse_query("escol*")
    assert query["multi_match"]["type"] == "phrase_prefix"
    assert query["multi_match"]["query"] == "escol"


def test_tenant_cannot_be_queried() -> None:
    with pytest.raises(QuerySyntaxError, match="unknown field 'tenant_id'"):
        parse_query("tenant_id:other")


@pytest.mark.parametrize(
    ("q", "message", "position"),
    [
        ('"mobilidade urbana', "unterminated phrase", 0),
        ("(escola OR casa", "missing ')'", 0),
        ("escola)", "unexpected ')'", 6),
        ("escola AND", "AND needs something", 7),
        ("escola OR", "expected a word", 9),
        ("c5:abc", "takes a number", 0),
        ("c5:(1 OR 2)", "not supported", 3),
        ("foo:bar", "unknown field 'foo'", 0),
        ('""', "empty phrase", 0),
        ("escola -", "", -1),
    ],
)
def test_syntax_errors_point_at_the_problem(q: str, message: str, position: int) -> None:
    if position < 0:  # a lone trailing '-' is a word, not an operator
        assert parse_query(q) == {"bool": {"must": [word("escola"), word("-")]}}
        return
    with pytest.raises(QuerySyntaxError, match=re.escape(message)) as info:
        parse_query(q)
    assert info.value.position == position


def test_tokenizer_keeps_accents_and_escaped_quotes() -> None:
    kinds = [(t.kind, t.value) for t in tokenize(r'"diz \"não\"" ação')]
    assert kinds == [("PHRASE", 'diz "não"'), ("WORD", "ação")]


def test_filters() -> None:
    params = SearchParams(
        prompt=["p1", "p2"],
        batch=["b1"],
        group=["turma=3B", "turma=3C", "escola=E1"],
        flag=["fuga_ao_tema"],
        not_flag=["anulada"],
        category=["grammar.onde"],
        min_c5=40,
        max_c5=120,
        min_total=600,
    )
    assert filters(params) == [
        {"terms": {"prompt_id": ["p1", "p2"]}},
        {"terms": {"batch_id": ["b1"]}},
        {"terms": {"error_categories": ["grammar.onde"]}},
        {"term": {"flags": "fuga_ao_tema"}},
        {"bool": {"must_not": [{"terms": {"flags": ["anulada"]}}]}},
        {"terms": {"group_pairs": ["turma=3B", "turma=3C"]}},
        {"terms": {"group_pairs": ["escola=E1"]}},
        {"range": {"levels.c5": {"gte": 40, "lte": 120}}},
        {"range": {"total": {"gte": 600}}},
    ]
    with pytest.raises(ValueError, match="column=value"):
        filters(SearchParams(group=["turma"]))


def test_request_has_sort_tiebreak_facets_and_highlight() -> None:
    body = build_request(SearchParams(q="escola", min_c5=120, size=5))
    assert body["query"] == {
        "bool": {"must": [word("escola")], "filter": [{"range": {"levels.c5": {"gte": 120}}}]}
    }
    assert body["sort"][-1] == {"essay_id": "asc"}
    assert body["size"] == 5 and body["track_total_hits"] is True
    assert {"c1", "c5", "error_categories", "groups", "flags"} <= set(body["aggs"])
    assert "text.folded" in body["highlight"]["fields"]
    bare = build_request(SearchParams(facets=False, sort="-total"))
    assert "aggs" not in bare and "highlight" not in bare
    assert bare["sort"][0] == {"total": {"order": "desc", "missing": "_last"}}


def test_cursor_round_trip_and_rejections() -> None:
    cursor = encode_cursor("-total", [880, "essay-9"])
    assert decode_cursor(cursor, "-total") == [880, "essay-9"]
    assert build_request(SearchParams(sort="-total", cursor=cursor))["search_after"] == [
        880,
        "essay-9",
    ]
    with pytest.raises(CursorError, match="belongs to sort '-total'"):
        decode_cursor(cursor, "date")
    for bad in ("not-a-cursor!", "e30", encode_cursor("-total", [1, 2, 3])):
        with pytest.raises(CursorError):
            decode_cursor(bad, "-total")


def test_highlights_merge_sub_fields_without_duplicates() -> None:
    raw = {
        "text.folded": ["a <em>educação</em> b"],
        "text": ["a <em>educação</em> b", "outra <em>escola</em>"],
        "title.words": ["<em>Onde</em>"],
    }
    assert merge_highlights(raw) == {
        "text": ["a <em>educação</em> b", "outra <em>escola</em>"],
        "title": ["<em>Onde</em>"],
    }


def test_facets_flatten_buckets() -> None:
    aggs = {
        "c5": {"buckets": [{"key": 120, "doc_count": 3}]},
        "total": {"buckets": [{"key": 600.0, "doc_count": 2}]},
        "groups": {"buckets": [{"key": "turma=3B", "doc_count": 1}]},
    }
    assert facets_of(aggs) == {"c5": {"120": 3}, "total": {"600": 2}, "groups": {"turma=3B": 1}}
