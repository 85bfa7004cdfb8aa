"""Unit tests of the grammar dimension (ENEM C1): rules, offsets, suggestions, metrics."""

from __future__ import annotations

import threading

import pytest

from services.analysis.dimensions.grammar import GrammarDimension
from services.analysis.grammar.findings import Finding, resolve_overlaps
from services.analysis.grammar.levels import CATEGORIES, estimate_level, metric_key
from services.analysis.grammar.lightproof import categorise, required_literal, required_strings
from services.analysis.grammar.spelling import rank_suggestions
from services.analysis.results import DimensionResult, EssayInput
from services.analysis.rubric import Dimension, get_rubric, load_dimension


@pytest.fixture(scope="module")
def grammar() -> GrammarDimension:
    dimension = load_dimension(get_rubric("enem"), "grammar")
    assert isinstance(dimension, GrammarDimension)
    return dimension


def _analyse(grammar: GrammarDimension, text: str) -> DimensionResult:
    return grammar.analyse(EssayInput(text=text))


# (text, evidence, category, first suggestion)
RULE_CASES = [
    ("O tema é importante, mais ninguém o discute.", "mais", "grammar.mas_mais", "mas"),
    ("Ela é mas dedicada do que o irmão.", "mas", "grammar.mas_mais", "mais"),
    ("Porque os rios estão tão poluídos?", "Porque", "grammar.porque", "Por que"),
    ("Os rios estão poluídos por quê motivo?", None, None, None),
    ("A razão porque ele saiu é simples.", "porque", "grammar.porque", "por que"),
    ("Ninguém entende o porque da decisão.", "porque", "grammar.porque", "porquê"),
    ("Os moradores foram a praça protestar, mais nada mudou.", "mais", "grammar.mas_mais", "mas"),
    ("O governo deu atenção à todos os setores.", "à", "grammar.crase", "a"),
    ("Devido à problemas técnicos, a aula atrasou.", "à", "grammar.crase", "a"),
    ("Todos têm direito a educação gratuita.", "a", "grammar.crase", "à"),
    ("As vezes o sistema falha.", "As", "grammar.crase", "Às"),
    ("Vivemos uma época onde tudo é instantâneo.", "onde", "grammar.onde", "em que"),
    ("Fazem cinco anos que a ponte caiu.", "Fazem", "grammar.agreement", "Faz"),
    ("No ano passado houveram protestos no país.", "houveram", "grammar.agreement", "houve"),
    ("Existe muitas famílias sem moradia.", "Existe", "grammar.agreement", "Existem"),
    ("A gente precisa votar com consciência.", "A gente", "register.informal", "Nós"),
    ("Isso é muito importante pra sociedade.", "pra", "register.informal", "para"),
    ("O prefeito tá preocupado com a chuva.", "tá", "register.informal", "está"),
    ("Esse é um mal exemplo para os jovens.", "mal", "grammar.mau_mal", "mau"),
    ("O projeto foi mau planejado.", "mau", "grammar.mau_mal", "mal"),
    ("A ponte foi construída a mais de cem anos.", "a", "grammar.ha_a", "há"),
    ("Daqui há dois anos teremos eleições.", "Daqui há", "grammar.ha_a", "Daqui a"),
    ("Eles não tem recursos suficientes.", "tem", "accent", "têm"),
    ("A desigualdade social, é um problema antigo.", ",", "punctuation", ""),
    ("Portanto cabe ao Estado agir.", "Portanto", "punctuation", "Portanto,"),
    ("O estudo foi feito afim de medir a poluição.", "afim de", "spelling", "a fim de"),
    ("A poluissão do ar preocupa os médicos.", "poluissão", "spelling", "poluição"),
    ("É necessario investir em saneamento.", "necessario", "accent", "necessário"),
    ("Entre eu e ela não há conflito.", "Entre eu", "grammar.pronoun", "Entre mim"),
    ("A discussão a nível de governo é lenta.", "a nível de", "grammar.expression", "em nível de"),
    ("Tratam-se de problemas antigos.", "Tratam-se", "grammar.agreement", "Trata-se"),
    ("É um autor cujo o livro foi premiado.", "cujo o", "grammar.pronoun", "cujo"),
    ("Ela mesmo resolveu o problema.", "mesmo", "grammar.agreement", "mesma"),
    ("Ao meu ver, a lei é justa.", "Ao meu ver", "grammar.expression", "A meu ver"),
    ("Não sei aonde fica a escola.", "aonde", "grammar.expression", "onde"),
    (
        "O Brasil vive uma crise uma crise grave.",
        "uma crise uma crise",
        "grammar.repetition",
        "uma crise",
    ),
]


