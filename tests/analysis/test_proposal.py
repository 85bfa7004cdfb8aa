"""ProposalDimension (ENEM C5): element spans, gold-set quality floor, level and flags."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from services.analysis.dimensions.proposal import ELEMENTS, ProposalDimension
from services.analysis.results import EssayInput

ROOT = Path(__file__).resolve().parents[2]
GOLD = Path(__file__).parent / "gold" / "c5_gold.jsonl"
sys.path.insert(0, str(ROOT / "bench"))

from analysis_quality import evaluate_c5  # noqa: E402

F1_FLOOR = 0.8

FULL = (
    "A violência contra a mulher persiste no Brasil.\n"
    "Em primeiro lugar, a cultura machista naturaliza agressões, por meio de piadas e novelas.\n"
    "Portanto, o Ministério da Educação, órgão responsável pelo ensino, deve promover debates "
    "sobre igualdade de gênero nas escolas, por meio de palestras com especialistas, a fim de "
    "que os jovens rejeitem a violência."
)


@pytest.fixture(scope="module")
def proposal() -> ProposalDimension:
    return ProposalDimension()


def _gold() -> list[dict[str, object]]:
    with GOLD.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_gold_set_is_well_formed() -> None:
    items = _gold()
    assert len(items) >= 20
    for item in items:
        text = item["text"]
        assert isinstance(text, str)
        elements = item["elements"]
        assert isinstance(elements, dict) and set(elements) == set(ELEMENTS)
        for spans in elements.values():
            for s in spans:
                assert text[s["start"] : s["end"]] == s["text"]
    complete = [i for i in items if all(i["elements"][e] for e in ELEMENTS)]  # type: ignore[index]
    partial = [i for i in items if not all(i["elements"][e] for e in ELEMENTS)]  # type: ignore[index]
    assert len(complete) >= 5 and len(partial) >= 5


def test_gold_set_f1_per_element_meets_the_floor() -> None:
    scores = evaluate_c5()
    failing = {e: round(s["f1"], 3) for e, s in scores.items() if s["f1"] < F1_FLOOR}
    assert not failing, f"C5 element F1 below {F1_FLOOR}: {failing}"


def test_human_rights_flag_on_gold(proposal: ProposalDimension) -> None:
    for item in _gold():
        result = proposal.analyse(EssayInput(text=str(item["text"])))
        assert result.details["human_rights_violation"] == item["human_rights_violation"], item[
            "id"
        ]


def test_complete_proposal_spans_levels_and_metrics(proposal: ProposalDimension) -> None:
    result = proposal.analyse(EssayInput(text=FULL))
    elements = result.details["elements"]
    texts = {e: [s["text"] for s in elements[e]] for e in ELEMENTS}
    assert "o Ministério da Educação" in texts["agent"]
    assert any(t.startswith("promover debates sobre igualdade de gênero") for t in texts["action"])
    assert "por meio de palestras com especialistas" in texts["means"]
    assert any(t.startswith("a fim de que os jovens") for t in texts["purpose"])
    assert "órgão responsável pelo ensino" in texts["detailing"]
    for e in ELEMENTS:
        for s in elements[e]:
            assert FULL[s["start"] : s["end"]] == s["text"]
    # the "por meio de" of the development paragraph is an argument, not a proposal
    assert all(s["in_conclusion"] for e in ELEMENTS for s in elements[e])
    assert result.metrics["elements_found"] == 5
    assert result.metrics["proposal_in_conclusion"] == 1
    assert result.level == 200
    assert not [i for i in result.issues if i.category == "proposal.missing"]
    assert {i.category for i in result.issues} >= {f"proposal.{e}" for e in ELEMENTS}
    assert result.details["level_reasons"]


def test_missing_elements_are_reported_at_the_conclusion(proposal: ProposalDimension) -> None:
    text = "Introdução sobre o tema.\n\nPortanto, as escolas devem ensinar educação financeira."
    result = proposal.analyse(EssayInput(text=text))
    missing = [i for i in result.issues if i.category == "proposal.missing"]
    assert {i.rule for i in missing} == {"missing_means", "missing_purpose", "missing_detailing"}
    conclusion_start = text.index("Portanto")
    assert all(i.start == conclusion_start and i.end == len(text) for i in missing)
    assert result.metrics["elements_found"] == 2
    assert result.level == 80


def test_no_proposal_scores_zero(proposal: ProposalDimension) -> None:
    text = (
        "O racismo estrutural persiste.\n\n"
        "Em suma, o racismo é uma herança da escravidão que ainda marca o país."
    )
    result = proposal.analyse(EssayInput(text=text))
    assert result.metrics["elements_found"] == 0
    assert result.level == 0
    assert any("Não encontramos proposta" in f for f in result.feedback)


def test_human_rights_violation_zeroes_the_level(proposal: ProposalDimension) -> None:
    text = (
        "Portanto, o Estado deve adotar a pena de morte para traficantes, por meio de uma "
        "emenda constitucional, a fim de reduzir a violência, como ocorre em outros países."
    )
    result = proposal.analyse(EssayInput(text=text))
    assert result.details["human_rights_violation"] is True
    assert result.level == 0
    hr = [i for i in result.issues if i.category == "proposal.human_rights"]
    assert [text[i.start : i.end] for i in hr] == ["pena de morte"]
    ok = proposal.analyse(EssayInput(text="Portanto, a escola deve eliminar o preconceito."))
    assert ok.details["human_rights_violation"] is False


def test_proposal_outside_conclusion_counts_half(proposal: ProposalDimension) -> None:
    text = (
        "Tema.\n\n"
        "Nesse contexto, o Governo Federal deve criar abrigos, a fim de proteger as vítimas.\n\n"
        "Em suma, o problema é grave."
    )
    result = proposal.analyse(EssayInput(text=text))
    assert result.metrics["elements_found"] == 3
    assert result.metrics["elements_in_conclusion"] == 0
    assert result.metrics["elements_score"] == pytest.approx(1.5)
    assert result.metrics["proposal_in_conclusion"] == 0


def test_concurrent_use_equals_sequential(proposal: ProposalDimension) -> None:
    texts = [str(i["text"]) for i in _gold()]
    sequential = [proposal.analyse(EssayInput(text=t)).model_dump() for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(
            pool.map(lambda t: proposal.analyse(EssayInput(text=t)).model_dump(), texts)
        )
    assert parallel == sequential
