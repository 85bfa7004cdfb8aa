"""The essay search language and the Elasticsearch request built from it (pure: no I/O).

`q` is parsed here, not handed to Elasticsearch's `query_string`: the grammar is small and
documented (docs/search.md), a typo gives a 422 naming the position instead of a 500 or a silent
match-all, only the fields listed in `FIELDS` can be queried (never `tenant_id`), and no
regex/wildcard query can be sent to scan the whole index.

    q      := or
    or     := and ("OR" and)*
    and    := unary (["AND"] unary)*          -- juxtaposition means AND
    unary  := ("NOT" | "-") unary | "+"? atom
    atom   := "(" or ")" | FIELD ":" value | PHRASE | WORD ["*"]
    value  := PHRASE | WORD | ("<"|"<="|">"|">=") NUMBER | NUMBER ".." NUMBER

Pagination uses `search_after` with an opaque cursor: the last hit's sort values plus the sort it
belongs to, so a cursor from another sort order is rejected instead of returning a wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.core.search import COMPETENCIES

SortKey = Literal["relevance", "total", "-total", "date", "-date"]

# Where a bare word or phrase is looked for, with boosts. The `.folded` sub-fields carry both the
# stemming and the accent folding, so they stand in for the plain `brazilian` fields here. Fewer
# fields is what keeps queries fast: measured with bench/search.py's index, highlighting is most of
# a query's cost and grows with every searched field (`exact:` and `text:` reach the others).
TEXT_FIELDS: tuple[str, ...] = (
    "title.folded^3",
    "text.folded",
    "feedback.folded^0.5",
)

# `field:` names accepted in `q`: full-text fields search their analysed forms...
FULLTEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title^2", "title.folded", "title.words^2"),
    "text": ("text", "text.folded"),
    "exact": ("text.exact", "title.words"),
    "feedback": ("feedback", "feedback.folded"),
    "prompt_text": ("prompt_text", "prompt_text.folded"),
}
# ...keyword fields match whole values...
KEYWORD_FIELDS: dict[str, str] = {
    "prompt": "prompt_id",
    "batch": "batch_id",
    "flag": "flags",
    "category": "error_categories",
    "essay": "essay_id",
    "external": "external_id",
    "status": "status",
    "language": "language",
}
# ...and numbers take a value, a comparison or a range.
NUMERIC_FIELDS: dict[str, str] = {
    **{c: f"levels.{c}" for c in COMPETENCIES},
    "total": "total",
    "words": "words",
}
FIELDS: tuple[str, ...] = (
    *FULLTEXT_FIELDS,
    *KEYWORD_FIELDS,
    *NUMERIC_FIELDS,
    "group.<column>",
)

# Highlighted sub-fields: those the default and `field:` queries search (a sub-field highlights
# only the terms its own query matched).
HIGHLIGHT_GROUPS: dict[str, tuple[str, ...]] = {
    "text": ("text.folded", "text.exact", "text"),
    "title": ("title.folded", "title.words", "title"),
    "feedback": ("feedback.folded", "feedback"),
}


class QuerySyntaxError(ValueError):
    """A `q` the grammar cannot read; `position` is a 0-based character offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position})")
        self.position = position


class CursorError(ValueError):
    """A `cursor` that was not produced by this API for this sort order."""