@pytest.mark.parametrize(("text", "evidence", "category", "suggestion"), RULE_CASES)
def test_rules_fire_with_offsets_and_suggestions(
    grammar: GrammarDimension,
    text: str,
    evidence: str | None,
    category: str | None,
    suggestion: str | None,
) -> None:
    result = _analyse(grammar, text)
    if evidence is None:
        return
    matching = [i for i in result.issues if text[i.start : i.end] == evidence]
    assert matching, (
        f"no issue on {evidence!r}: {[(text[i.start : i.end], i.rule) for i in result.issues]}"
    )
    issue = matching[0]
    assert issue.category == category
    assert issue.suggestions and issue.suggestions[0] == suggestion
    assert issue.rule and issue.message


def test_porque_question_end(grammar: GrammarDimension) -> None:
    text = "Muitos jovens deixam a escola, mas por que?"
    issues = _analyse(grammar, text).issues
    assert [(text[i.start : i.end], i.suggestions[0]) for i in issues] == [("por que", "por quê")]


CLEAN = [
    "A Constituição Federal de 1988 garante, em seu art. 5º, a igualdade de todos perante a lei.",
    "Segundo o IBGE, 33 milhões de brasileiros passavam fome em 2022, o que exige ação imediata.",
    "Como afirma Zygmunt Bauman, vivemos tempos líquidos, nos quais os vínculos se desfazem.",
    "Há dez anos o país discute a reforma, mas ainda não há consenso sobre ela.",
    "Faz tempo que a sociedade cobra políticas públicas eficazes.",
    'O termo "fake news" ganhou força com as redes sociais, à medida que a desinformação cresceu.',
    "Veja mais em https://www.gov.br/inep/pt-br e no site da ONU.",
    "Por que a evasão escolar persiste? Porque faltam políticas de permanência estudantil.",
    "O Estado deve, portanto, garantir o acesso à saúde e à educação de qualidade.",
    "A cidade onde nasci ainda não tem saneamento básico.",
    "Ninguém sabe o porquê de tanta demora, mas a população continua à espera de respostas.",
    'O slogan "pior que tá não fica" mostra o descrédito da política.',
    "Nesse contexto de crise, o Estado precisa agir.",
    "Ela mesma reconheceu o erro, e o país, cujo povo sofre, aguarda mudanças.",
    "Trata-se de um problema que precisa de solução; aonde iremos sem educação?",
    "Mesmo assim, ela não desistiu.",
    "Jamais chegariam aonde estão sem ajuda; a licença foi concedida à Samarco.",
    "A nossa democracia ainda é recente, está sujeita a mudanças.",
    "O artista vive sob a luz dos holofotes, e escolas em mau estado são interditadas.",
    "Muitos cidadãos questionam se este sistema é realmente igualitário.",
    "O governo deu apoio à Petrobras e à Caixa nos últimos anos.",
    "O país busca equilíbrio frente à crise, mas ainda assim cresce pouco.",
]


@pytest.mark.parametrize("text", CLEAN)
def test_no_flags_on_clean_text(grammar: GrammarDimension, text: str) -> None:
    issues = _analyse(grammar, text).issues
    assert issues == [], [(text[i.start : i.end], i.rule, i.message) for i in issues]


