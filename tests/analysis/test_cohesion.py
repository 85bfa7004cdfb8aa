"""Cohesion (C4): connectives at the right offsets, misuse heuristics, linkage, level."""

from __future__ import annotations

import pytest

from services.analysis.dimensions.cohesion import CohesionDimension
from services.analysis.lexicons import ConnectiveLexicon, expand
from services.analysis.results import DimensionResult, EssayInput

RELATIONS = {
    "addition", "contrast", "cause", "consequence", "conclusion", "exemplification", "time",
    "condition", "concession", "comparison", "explanation", "alternative", "sequencing",
}  # fmt: skip


@pytest.fixture(scope="module")
def dim() -> CohesionDimension:
    return CohesionDimension()


def _run(dim: CohesionDimension, text: str, **kw: str) -> DimensionResult:
    result = dim.analyse(EssayInput(text=text, **kw))
    DimensionResult.model_validate(result.model_dump())
    for issue in result.issues:
        assert 0 <= issue.start < issue.end <= len(text)
    return result


def _all(text: str, sub: str) -> list[int]:
    out, i = [], text.find(sub)
    while i >= 0:
        out.append(i)
        i = text.find(sub, i + 1)
    return out


def test_lexicon_covers_all_relations_with_hundreds_of_entries() -> None:
    lex = ConnectiveLexicon()
    assert set(lex.relations) == RELATIONS
    assert len(lex.entries) >= 300
    assert lex.relation_of("Além disso") == "addition"
    assert lex.relation_of("por conseguinte") == "consequence"
    assert lex.relation_of("à medida que") == "time"


def test_expand_braces() -> None:
    assert expand("{desse|deste} modo") == ["desse modo", "deste modo"]
    assert expand("x {a|b} {c|d}") == ["x a c", "x a d", "x b c", "x b d"]


def test_three_alem_disso_give_three_addition_spans(dim: CohesionDimension) -> None:
    text = (
        "A escola forma cidadãos. Além disso, ela acolhe. Alem disso, alimenta.\n"
        "O Estado investe pouco; além disso, falta fiscalização."
    )
    result = _run(dim, text)
    spans = [(i.start, i.end) for i in result.issues if i.category == "connective.addition"]
    starts = [text.find("Além disso"), text.find("Alem disso"), text.find("além disso")]
    assert spans == [(s, s + len("além disso")) for s in starts]
    assert result.metrics["relation_addition"] == 3
    assert all("adição" in i.message for i in result.issues if i.rule == "connective")


def test_correlative_has_two_spans_and_accents_matter_for_short_words(
    dim: CohesionDimension,
) -> None:
    text = "Não só a escola, mas também a família educa. É preciso agir. E todos concordam."
    result = _run(dim, text)
    found = [(text[i.start : i.end], i.category) for i in result.issues if i.rule == "connective"]
    assert ("Não só", "connective.addition") in found
    assert ("mas também", "connective.addition") in found
    assert ("É", "connective.addition") not in found  # "é" is a verb, not "e"
    assert ("E", "connective.addition") in found  # sentence-initial "E" is additive
    assert not any(c == "connective.contrast" for _, c in found)  # "mas" belongs to the pair


def test_onde_after_non_place_noun_is_flagged(dim: CohesionDimension) -> None:
    text = "Vivemos uma época onde tudo muda. A cidade onde nasci é bonita."
    result = _run(dim, text)
    onde = [i for i in result.issues if i.rule == "onde_non_place"]
    assert len(onde) == 1
    assert onde[0].start == text.find("onde")
    assert "em que" in onde[0].suggestions
    assert result.metrics["onde_misuse_count"] == 1


