"""Argumentation (C3): MTLD/MATTR by hand, markers, repetition spans, progression, level."""

from __future__ import annotations

import pytest

from services.analysis.dimensions.argumentation import (
    ArgumentationDimension,
    jaccard,
    mattr,
    mtld,
)
from services.analysis.results import DimensionResult, EssayInput


@pytest.fixture(scope="module")
def dim() -> ArgumentationDimension:
    return ArgumentationDimension()


def _run(dim: ArgumentationDimension, text: str, **kw: str) -> DimensionResult:
    result = dim.analyse(EssayInput(text=text, **kw))
    DimensionResult.model_validate(result.model_dump())
    for issue in result.issues:
        assert 0 <= issue.start < issue.end <= len(text)
    return result


def test_mtld_hand_computed() -> None:
    # a b a | b a b | a b : TTR hits 2/3 <= 0.72 twice each way, the rest has TTR 1 -> 8/2.
    assert mtld(list("abababab")) == pytest.approx(4.0)
    # forward: "a b a" closes a factor, "c" leaves TTR 1 -> 4/1 = 4.
    # backward: "c a b a" never falls to 0.72; partial (1 - 3/4)/(1 - 0.72) -> 4/0.892857.
    assert mtld(list("abac")) == pytest.approx((4 + 4 / ((1 - 0.75) / 0.28)) / 2)
    assert mtld(list("abcd")) == 4.0  # no factor at all: the length
    assert mtld([]) == 0.0
    assert mtld(["x"] * 10) == pytest.approx(10 / 5)  # each "x x" (TTR .5) closes a factor


def test_mattr_hand_computed() -> None:
    assert mattr(list("abab"), window=2) == 1.0
    assert mattr(list("aab"), window=2) == pytest.approx((0.5 + 1.0) / 2)
    assert mattr(list("aabb"), window=3) == pytest.approx((2 / 3 + 2 / 3) / 2)
    assert mattr(list("abc"), window=50) == 1.0  # shorter than the window: plain TTR
    assert mattr([]) == 0.0


def test_jaccard() -> None:
    assert jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)
    assert jaccard(set(), set()) == 0.0


def test_markers_by_kind(dim: ArgumentationDimension) -> None:
    text = (
        "Segundo o IBGE, 30% dos jovens não estudam, visto que trabalham. "
        "Por exemplo, em 2019 eram 2 milhões. É fundamental que o Estado aja."
    )
    result = _run(dim, text)
    kinds = {(d["text"], d["kind"]) for d in result.details["markers"]}
    assert {("Segundo", "evidence"), ("IBGE", "evidence"), ("visto que", "reasoning")} <= kinds
    assert {("Por exemplo", "example"), ("30%", "statistic"), ("2 milhões", "statistic")} <= kinds
    assert ("É fundamental que", "claim") in kinds
    for d in result.details["markers"]:
        assert text[d["start"] : d["end"]] == d["text"]
    assert result.metrics["statistic_mentions"] == 2


def test_repetition_issues_point_at_the_excess_occurrences(dim: ArgumentationDimension) -> None:
    text = (
        "A violência cresce. A violência assusta. Há violência nas ruas.\n"
        "A violência urbana preocupa. Violências diárias ocorrem. A violência continua."
    )
    result = _run(dim, text)
    rep = [i for i in result.issues if i.category == "repetition.word"]
    assert len(rep) == 2  # 6 occurrences of the stem, limit 5: the 5th and 6th are flagged
    assert [text[i.start : i.end] for i in rep] == ["Violências", "violência"]
    assert rep[0].start == text.find("Violências")
    assert "6 vezes" in rep[0].message
    assert result.details["repeated_stems"][0]["count"] == 6
    # A theme word may recur more before it is flagged.
    themed = _run(dim, text, title="A violência urbana no Brasil")
    assert not [i for i in themed.issues if i.category == "repetition.word"]


def test_circular_paragraphs_are_detected(dim: ArgumentationDimension) -> None:
    para = "A desigualdade social prejudica estudantes pobres e limita oportunidades."
    text = "\n".join([para] * 4)
    result = _run(dim, text)
    assert result.metrics["progression_overlap_mean"] == 1.0
    assert result.metrics["development_paragraphs"] == 2
    assert any("circularidade" in r for r in result.details["level_reasons"])


def test_developed_essay_outscores_a_flat_one(dim: ArgumentationDimension) -> None:
    good = (
        "A evasão escolar ameaça o futuro de milhões de jovens brasileiros, visto que a "
        "formação define oportunidades profissionais. Trata-se de um desafio persistente, "
        "que exige respostas do poder público e da sociedade civil.\n"
        "Segundo o IBGE, 20% dos adolescentes abandonam a escola antes do ensino médio, "
        "pois precisam trabalhar para complementar a renda familiar. Desse modo, a pobreza "
        "empurra adolescentes para empregos informais e interrompe trajetórias.\n"
        "Além disso, a escola pouco atraente afasta estudantes; por exemplo, o filósofo Paulo "
        "Freire criticava a educação bancária, o que gera desinteresse e reprovação.\n"
        "Portanto, cabe ao Ministério da Educação ampliar bolsas e renovar currículos, de modo "
        "que a permanência estudantil aumente e os jovens concluam seus estudos."
    )
    flat = "A escola é boa. A escola é boa para todos. A escola é muito boa."
    g, f = _run(dim, good), _run(dim, flat)
    assert g.level == 200, g.details["level_reasons"]
    assert f.level is not None and f.level <= 80
    assert g.metrics["development_support_ratio"] == 1.0
    assert all(isinstance(x, str) and x for x in f.feedback)


def test_empty_text(dim: ArgumentationDimension) -> None:
    result = _run(dim, "")
    assert result.level == 0
    assert result.metrics["mtld"] == 0


def test_concurrent_use_gives_the_sequential_results(dim: ArgumentationDimension) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [
        "Segundo o IBGE, 30% dos jovens trabalham.\nPortanto, a escola perde alunos, pois falta.",
        "A violência cresce. A violência assusta. Há violência. Violência urbana. Violência!",
        "Por exemplo, a lei garante direitos.\nLogo, cabe ao Estado agir.\nEm suma, é urgente.",
    ] * 4
    expected = [dim.analyse(EssayInput(text=t)).model_dump() for t in texts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda t: dim.analyse(EssayInput(text=t)).model_dump(), texts))
    assert got == expected
