"""ThemeDimension (ENEM C2): topic adherence, copied text, structure and repertoire.

One instance (embedding model loaded once) is shared by the module; texts are short and
hand-written so the suite stays fast.
"""

from __future__ import annotations

import pytest

from services.analysis.dimensions.theme import ThemeDimension, stem
from services.analysis.results import EssayInput

PROMPT = (
    "Desafios para o combate à violência contra a mulher no Brasil\n"
    "A Lei Maria da Penha, sancionada em 2006, criou mecanismos para coibir a violência "
    "doméstica e familiar contra a mulher, mas os registros de agressões continuam altos.\n"
    "Segundo levantamentos recentes, uma mulher é vítima de feminicídio a cada seis horas no "
    "país, e a maioria dos crimes acontece dentro de casa, cometida por companheiros.\n"
    "Especialistas apontam que a denúncia ainda é dificultada pelo medo, pela dependência "
    "financeira e pela falta de delegacias especializadas no interior.\n"
)

ON_TOPIC = (
    "A violência contra a mulher é uma realidade persistente no Brasil. Nesse contexto, é "
    "inegável que o machismo estrutural e a impunidade dificultam o combate a esse problema.\n\n"
    "Em primeiro lugar, segundo a filósofa Simone de Beauvoir, a mulher foi historicamente "
    "colocada como o outro, subordinada ao homem. Essa herança explica por que tantas "
    "agressões ocorrem dentro de casa, cometidas por companheiros.\n\n"
    "Além disso, segundo o IBGE, 30% das brasileiras já sofreram violência doméstica, embora a "
    "Lei Maria da Penha e o art. 5º da Constituição Federal garantam a igualdade entre os sexos."
    " A falta de delegacias especializadas no interior agrava o quadro.\n\n"
    "Portanto, o Estado deve ampliar a rede de proteção às vítimas, por meio de delegacias da "
    "mulher em todos os municípios, a fim de que as denúncias sejam acolhidas."
)

OFF_TOPIC = (
    "O futebol é o esporte mais popular do país e movimenta bilhões de reais todos os anos. "
    "Nesse contexto, é inegável que os clubes enfrentam dificuldades financeiras.\n\n"
    "Em primeiro lugar, os estádios modernos construídos para a Copa do Mundo exigem altos "
    "custos de manutenção, e muitos deles ficam vazios durante a maior parte da temporada.\n\n"
    "Além disso, a venda precoce de jogadores jovens para clubes europeus enfraquece os "
    "campeonatos nacionais e afasta os torcedores das arquibancadas.\n\n"
    "Portanto, as federações devem renegociar as dívidas dos clubes, por meio de programas de "
    "refinanciamento, a fim de tornar o calendário esportivo sustentável."
)

NARRATIVE = (
    "Eu lembro quando era criança e minha mãe me levava para a escola todos os dias.\n\n"
    "Certo dia, eu estava na praça com meu pai e de repente começou a chover muito forte.\n\n"
    "Então eu corri para casa e fiquei olhando a chuva pela janela até anoitecer."
)


@pytest.fixture(scope="module")
def theme() -> ThemeDimension:
    return ThemeDimension()


@pytest.fixture(scope="module")
def on_topic(theme: ThemeDimension) -> dict[str, object]:
    return theme.analyse(EssayInput(text=ON_TOPIC, prompt_text=PROMPT)).model_dump()


def test_on_topic_essay_is_not_flagged(on_topic: dict[str, object]) -> None:
    metrics = on_topic["metrics"]
    details = on_topic["details"]
    assert isinstance(metrics, dict) and isinstance(details, dict)
    assert details["off_topic"] is False
    assert details["tangential"] is False
    assert metrics["keyword_coverage"] > 0.4
    assert details["dissertative"] is True
    assert on_topic["level"] is not None and int(on_topic["level"]) >= 120  # type: ignore[call-overload]
    assert details["level_reasons"]


def test_unrelated_essay_scores_lower_and_is_flagged(
    theme: ThemeDimension, on_topic: dict[str, object]
) -> None:
    off = theme.analyse(EssayInput(text=OFF_TOPIC, prompt_text=PROMPT))
    on_metrics = on_topic["metrics"]
    assert isinstance(on_metrics, dict)
    assert off.metrics["prompt_similarity"] < on_metrics["prompt_similarity"]
    assert off.metrics["keyword_coverage"] < on_metrics["keyword_coverage"]
    assert off.details["off_topic"] is True
    assert off.level == 0
    assert any("fugir do tema" in f for f in off.feedback)


