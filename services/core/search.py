"""Search index (Elasticsearch, official client): consolidated essays, always scoped by tenant.

Indices are versioned (`{prefix}-essays-v{n}`) behind one alias (`{prefix}-essays`) so a rebuild can
fill a new index and switch the alias atomically. Every query goes through `search()`, which wraps
the caller's query in a `bool.filter` on `tenant_id` that the caller cannot remove.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError
from elasticsearch.helpers import bulk

from services.core.config import Settings

ESSAY_MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "tenant_id": {"type": "keyword"},
        "essay_id": {"type": "keyword"},
        "job_id": {"type": "keyword"},
        "external_id": {"type": "keyword"},
        "batch_id": {"type": "keyword"},
        "prompt_id": {"type": "keyword"},
        "language": {"type": "keyword"},
        "rubric": {"type": "keyword"},
        "status": {"type": "keyword"},
        "title": {"type": "text", "fields": {"exact": {"type": "keyword", "ignore_above": 512}}},
        "text": {"type": "text", "term_vector": "with_positions_offsets"},
        "text_folded": {"type": "text", "analyzer": "whitespace"},
        "feedback": {"type": "text"},
        "groups": {"type": "flattened"},
        "levels": {"properties": {c: {"type": "integer"} for c in ("c1", "c2", "c3", "c4", "c5")}},
        "total": {"type": "integer"},
        "annulled": {"type": "boolean"},
        "flags": {"type": "keyword"},
        "error_categories": {"type": "keyword"},
        "words": {"type": "integer"},
        "created_at": {"type": "date"},
        "completed_at": {"type": "date"},
    },
}


def es_client(settings: Settings) -> Elasticsearch:
    return Elasticsearch(
        settings.elasticsearch_url,
        request_timeout=max(settings.backend_timeout_s, 10.0),
        retry_on_timeout=True,
        max_retries=2,
    )


class SearchIndex:
    """The essays index of one deployment (names carry `Settings.es_index_prefix`)."""

    def __init__(self, settings: Settings, client: Elasticsearch | None = None) -> None:
        self.settings = settings
        self.es = client or es_client(settings)
        self.alias = settings.es_alias

    def index_name(self, version: int) -> str:
        return f"{self.alias}-v{version}"

    def ensure(self) -> str:
        """Create the template and the first index behind the alias if missing; return it."""
        self.es.indices.put_index_template(
            name=self.alias,
            index_patterns=[f"{self.alias}-v*"],
            template={
                "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                "mappings": ESSAY_MAPPINGS,
            },
            priority=100,
        )
        current = self.current_index()
        if current is not None:
            return current
        name = self.index_name(1)
        if not self.es.indices.exists(index=name):
            self.es.indices.create(index=name)
        self.es.indices.put_alias(index=name, name=self.alias)
        return name

    def current_index(self) -> str | None:
        try:
            aliases = self.es.indices.get_alias(name=self.alias)
        except NotFoundError:
            return None
        names = sorted(aliases.body)
        return names[-1] if names else None

    def index(self, doc_id: str, document: Mapping[str, Any], refresh: bool = False) -> None:
        """Index (or overwrite: the document id is the essay id) one document."""
        self.es.index(
            index=self.alias,
            id=doc_id,
            document=dict(document),
            refresh="wait_for" if refresh else None,
        )

    def bulk_index(
        self, documents: Iterable[tuple[str, Mapping[str, Any]]], refresh: bool = False
    ) -> int:
        actions = (
            {"_op_type": "index", "_index": self.alias, "_id": doc_id, "_source": dict(doc)}
            for doc_id, doc in documents
        )
        ok, _ = bulk(self.es, actions, refresh="wait_for" if refresh else False)
        return int(ok)

    def delete(self, doc_id: str, refresh: bool = False) -> bool:
        try:
            self.es.delete(index=self.alias, id=doc_id, refresh="wait_for" if refresh else None)
        except NotFoundError:
            return False
        return True

    def get(self, tenant_id: str, doc_id: str) -> dict[str, Any] | None:
        """One document, only if it belongs to `tenant_id`."""
        try:
            found = self.es.get(index=self.alias, id=doc_id)
        except NotFoundError:
            return None
        source: dict[str, Any] = found["_source"]
        return source if source.get("tenant_id") == tenant_id else None

    def search(self, tenant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Run `body` with the tenant filter forced around its query."""
        request = dict(body)
        inner = request.pop("query", {"match_all": {}})
        request["query"] = {
            "bool": {"must": [inner], "filter": [{"term": {"tenant_id": tenant_id}}]}
        }
        response = self.es.search(index=self.alias, **request)
        return dict(response.body)

    def refresh(self) -> None:
        self.es.indices.refresh(index=self.alias)

    def drop_all(self) -> None:
        """Delete every index of this prefix (tests and `elysia search reset` only)."""
        names = list(self.es.indices.get(index=f"{self.alias}-v*", ignore_unavailable=True).body)
        if names:  # deletes need explicit names (action.destructive_requires_name)
            self.es.indices.delete(index=",".join(names))
        self.es.options(ignore_status=404).indices.delete_index_template(name=self.alias)


def essay_document(essay: Any, job: Any, text: str) -> dict[str, Any]:
    """The search document of a finalised essay (`essay`: models.Essay, `job`: AnalysisJob)."""
    result: dict[str, Any] = job.result or {}
    score: dict[str, Any] = result.get("score") or {}
    categories: set[str] = set()
    feedback: list[str] = []
    for action in job.actions.values():
        dimension_result = action.result or {}
        feedback.extend(dimension_result.get("feedback", []))
        categories.update(issue["category"] for issue in dimension_result.get("issues", []))
    return {
        "tenant_id": essay.tenant_id,
        "essay_id": essay.id,
        "job_id": job.id,
        "external_id": essay.external_id,
        "batch_id": essay.batch_id,
        "prompt_id": essay.prompt_id,
        "language": essay.language,
        "rubric": essay.rubric,
        "status": job.status.value,
        "title": essay.title,
        "text": text,
        "text_folded": fold_for_search(text),
        "feedback": feedback,
        "groups": essay.groups,
        "levels": score.get("levels", {}),
        "total": score.get("total"),
        "annulled": bool(score.get("annulled", False)),
        "flags": score.get("flags", []),
        "error_categories": sorted(categories),
        "words": essay.words,
        "created_at": essay.created_at.isoformat(),
        "completed_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def fold_for_search(text: str) -> str:
    """Accent-folded, lower-cased words: the field that makes "educacao" find "educação"."""
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