def test_offsets_index_the_original_text_across_paragraphs(grammar: GrammarDimension) -> None:
    text = "  Introdução sem erros.\r\n\r\nO governo tá omisso, mais a sociedade reage.\n"
    result = _analyse(grammar, text)
    evidence = [text[i.start : i.end] for i in result.issues]
    assert evidence == ["tá", "mais"]


def test_metrics_are_stable_and_densities_consistent(grammar: GrammarDimension) -> None:
    text = "Eles tá cansados. A gente vai embora pra casa."
    result = _analyse(grammar, text)
    for category in CATEGORIES:
        assert f"density_{metric_key(category)}" in result.metrics
        assert f"count_{metric_key(category)}" in result.metrics
    words = result.metrics["words"]
    assert words == 9
    assert result.metrics["issues_total"] == len(result.issues)
    assert result.metrics["count_register_informal"] == 3
    assert result.metrics["density_register_informal"] == pytest.approx(300 / 9, abs=1e-3)
    assert result.metrics["errors_total"] == len(result.issues)  # no style advice here
    assert result.metrics["errors_per_100_words"] == pytest.approx(
        100 * len(result.issues) / words, abs=1e-3
    )
    assert result.level is not None and result.level % 40 == 0
    assert result.details["level_reasons"]
    assert result.feedback and all(isinstance(line, str) for line in result.feedback)


def test_empty_text_has_no_level(grammar: GrammarDimension) -> None:
    result = _analyse(grammar, "")
    assert result.level is None
    assert result.issues == []
    assert result.metrics["errors_per_100_words"] == 0.0


def test_level_steps() -> None:
    assert estimate_level(0.0, 300)[0] == 200
    assert estimate_level(0.9, 300)[0] == 160
    assert estimate_level(1.8, 300)[0] == 120
    assert estimate_level(3.0, 300)[0] == 80
    assert estimate_level(4.5, 300)[0] == 40
    assert estimate_level(12.0, 300)[0] == 0
    levels = [estimate_level(d / 10, 300)[0] for d in range(0, 120)]
    assert levels == sorted(levels, key=lambda v: -(v or 0))  # denser text, never a higher level


def test_dimension_contract(grammar: GrammarDimension) -> None:
    assert isinstance(grammar, Dimension)
    assert grammar.name == "grammar"
    result = _analyse(grammar, "Texto curto e correto.")
    assert result.dimension == "grammar" and result.version == grammar.version


def test_thread_safety_same_results(grammar: GrammarDimension) -> None:
    texts = [case[0] for case in RULE_CASES[:12]]
    expected = [[(i.start, i.end, i.rule) for i in _analyse(grammar, t).issues] for t in texts]
    results: dict[int, list[list[tuple[int, int, str | None]]]] = {}

    def work(n: int) -> None:
        results[n] = [
            [(i.start, i.end, i.rule) for i in _analyse(grammar, t).issues] for t in texts
        ]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(results[n] == expected for n in range(4))


def test_required_literal_is_a_substring_of_every_match() -> None:
    assert required_literal(r"(?u)(?<![-\w])([Dd])a vontade de ([a-zç]+)r") == "da vontade de "
    assert required_strings(r"(?u)\b(mas|mais) tarde\b") == ("mais tarde", "mas tarde")
    assert len(required_literal(r"(?u)(?P<x>[a-z]+) (?P<y>[a-z]+)")) < 2  # too short to filter
    assert required_literal(r"(?u)abc(?:de)?fg") in {"abc", "fg"}
    assert required_strings(r"(?u)(Algum|Esse) (?P<x>[a-z]+)o") == ("algum ", "esse ")
    assert required_strings(r"(?u)(?P<x>[a-z]+)") == ()


