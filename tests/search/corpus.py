"""A small hand-made corpus whose matches are known, for the search integration tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.core.search import COMPETENCIES, group_pairs

BASE_DATE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def document(
    tenant_id: str,
    essay_id: str,
    text: str,
    *,
    title: str | None = None,
    levels: tuple[int, int, int, int, int] = (120, 120, 120, 120, 120),
    flags: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    feedback: tuple[str, ...] = (),
    groups: dict[str, str] | None = None,
    prompt_id: str = "p-mobilidade",
    batch_id: str | None = None,
    day: int = 0,
) -> tuple[str, dict[str, Any]]:
    """A search document shaped like `essay_document()`'s output."""
    created = BASE_DATE + timedelta(days=day)
    groups = groups or {}
    return essay_id, {
        "tenant_id": tenant_id,
        "essay_id": essay_id,
        "job_id": f"job-{essay_id}",
        "external_id": None,
        "batch_id": batch_id,
        "prompt_id": prompt_id,
        "prompt_text": None,
        "language": "pt-BR",
        "rubric": "enem",
        "status": "COMPLETED",
        "title": title,
        "text": text,
        "feedback": list(feedback),
        "groups": groups,
        "group_pairs": group_pairs(groups),
        "levels": dict(zip(COMPETENCIES, levels, strict=True)),
        "total": sum(levels),
        "annulled": False,
        "flags": list(flags),
        "error_categories": list(categories),
        "words": len(text.split()),
        "created_at": created.isoformat(),
        "completed_at": (created + timedelta(minutes=5)).isoformat(),
    }


def corpus(tenant: str, other: str) -> list[tuple[str, dict[str, Any]]]:
    """Ten essays of `tenant` (ids `{tenant}-…`) and two of `other` that share their words."""
    return [
        document(
            tenant,
            f"{tenant}-educacao",
            "A educação pública precisa de investimento para que todos aprendam.",
            title="Educação para todos",
            levels=(160, 160, 120, 160, 80),
            categories=("grammar.crase",),
            groups={"turma": "3B", "escola": "E1"},
            day=1,
        ),
        document(
            tenant,
            f"{tenant}-escola",
            "Cada escola do bairro deveria ter biblioteca e laboratório.",
            title="Bibliotecas",
            levels=(120, 120, 120, 120, 120),
            groups={"turma": "3B", "escola": "E1"},
            day=2,
        ),
        document(
            tenant,
            f"{tenant}-mobilidade",
            "A mobilidade urbana nas grandes cidades exige transporte público de qualidade.",
            title="Mobilidade urbana",
            levels=(200, 160, 160, 160, 160),
            groups={"turma": "3C", "escola": "E1"},
            day=3,
        ),
        document(
            tenant,
            f"{tenant}-mobilidade-separada",
            "A mobilidade das pessoas depende do planejamento urbana e rural da região.",
            levels=(80, 80, 80, 80, 40),
            categories=("grammar.concordancia",),
            groups={"turma": "3C", "escola": "E2"},
            day=4,
        ),
        document(
            tenant,
            f"{tenant}-onde",
            "Vivemos numa época onde a tecnologia domina, onde tudo muda rapidamente.",
            levels=(80, 120, 120, 80, 40),
            categories=("grammar.onde",),
            feedback=("Evite usar “onde” para referir-se a tempo: prefira “em que”.",),
            groups={"turma": "3B", "escola": "E2"},
            day=5,
        ),
        document(
            tenant,
            f"{tenant}-tema",
            "O futebol é o esporte mais popular do país e une as torcidas.",
            levels=(120, 0, 40, 80, 0),
            flags=("fuga_ao_tema",),
            prompt_id="p-outro",
            day=6,
        ),
        document(
            tenant,
            f"{tenant}-redacoes",
            "As redações dos estudantes mostraram leituras variadas sobre cidades.",
            levels=(120, 120, 80, 120, 120),
            batch_id="b-1",
            day=7,
        ),
        document(
            tenant,
            f"{tenant}-transporte",
            "O transporte coletivo e a mobilidade urbana são direitos dos cidadãos.",
            levels=(160, 160, 160, 120, 160),
            batch_id="b-1",
            groups={"turma": "3C", "escola": "E2"},
            day=8,
        ),
        document(
            tenant,
            f"{tenant}-violencia",
            "A violência contra a mulher persiste apesar das leis existentes.",
            levels=(120, 120, 120, 120, 80),
            day=9,
        ),
        document(
            tenant,
            f"{tenant}-saude",
            "A saúde mental dos jovens merece atenção nas escolas públicas.",
            levels=(160, 120, 120, 120, 120),
            groups={"turma": "3B", "escola": "E1"},
            day=10,
        ),
        document(
            other,
            f"{other}-mobilidade",
            "A mobilidade urbana e a educação pública nas escolas de outra rede.",
            title="Mobilidade urbana",
            levels=(200, 200, 200, 200, 200),
            categories=("grammar.onde",),
            groups={"turma": "3B"},
        ),
        document(
            other,
            f"{other}-educacao",
            "Educação, escola e onde estudar.",
            levels=(40, 40, 40, 40, 40),
            flags=("fuga_ao_tema",),
        ),
    ]