class SearchParams(BaseModel):
    """Everything `GET /v1/search` accepts (the tenant is not here: it comes from the API key)."""

    q: str | None = Field(default=None, max_length=1000, description="Search text (see docs)")
    prompt: list[str] = Field(default_factory=list, description="prompt_id (any of)")
    batch: list[str] = Field(default_factory=list, description="batch_id (any of)")
    group: list[str] = Field(
        default_factory=list, description="column=value; values of one column OR, columns AND"
    )
    flag: list[str] = Field(default_factory=list, description="essays with every flag")
    not_flag: list[str] = Field(default_factory=list, description="essays with none of them")
    category: list[str] = Field(default_factory=list, description="error category (any of)")
    min_c1: int | None = Field(default=None, ge=0, le=200)
    max_c1: int | None = Field(default=None, ge=0, le=200)
    min_c2: int | None = Field(default=None, ge=0, le=200)
    max_c2: int | None = Field(default=None, ge=0, le=200)
    min_c3: int | None = Field(default=None, ge=0, le=200)
    max_c3: int | None = Field(default=None, ge=0, le=200)
    min_c4: int | None = Field(default=None, ge=0, le=200)
    max_c4: int | None = Field(default=None, ge=0, le=200)
    min_c5: int | None = Field(default=None, ge=0, le=200)
    max_c5: int | None = Field(default=None, ge=0, le=200)
    min_total: int | None = Field(default=None, ge=0, le=1000)
    max_total: int | None = Field(default=None, ge=0, le=1000)
    created_from: datetime | None = None
    created_to: datetime | None = None
    completed_from: datetime | None = None
    completed_to: datetime | None = None
    sort: SortKey = "relevance"
    size: int = Field(default=20, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=2000)
    facets: bool = True
    highlight: bool = True


# ---------------------------------------------------------------------------------------- lexer