def test_lightproof_categories() -> None:
    assert categorise("Ausência de crase. Você quis dizer:", []) == "grammar.crase"
    assert categorise("Não há concordância verbal.", []) == "grammar.agreement"
    assert categorise("Espaço extra antes do ponto final?", []) == "typography"
    assert categorise("Qualquer coisa", ["malmau"]) == "grammar.mau_mal"


def test_overlaps_prefer_project_rules_then_spelling() -> None:
    project = Finding(0, 4, "grammar.crase", "m", "project.x", "project", ("à",))
    lightproof = Finding(2, 8, "grammar.other", "m", "lightproof.1", "lightproof")
    spelling = Finding(10, 12, "spelling", "m", "spelling.hunspell", "spelling")
    lightproof_2 = Finding(9, 14, "grammar.agreement", "m", "lightproof.2", "lightproof")
    assert resolve_overlaps([lightproof, lightproof_2, spelling, project]) == [project, spelling]


def test_suggestions_rank_accent_fixes_first() -> None:
    assert rank_suggestions("Analise", ["Anelise", "Análise"]) == ["Análise", "Anelise"]


def test_group_prefilter_is_exact(grammar: GrammarDimension) -> None:
    """The word-list prefilter only skips regex runs; findings are the same without it."""
    from services.analysis import text as seg
    from services.analysis.grammar.checker import DISABLED_RULES_FILE
    from services.analysis.grammar.lightproof import LightproofEngine
    from services.analysis.grammar.spelling import load_wordlist

    plain = LightproofEngine(
        disabled_rules=load_wordlist(DISABLED_RULES_FILE), use_group_filter=False
    )
    filtered = grammar.checker.lightproof
    assert sum(rule.group_filter is not None for rule in filtered.rules) > 1000
    for text in (
        [case[0] for case in RULE_CASES]
        + CLEAN
        + [
            "As pessoa mais pobres e os jovem de hoje em dia não tem acesso a escola.",
            "Esse realidade mostra que um política pública e os aluno precisam de apoio.",
        ]
    ):
        quads = [
            (p.start, p.end, s.start, s.end)
            for p in seg.paragraphs(text)
            for s in seg.sentences_in(text, p.start, p.end)
        ]
        assert filtered.check(text, quads) == plain.check(text, quads)


def test_stems_before() -> None:
    from services.analysis.grammar.prefilter import stems_before

    assert stems_before("as casas altas", "as ") == {"cas", "as", "s"}
    assert stems_before("um dois", "") == {"um", "m", "dois", "ois", "is", "s"}


def test_suggester_finds_near_misses(grammar: GrammarDimension) -> None:
    spelling = grammar.checker.spelling
    expected = {
        "necessario": "necessário",
        "nescessidade": "necessidade",
        "consiencia": "consciência",
        "porisso": "por isso",
        "excessão": "exceção",
        "Alem": "Além",
        "previlégio": "privilégio",
    }
    for word, best in expected.items():
        assert spelling.suggest(word)[0] == best, (word, spelling.suggest(word))


def test_automaton_and_plain_prefilter_agree(grammar: GrammarDimension) -> None:
    engine = grammar.checker.lightproof
    assert engine._automaton is not None  # pyahocorasick is a runtime dependency
    for text in CLEAN + [case[0] for case in RULE_CASES]:
        lowered = text.lower()
        assert engine._present_strings(lowered) == {s for s in engine._strings if s in lowered}


def test_vendored_prefilters_match_the_rules() -> None:
    """`literals.json.gz` must be regenerated with the rules (else start-up recomputes it)."""
    import gzip
    import json

    from services.analysis.grammar import lightproof

    raw = lightproof.load_raw_rules()
    with gzip.open(lightproof.LIGHTPROOF_DIR / lightproof.LITERALS_FILE, "rt") as f:
        data = json.load(f)
    assert data["format"] == 3
    assert data["patterns_sha1"] == lightproof._patterns_digest(raw)
    assert len(data["literals"]) == len(data["groups"]) == len(raw) > 11_000