def test_without_prompt_similarity_is_absent_and_flags_false(theme: ThemeDimension) -> None:
    result = theme.analyse(EssayInput(text=ON_TOPIC))
    assert "prompt_similarity" not in result.metrics
    assert "keyword_coverage" not in result.metrics
    assert "copied_ratio" not in result.metrics
    assert result.details["off_topic"] is False
    assert result.details["tangential"] is False
    assert result.details["copied"] is False
    assert any("textos motivadores" in f for f in result.feedback)
    assert "structure_score" in result.metrics and "repertoire_count" in result.metrics


def test_copied_motivating_text_is_marked_with_offsets(theme: ThemeDimension) -> None:
    copied = (
        "uma mulher é vítima de feminicídio a cada seis horas no país, e a maioria dos crimes "
        "acontece dentro de casa"
    )
    text = ON_TOPIC.replace(
        "Essa herança explica", f"Sabe-se que {copied}. Essa herança explica", 1
    )
    result = theme.analyse(EssayInput(text=text, prompt_text=PROMPT))
    spans = [text[i.start : i.end] for i in result.issues if i.category == "theme.copied"]
    assert len(spans) == 1
    assert spans[0] in copied and len(spans[0]) >= 0.9 * len(copied)
    assert result.details["copied"] is True
    assert result.metrics["copied_ratio"] > 0.05
    clean = theme.analyse(EssayInput(text=ON_TOPIC, prompt_text=PROMPT))
    assert clean.metrics["copied_ratio"] == 0.0 and clean.details["copied"] is False


def test_repertoire_kinds(on_topic: dict[str, object]) -> None:
    issues = on_topic["issues"]
    assert isinstance(issues, list)
    found = {(i["category"], ON_TOPIC[i["start"] : i["end"]]) for i in issues}
    categories = {c for c, _ in found}
    assert {"repertoire.author", "repertoire.law", "repertoire.data"} <= categories
    assert ("repertoire.citation", "segundo a filósofa Simone de Beauvoir") in found
    assert not any(c == "repertoire.citation" and "IBGE" in s for c, s in found)
    assert ("repertoire.law", "Lei Maria da Penha") in found
    assert any(c == "repertoire.author" and "Beauvoir" in s for c, s in found)
    assert any(c == "repertoire.data" and "30%" in s for c, s in found)
    assert any(c == "repertoire.law" and s.startswith("art. 5º") for c, s in found)
    metrics = on_topic["metrics"]
    # once per sentence and kind: Beauvoir (author, citation); IBGE + 30 %; Penha + art. 5º
    assert isinstance(metrics, dict) and metrics["repertoire_count"] == 4
    assert metrics["repertoire_mentions"] >= 5


def test_narrative_text_is_not_dissertative(theme: ThemeDimension) -> None:
    result = theme.analyse(EssayInput(text=NARRATIVE))
    assert result.details["dissertative"] is False
    assert result.metrics["narrative_rate"] > 3.0
    assert result.level == 0
    essay = theme.analyse(EssayInput(text=ON_TOPIC))
    assert essay.metrics["structure_score"] > result.metrics["structure_score"]


def test_light_stemmer_conflates_inflections() -> None:
    assert stem("mulheres") == stem("mulher")
    assert stem("Violência") == stem("violento")
    assert stem("instituições") == stem("instituição")


def test_embeddings_are_normalised_and_blank_is_zero(theme: ThemeDimension) -> None:
    from services.analysis import embeddings

    vectors = embeddings.embed(["A violência contra a mulher.", "   ", "O futebol."], "query")
    assert vectors.shape == (3, embeddings.dim())
    norms = (vectors**2).sum(axis=1) ** 0.5
    assert abs(norms[0] - 1) < 1e-4 and abs(norms[2] - 1) < 1e-4
    assert norms[1] == 0.0
    single = embeddings.embed(["A violência contra a mulher."], "query")
    assert float(single[0] @ vectors[0]) > 0.999
    passage = embeddings.embed(["A violência contra a mulher."], "passage")
    assert float(passage[0] @ vectors[0]) < 0.999  # the e5 prefix changes the embedding


def test_concurrent_use_matches_sequential(theme: ThemeDimension) -> None:
    from concurrent.futures import ThreadPoolExecutor

    essays = [
        EssayInput(text=ON_TOPIC, prompt_text=PROMPT),
        EssayInput(text=OFF_TOPIC, prompt_text=PROMPT),
        EssayInput(text=NARRATIVE, prompt_text=PROMPT),
    ]
    sequential = [theme.analyse(e) for e in essays]
    with ThreadPoolExecutor(max_workers=3) as pool:
        parallel = list(pool.map(theme.analyse, essays))
    for a, b in zip(sequential, parallel, strict=True):
        assert a.issues == b.issues and a.details == b.details and a.level == b.level
        assert a.metrics.keys() == b.metrics.keys()
        assert all(abs(a.metrics[k] - b.metrics[k]) < 1e-4 for k in a.metrics)