@dataclass(frozen=True)
class Token:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN AND OR NOT MINUS PLUS
    value: str
    position: int


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<PHRASE>"(?:[^"\\]|\\.)*")
  | (?P<LPAREN>\()
  | (?P<RPAREN>\))
  | (?P<FIELD>[A-Za-z_][A-Za-z0-9_.\-]*:(?=\S))
  | (?P<MINUS>-(?=\S))
  | (?P<PLUS>\+(?=\S))
  | (?P<WORD>[^\s()"]+)
    """,
    re.VERBOSE,
)
_OPERATORS = {"AND": "AND", "OR": "OR", "NOT": "NOT", "&&": "AND", "||": "OR"}


def tokenize(q: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(q):
        match = _TOKEN.match(q, position)
        if match is None:  # only an unterminated quote gets here
            raise QuerySyntaxError("unterminated phrase: add the closing '\"'", position)
        kind = match.lastgroup or "ws"
        text = match.group()
        if kind == "WORD" and text in _OPERATORS:
            kind = _OPERATORS[text]
        if kind == "PHRASE":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "FIELD":
            text = text[:-1]
        if kind != "ws":
            tokens.append(Token(kind, text, position))
        position = match.end()
    return tokens


# --------------------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, q: str) -> None:
        self.q = q
        self.tokens = tokenize(q)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> dict[str, Any]:
        if not self.tokens:
            return {"match_all": {}}
        query = self.parse_or()
        extra = self.peek()
        if extra is not None:
            raise QuerySyntaxError(f"unexpected '{extra.value}'", extra.position)
        return query

    def parse_or(self) -> dict[str, Any]:
        parts = [self.parse_and()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return {"bool": {"should": parts, "minimum_should_match": 1}}

    def parse_and(self) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        while True:
            token = self.peek()
            if token is None or token.kind in ("OR", "RPAREN"):
                break
            if token.kind == "AND":
                self.take()
                following = self.peek()
                if following is None or following.kind in ("OR", "RPAREN", "AND"):
                    raise QuerySyntaxError("AND needs something on its right", token.position)
                continue
            negated, query = self.parse_unary()
            (must_not if negated else must).append(query)
        if not must and not must_not:
            token = self.peek()
            where = token.position if token else len(self.q)
            raise QuerySyntaxError("expected a word, a phrase or a field:value", where)
        if len(must) == 1 and not must_not:
            return must[0]
        clause: dict[str, Any] = {}
        if must:
            clause["must"] = must
        if must_not:
            clause["must_not"] = must_not
        return {"bool": clause}

    def parse_unary(self) -> tuple[bool, dict[str, Any]]:
        token = self.peek()
        if token is not None and token.kind in ("NOT", "MINUS"):
            self.take()
            if self.peek() is None:
                raise QuerySyntaxError(
                    f"'{token.value}' needs something to exclude", token.position
                )
            negated, query = self.parse_unary()
            return (not negated), query
        if token is not None and token.kind == "PLUS":
            self.take()
        return False, self.parse_atom()

    def parse_atom(self) -> dict[str, Any]:
        if self.peek() is None:
            raise QuerySyntaxError("the query ends too early", len(self.q))
        token = self.take()
        if token.kind == "LPAREN":
            inner = self.parse_or()
            closing = self.peek()
            if closing is None or closing.kind != "RPAREN":
                raise QuerySyntaxError("missing ')'", token.position)
            self.take()
            return inner
        if token.kind == "PHRASE":
            return text_query(token.value, TEXT_FIELDS, phrase=True, position=token.position)
        if token.kind == "WORD":
            return text_query(token.value, TEXT_FIELDS, phrase=False, position=token.position)
        if token.kind == "FIELD":
            return self.parse_field(token)
        raise QuerySyntaxError(f"unexpected '{token.value}'", token.position)

    def parse_field(self, field: Token) -> dict[str, Any]:
        if self.peek() is None:
            raise QuerySyntaxError(f"'{field.value}:' needs a value", field.position)
        value = self.take()
        if value.kind == "LPAREN":
            raise QuerySyntaxError(
                f"'{field.value}:(…)' is not supported: repeat the field, e.g. "
                f"{field.value}:a OR {field.value}:b",
                value.position,
            )
        if value.kind not in ("WORD", "PHRASE"):
            raise QuerySyntaxError(f"'{field.value}:' needs a value", value.position)
        return field_query(field.value, value.value, value.kind == "PHRASE", field.position)


def text_query(
    text: str, fields: tuple[str, ...], phrase: bool, position: int = 0
) -> dict[str, Any]:
    """A word (AND-ed terms after analysis), a `prefix*`, or a phrase, over `fields`."""
    if not text.strip():
        raise QuerySyntaxError("empty phrase", position)
    if phrase:
        return {"multi_match": {"query": text, "fields": list(fields), "type": "phrase"}}
    if text.endswith("*") and len(text.rstrip("*")) >= 2:
        return {
            "multi_match": {
                "query": text.rstrip("*"),
                "fields": list(fields),
                "type": "phrase_prefix",
            }
        }
    variants = [text, *plural_variants(text)]
    queries = [
        {
            "multi_match": {
                "query": variant,
                "fields": list(fields),
                "type": "most_fields",
                "operator": "and",
            }
        }
        for variant in variants
    ]
    if len(queries) == 1:
        return queries[0]
    return {"bool": {"should": queries, "minimum_should_match": 1}}


# The -ão plurals (-ões, -ães) are the one inflection Lucene's Portuguese stemmers do not merge
# ("redação" → redaca, "redações" → redaco), so a query word of that family also asks for its
# other number. Applied to query words only: documents keep the plain analyzer output.
_AO_FAMILY: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ções", ("ção",)),
    ("coes", ("cao",)),
    ("ção", ("ções",)),
    ("cao", ("coes",)),
    ("ões", ("ão",)),
    ("ães", ("ão",)),
    ("oes", ("ao",)),
    ("aes", ("ao",)),
    ("ão", ("ões", "ães")),
    ("ao", ("oes", "aes")),
)


def plural_variants(word: str) -> list[str]:
    """Other-number spellings of a Portuguese -ão word ("redação" → ["redações"])."""
    if not word.isalpha() or len(word) < 4:
        return []
    lower = word.lower()
    for suffix, replacements in _AO_FAMILY:
        if lower.endswith(suffix):
            stem = lower[: -len(suffix)]
            return [stem + replacement for replacement in replacements]
    return []


_COMPARISON = re.compile(r"^(<=|>=|<|>)(-?\d+)$")
_RANGE = re.compile(r"^(\d+)?\.\.(\d+)?$")
_RANGE_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


def field_query(name: str, value: str, phrase: bool, position: int = 0) -> dict[str, Any]:
    key = name.lower()
    if key in FULLTEXT_FIELDS:
        return text_query(value, FULLTEXT_FIELDS[key], phrase, position)
    if key in KEYWORD_FIELDS:
        return {"term": {KEYWORD_FIELDS[key]: value}}
    if key.startswith("group.") and len(key) > len("group."):
        return {"term": {"group_pairs": f"{name[len('group.') :]}={value}"}}
    if key in NUMERIC_FIELDS:
        return numeric_query(NUMERIC_FIELDS[key], name, value, position)
    raise QuerySyntaxError(
        f"unknown field '{name}' (fields: {', '.join(FIELDS)}; quote text containing ':')",
        position,
    )


def numeric_query(field: str, name: str, value: str, position: int) -> dict[str, Any]:
    if re.fullmatch(r"-?\d+", value):
        return {"term": {field: int(value)}}
    if match := _COMPARISON.match(value):
        return {"range": {field: {_RANGE_OPS[match.group(1)]: int(match.group(2))}}}
    if (match := _RANGE.match(value)) and (match.group(1) or match.group(2)):
        bounds: dict[str, int] = {}
        if match.group(1):
            bounds["gte"] = int(match.group(1))
        if match.group(2):
            bounds["lte"] = int(match.group(2))
        return {"range": {field: bounds}}
    raise QuerySyntaxError(
        f"'{name}:' takes a number, a comparison (<120, >=80) or a range (40..120), not '{value}'",
        position,
    )


def parse_query(q: str | None) -> dict[str, Any]:
    """`q` as an Elasticsearch query (match_all when empty)."""
    return _Parser(q or "").parse()


# -------------------------------------------------------------------------------------- filters


def filters(params: SearchParams) -> list[dict[str, Any]]:
    """The non-scoring filters (each parameter's values OR-ed, parameters AND-ed)."""
    out: list[dict[str, Any]] = []
    if params.prompt:
        out.append({"terms": {"prompt_id": params.prompt}})
    if params.batch:
        out.append({"terms": {"batch_id": params.batch}})
    if params.category:
        out.append({"terms": {"error_categories": params.category}})
    out.extend({"term": {"flags": flag}} for flag in params.flag)
    if params.not_flag:
        out.append({"bool": {"must_not": [{"terms": {"flags": params.not_flag}}]}})
    out.extend(group_filters(params.group))
    for name in (*COMPETENCIES, "total"):
        bounds: dict[str, int] = {}
        low, high = getattr(params, f"min_{name}"), getattr(params, f"max_{name}")
        if low is not None:
            bounds["gte"] = low
        if high is not None:
            bounds["lte"] = high
        if bounds:
            field = "total" if name == "total" else f"levels.{name}"
            out.append({"range": {field: bounds}})
    for field, low_dt, high_dt in (
        ("created_at", params.created_from, params.created_to),
        ("completed_at", params.completed_from, params.completed_to),
    ):
        dates: dict[str, str] = {}
        if low_dt is not None:
            dates["gte"] = _es_date(low_dt)
        if high_dt is not None:
            dates["lte"] = _es_date(high_dt)
        if dates:
            out.append({"range": {field: dates}})
    return out


def group_filters(groups: list[str]) -> list[dict[str, Any]]:
    """`class=3B`, `class=3C`, `school=X` → (class 3B OR 3C) AND school X."""
    by_column: dict[str, list[str]] = {}
    for pair in groups:
        column, sep, value = pair.partition("=")
        if not sep:
            column, sep, value = pair.partition(":")
        if not sep or not column or not value:
            raise ValueError(f"group filter '{pair}' must be column=value")
        by_column.setdefault(column, []).append(f"{column}={value}")
    return [{"terms": {"group_pairs": pairs}} for pairs in by_column.values()]


# ---------------------------------------------------------------------------- facets and sorting

FACET_AGGS: dict[str, Any] = {
    **{c: {"terms": {"field": f"levels.{c}", "size": 6}} for c in COMPETENCIES},
    "total": {
        "histogram": {"field": "total", "interval": 200, "extended_bounds": {"min": 0, "max": 1000}}
    },
    "error_categories": {"terms": {"field": "error_categories", "size": 50}},
    "flags": {"terms": {"field": "flags", "size": 30}},
    "groups": {"terms": {"field": "group_pairs", "size": 100}},
    "prompts": {"terms": {"field": "prompt_id", "size": 30}},
}

SORTS: dict[str, list[dict[str, Any]]] = {
    "relevance": [{"_score": "desc"}, {"total": {"order": "desc", "missing": "_last"}}],
    "total": [{"total": {"order": "asc", "missing": "_last"}}],
    "-total": [{"total": {"order": "desc", "missing": "_last"}}],
    "date": [{"created_at": {"order": "asc"}}],
    "-date": [{"created_at": {"order": "desc"}}],
}
TIEBREAK: dict[str, Any] = {"essay_id": "asc"}  # unique: makes every page boundary exact


def sort_clause(sort: str) -> list[dict[str, Any]]:
    return [*SORTS[sort], TIEBREAK]


def encode_cursor(sort: str, values: list[Any]) -> str:
    raw = json.dumps({"s": sort, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    """The `search_after` values of a cursor; `CursorError` if it is not ours or not this sort."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise CursorError("cursor is not a value returned by this API") from exc
    if not isinstance(data, dict) or not isinstance(data.get("v"), list):
        raise CursorError("cursor is not a value returned by this API")
    if data.get("s") != sort:
        raise CursorError(f"cursor belongs to sort '{data.get('s')}', not '{sort}'")
    values: list[Any] = data["v"]
    if len(values) != len(sort_clause(sort)) or not all(
        isinstance(v, str | int | float) or v is None for v in values
    ):
        raise CursorError("cursor is not a value returned by this API")
    return values


def build_request(params: SearchParams) -> dict[str, Any]:
    """The search body (without the tenant filter, which `SearchIndex.search` always adds)."""
    query: dict[str, Any] = parse_query(params.q)
    active_filters = filters(params)
    if active_filters:
        query = {"bool": {"must": [query], "filter": active_filters}}
    body: dict[str, Any] = {
        "query": query,
        "size": params.size,
        "sort": sort_clause(params.sort),
        "track_total_hits": True,
        "_source": [
            "essay_id",
            "title",
            "total",
            "levels",
            "flags",
            "error_categories",
            "prompt_id",
            "batch_id",
            "groups",
            "created_at",
            "completed_at",
        ],
    }
    if params.cursor:
        body["search_after"] = decode_cursor(params.cursor, params.sort)
    if params.facets:
        body["aggs"] = FACET_AGGS
    if params.highlight and params.q:
        body["highlight"] = {
            "type": "unified",
            "encoder": "html",
            "fragment_size": 160,
            "number_of_fragments": 3,
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "fields": {
                field: {"number_of_fragments": 0 if field.startswith("title") else 3}
                for group in HIGHLIGHT_GROUPS.values()
                for field in group
            },
        }
    return body


def merge_highlights(raw: dict[str, list[str]] | None, limit: int = 3) -> dict[str, list[str]]:
    """One list of fragments per logical field, whichever sub-field (folded, stemmed, exact) hit."""
    merged: dict[str, list[str]] = {}
    for name, fields in HIGHLIGHT_GROUPS.items():
        fragments: list[str] = []
        for field in fields:
            for fragment in (raw or {}).get(field, []):
                if fragment not in fragments:
                    fragments.append(fragment)
        if fragments:
            merged[name] = fragments[:limit]
    return merged


def facets_of(aggregations: dict[str, Any] | None) -> dict[str, dict[str, int]]:
    """Aggregation buckets as `{facet: {value: count}}` (levels as strings: "120": 14)."""
    out: dict[str, dict[str, int]] = {}
    for name, agg in (aggregations or {}).items():
        buckets = agg.get("buckets", [])
        out[name] = {_bucket_key(bucket["key"]): int(bucket["doc_count"]) for bucket in buckets}
    return out


def _bucket_key(key: Any) -> str:
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _es_date(value: datetime) -> str:
    """UTC, with a `Z`: Elasticsearch refuses offsets beyond ±18:00 that Python accepts."""
    if value.tzinfo is None:
        return value.isoformat()
    try:
        return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    except OverflowError:  # out of range once in UTC: let the engine refuse it (a 422)
        return value.isoformat()
