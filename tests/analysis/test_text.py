"""Segmentation: offsets always index the original text; the hard cases of pt-BR sentence ends."""

from __future__ import annotations

import pytest

from services.analysis.text import (
    Span,
    Token,
    fold,
    fold_aligned,
    paragraphs,
    sentences,
    tokens,
    words,
)


def _texts(spans: list[Span] | list[Token]) -> list[str]:
    return [s.text for s in spans]


def _check_offsets(text: str, spans: list[Span] | list[Token]) -> None:
    for s in spans:
        assert text[s.start : s.end] == s.text


def test_paragraphs_split_on_single_and_blank_lines_and_trim() -> None:
    text = "  Primeiro parágrafo.  \nSegundo.\n\n\n   \r\nTerceiro \n"
    ps = paragraphs(text)
    assert _texts(ps) == ["Primeiro parágrafo.", "Segundo.", "Terceiro"]
    _check_offsets(text, ps)


def test_paragraphs_of_empty_text() -> None:
    assert paragraphs("") == []
    assert paragraphs(" \n\n ") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "O Sr. Silva e a Dra. Ana chegaram. Eles saíram.",
            ["O Sr. Silva e a Dra. Ana chegaram.", "Eles saíram."],
        ),
        (
            "Houve 3,5 milhões de casos, p. ex., em 2.5 dias. Fim.",
            ["Houve 3,5 milhões de casos, p. ex., em 2.5 dias.", "Fim."],
        ),
        (
            "Segundo o art. 5º da Constituição, todos são iguais. Certo.",
            ["Segundo o art. 5º da Constituição, todos são iguais.", "Certo."],
        ),
        (
            "A Lei n.º 9.394 trata disso. Ela é de 1996.",
            ["A Lei n.º 9.394 trata disso.", "Ela é de 1996."],
        ),
        (
            "Ele pensou... e desistiu. Depois... Nada mudou.",
            ["Ele pensou... e desistiu.", "Depois...", "Nada mudou."],
        ),
        (
            'Ele disse: "Vamos." Depois saiu. E agora? Ninguém sabe!',
            ['Ele disse: "Vamos."', "Depois saiu.", "E agora?", "Ninguém sabe!"],
        ),
        (
            "Livros, cadernos etc. Tudo foi perdido. Lápis etc. e canetas.",
            ["Livros, cadernos etc.", "Tudo foi perdido.", "Lápis etc. e canetas."],
        ),
        (
            "A autora J. K. Rowling escreveu. Fim",
            ["A autora J. K. Rowling escreveu.", "Fim"],
        ),
        (
            "O problema persiste.Contudo, há saídas.",
            ["O problema persiste.", "Contudo, há saídas."],
        ),
        (
            "O site www.gov.br informa. Veja (isso é importante.) Certo.",
            ["O site www.gov.br informa.", "Veja (isso é importante.)", "Certo."],
        ),
        ("Sem ponto final", ["Sem ponto final"]),
    ],
)
def test_sentences_hard_cases(text: str, expected: list[str]) -> None:
    ss = sentences(text)
    assert _texts(ss) == expected
    _check_offsets(text, ss)


def test_sentences_never_cross_a_line_break() -> None:
    text = "Primeira frase sem ponto\nSegunda frase. Terceira."
    ss = sentences(text)
    assert _texts(ss) == ["Primeira frase sem ponto", "Segunda frase.", "Terceira."]
    _check_offsets(text, ss)


def test_tokens_keep_hyphens_apostrophes_numbers_and_offsets() -> None:
    text = "O guarda-chuva d'água custou R$ 3,5 mil em 2º lugar… (covid-19)!"
    ts = tokens(text)
    _check_offsets(text, ts)
    assert "guarda-chuva" in _texts(ts)
    assert "d'água" in _texts(ts)
    assert "3,5" in _texts(ts)
    assert "covid-19" in _texts(ts)
    assert "…" in _texts(ts)
    number = next(t for t in ts if t.text == "3,5")
    assert not number.is_word
    assert _texts(words(text)) == [
        "O",
        "guarda-chuva",
        "d'água",
        "custou",
        "R",
        "mil",
        "em",
        "2º",
        "lugar",
        "covid-19",
    ]


def test_fold() -> None:
    assert fold("Educação") == "educacao"
    assert fold("ÀS VEZES, Pôr") == "as vezes, por"


def test_fold_aligned_keeps_length() -> None:
    text = "Além disso, a Straße É"
    folded = fold_aligned(text)
    assert len(folded) == len(text)
    assert folded.startswith("alem disso")
    assert folded.endswith("e")


def test_accented_words_are_not_taken_for_abbreviations() -> None:
    text = "Ele ficou de pé. Depois foi ao mar. Então voltou."
    assert _texts(sentences(text)) == ["Ele ficou de pé.", "Depois foi ao mar.", "Então voltou."]