def test_repeated_connective_and_contrast_opening(dim: CohesionDimension) -> None:
    text = (
        "Porém, o problema existe. Portanto, é grave. Portanto, exige ação. "
        "Portanto, o governo deve agir."
    )
    result = _run(dim, text)
    rules = [i.rule for i in result.issues]
    assert rules.count("contrast_without_antecedent") == 1
    repeated = [i for i in result.issues if i.rule == "repeated_connective"]
    assert [text[i.start : i.end] for i in repeated] == ["Portanto"]
    assert repeated[0].start == _all(text, "Portanto")[2]
    assert "portanto" not in [s.lower() for s in repeated[0].suggestions]


def test_paragraph_linkage_and_per_paragraph_density(dim: CohesionDimension) -> None:
    linked = (
        "A educação é um direito de todos.\n"
        "Além disso, a escola garante convivência.\n"
        "Em contrapartida, faltam recursos.\n"
        "Portanto, o Estado deve investir."
    )
    unlinked = linked.replace("Além disso, a", "A").replace("Em contrapartida, faltam", "Faltam")
    a, b = _run(dim, linked), _run(dim, unlinked)
    assert a.metrics["paragraph_linkage_ratio"] == 1.0
    assert b.metrics["paragraph_linkage_ratio"] == pytest.approx(1 / 3)
    assert a.details["connectives_per_paragraph"] == [0, 1, 1, 1]
    assert any("parágrafos" in f for f in b.feedback)


def test_referential_repetition_in_consecutive_sentences(dim: CohesionDimension) -> None:
    text = "A tecnologia avança rapidamente. A tecnologia muda hábitos. Ela transforma tudo."
    result = _run(dim, text)
    rep = [i for i in result.issues if i.category == "cohesion.referential_repetition"]
    assert [(i.start, text[i.start : i.end]) for i in rep] == [
        (text.rfind("tecnologia"), "tecnologia")
    ]
    # the theme's words (title) are exempt
    exempt = _run(dim, text, title="Tecnologia e sociedade")
    assert exempt.metrics["referential_repetition_count"] == 0


def test_level_rewards_a_varied_repertoire(dim: CohesionDimension) -> None:
    poor = "A escola é boa. A escola ensina. Os alunos aprendem.\nOs pais gostam.\nÉ isso."
    rich = (
        "Atualmente, a educação enfrenta desafios, visto que faltam recursos.\n"
        "Em primeiro lugar, embora haja leis, o investimento é baixo; por exemplo, escolas "
        "não têm bibliotecas.\n"
        "Além disso, assim como a saúde, a educação depende de gestão, mas esta é falha; "
        "consequentemente, os alunos desistem.\n"
        "Portanto, caso o Estado invista, isto é, priorize o ensino, o quadro mudará."
    )
    low, high = _run(dim, poor), _run(dim, rich)
    assert low.level is not None and high.level is not None
    assert high.level >= 160 > low.level
    assert high.details["level_reasons"] and low.details["level_reasons"]
    assert high.metrics["connective_relations_distinct"] >= 8


def test_empty_text(dim: CohesionDimension) -> None:
    result = _run(dim, "")
    assert result.level == 0
    assert result.metrics["connectives_total"] == 0


def test_concurrent_use_gives_the_sequential_results(dim: CohesionDimension) -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [
        "Além disso, a escola forma. Portanto, é vital.\nContudo, falta verba onde importa.",
        "Vivemos uma época onde tudo muda. Entretanto, há esperança, visto que a juventude age.",
        "A tecnologia avança. A tecnologia muda hábitos. Mas isso é bom. Mas há riscos.",
    ] * 4
    expected = [dim.analyse(EssayInput(text=t)).model_dump() for t in texts]
    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(lambda t: dim.analyse(EssayInput(text=t)).model_dump(), texts))
    assert got == expected


def test_relations_of_ambiguous_entries() -> None:
    lex = ConnectiveLexicon()
    assert lex.relation_of("ou seja") == "explanation"
    assert lex.relation_of("isto é") == "explanation"
    assert lex.relation_of("em seguida") == "sequencing"
    assert lex.relation_of("bem como") == "addition"
