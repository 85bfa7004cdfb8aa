"""Text metrics: counts, the line estimate the annulment rule reads, Flesch-PT, vocabulary."""

from __future__ import annotations

import pytest

from services.analysis.dimensions.metrics import (
    WORDS_PER_LINE,
    MetricsDimension,
    flesch_pt,
    lines_estimate,
)
from services.analysis.results import DimensionResult, EssayInput


@pytest.fixture(scope="module")
def dim() -> MetricsDimension:
    return MetricsDimension()


def _run(dim: MetricsDimension, text: str) -> DimensionResult:
    result = dim.analyse(EssayInput(text=text))
    DimensionResult.model_validate(result.model_dump())
    return result


def test_lines_estimate_starts_each_paragraph_on_a_new_line() -> None:
    assert WORDS_PER_LINE == 11
    assert lines_estimate([11, 12, 0, 1]) == 1 + 2 + 1
    assert lines_estimate([]) == 0


def test_flesch_pt_formula() -> None:
    assert flesch_pt(10, 2) == pytest.approx(248.835 - 10.15 - 169.2)


def test_syllables_from_pyphen(dim: MetricsDimension) -> None:
    assert dim.syllables("amor") == 2
    assert dim.syllables("educação") == 4
    assert dim.syllables("guarda-chuva") == 4
    assert dim.syllables("é") == 1


def test_counts_on_a_known_text(dim: MetricsDimension) -> None:
    text = "A escola ensina. A escola acolhe.\n\nO Brasil precisa de escolas."
    result = _run(dim, text)
    m = result.metrics
    assert result.level is None
    assert (m["words"], m["sentences"], m["paragraphs"]) == (11, 3, 2)
    assert m["lines_estimate"] == 2
    assert m["mean_sentence_length"] == pytest.approx(11 / 3)
    assert m["max_sentence_length"] == 5
    assert m["type_token_ratio"] == pytest.approx(9 / 11)  # "a" and "escola" repeat
    assert m["characters"] == len(text)
    assert result.details["paragraph_lengths"] == [6, 5]
    assert any("palavras" in f for f in result.feedback)
    assert any("nota zero" in f for f in result.feedback)  # ≤ 7 lines


def test_rare_and_unknown_words_raise_sophistication(dim: MetricsDimension) -> None:
    plain = _run(dim, "A casa é muito grande e bonita. O dia está bom.")
    rare = _run(dim, "A hermenêutica exige parcimônia epistemológica. Xyzqwk blorft.")
    assert rare.metrics["mean_zipf"] < plain.metrics["mean_zipf"]
    assert rare.metrics["rare_word_share"] > plain.metrics["rare_word_share"]
    assert rare.metrics["unknown_word_share"] > 0 == plain.metrics["unknown_word_share"]
    assert rare.metrics["flesch_pt"] < plain.metrics["flesch_pt"]


def test_empty_text(dim: MetricsDimension) -> None:
    m = _run(dim, "").metrics
    assert m["words"] == 0 and m["flesch_pt"] == 0 and m["lines_estimate"] == 0
