"""ENEM scorer: QWK maths, the ENEM rules, the shipped model's contract, a tiny smoke train."""

from __future__ import annotations

import random

import numpy as np
import pytest

from services.analysis.results import DimensionResult, EssayInput, Issue
from services.analysis.scoring.corpus import CorpusRow
from services.analysis.scoring.evaluate import (
    LEVELS,
    apply_thresholds,
    default_thresholds,
    grouped_folds,
    optimise_thresholds,
    qwk,
    qwk_levels,
    qwk_total,
)
from services.analysis.scoring.features import (
    TEXT_FEATURES,
    compact_result,
    dimension_features,
    result_from_compact,
    text_features,
)
from services.analysis.scoring.model import EnemScorer, load_default_scorer
from services.analysis.scoring.rules import RuleConfig, apply_rules
from services.analysis.scoring.types import Scorer

LEVEL_SET = set(LEVELS)

ESSAY = (
    "A educação financeira ainda é negligenciada no Brasil, embora seja essencial para a "
    "autonomia dos cidadãos. Segundo o Banco Central, muitas famílias estão endividadas.\n\n"
    "Em primeiro lugar, a escola brasileira raramente ensina a planejar gastos. Dessa forma, os "
    "jovens chegam à vida adulta sem saber lidar com o crédito, o que agrava o endividamento.\n\n"
    "Além disso, a publicidade estimula o consumo imediato. Nesse sentido, como afirma Zygmunt "
    "Bauman, a sociedade líquida transforma o desejo em necessidade, e o salário não acompanha.\n\n"
    "Portanto, cabe ao Ministério da Educação incluir a educação financeira no currículo, por meio "
    "de aulas práticas, a fim de formar cidadãos conscientes. Ademais, a mídia deve promover "
    "campanhas sobre o crédito responsável, para que as famílias planejem melhor o orçamento."
)


def _result(
    dim: str, metrics: dict[str, float] | None = None, **details: object
) -> DimensionResult:
    return DimensionResult(dimension=dim, version="test", metrics=metrics or {}, details=details)


def _all_results(lines: float = 25.0, **theme: object) -> dict[str, DimensionResult]:
    theme_details: dict[str, object] = {
        "off_topic": False,
        "tangential": False,
        "dissertative": True,
        "copied": False,
    }
    theme_details.update(theme)
    copied_ratio = float(theme_details.pop("copied_ratio", 0.0))  # type: ignore[arg-type]
    return {
        "metrics": _result("metrics", {"lines_estimate": lines, "words": lines * 10}),
        "theme": _result(
            "theme", {"copied_ratio": copied_ratio, "prompt_similarity": 0.5}, **theme_details
        ),
        "proposal": _result("proposal", {"elements_found": 4.0}, human_rights_violation=False),
        "grammar": _result("grammar", {"errors_per_100_words": 2.0}),
        "argumentation": _result("argumentation"),
        "cohesion": _result("cohesion"),
    }


GOOD = {"c1": 160, "c2": 160, "c3": 120, "c4": 160, "c5": 120}


# --- evaluation maths -------------------------------------------------------------------------


def test_qwk_perfect_random_and_reversed() -> None:
    y = [0, 1, 2, 3, 4, 5] * 10
    assert qwk(y, y, 6) == pytest.approx(1.0)
    assert qwk(y, list(reversed(y)), 6) < 0
    rng = np.random.default_rng(0)
    assert abs(qwk(rng.integers(0, 6, 5000), rng.integers(0, 6, 5000), 6)) < 0.05
    assert qwk_levels([0, 40, 200], [0, 40, 200]) == pytest.approx(1.0)
    assert qwk_total([0, 520, 1000], [0, 520, 1000]) == pytest.approx(1.0)


def test_qwk_matches_sklearn() -> None:
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(1)
    a = rng.integers(0, 6, 300)
    b = np.clip(a + rng.integers(-2, 3, 300), 0, 5)
    assert qwk(a, b, 6) == pytest.approx(cohen_kappa_score(a, b, weights="quadratic"))


def test_thresholds_map_to_grid_and_optimiser_beats_rounding() -> None:
    rng = np.random.default_rng(2)
    truth = rng.choice(np.array(LEVELS), 600)
    # A compressed, shifted regressor: plain rounding loses the extremes, tuned thresholds don't.
    values = 60.0 + 0.4 * truth + rng.normal(0, 12, truth.size)
    rounded = apply_thresholds(values, default_thresholds())
    tuned = apply_thresholds(values, optimise_thresholds(values, truth))
    assert set(rounded.tolist()) <= LEVEL_SET and set(tuned.tolist()) <= LEVEL_SET
    assert qwk_levels(truth, tuned) > qwk_levels(truth, rounded) + 0.05


def test_grouped_folds_never_split_a_prompt() -> None:
    groups = [f"p{i % 7}" for i in range(70)]
    for train, test in grouped_folds(groups, 5):
        assert not {groups[i] for i in train} & {groups[i] for i in test}


# --- features -------------------------------------------------------------------------------


def test_text_features_complete_and_finite() -> None:
    feats = text_features(ESSAY, "Título")
    assert list(feats) == list(TEXT_FEATURES)
    assert all(np.isfinite(v) for v in feats.values())
    assert feats["text.paragraphs"] == 4
    assert text_features("")["text.words"] == 0


def test_cached_result_gives_the_same_features_as_the_live_one() -> None:
    live = DimensionResult(
        dimension="grammar",
        version="1",
        level=120,
        metrics={"errors_per_100_words": 3.5},
        issues=[Issue(start=0, end=3, category="spelling", message="x")] * 2,
        details={"copied": True, "level_reasons": ["a"], "nested": {"x": 1}},
    )
    rebuilt = result_from_compact(compact_result(live))
    assert dimension_features({"grammar": live}) == dimension_features({"grammar": rebuilt})
    feats = dimension_features({"grammar": live})
    assert feats["grammar.issues.spelling"] == 2 and feats["theme.present"] == 0


# --- rules ----------------------------------------------------------------------------------


def test_seven_lines_annul_eight_do_not() -> None:
    cfg = RuleConfig()
    short = apply_rules(GOOD, _all_results(lines=7), ESSAY, cfg)
    assert short.annulled and set(short.levels.values()) == {0}
    assert [f.rule for f in short.firings] == ["too_short"]
    ok = apply_rules(GOOD, _all_results(lines=8), ESSAY, cfg)
    assert not ok.annulled and ok.levels == GOOD and not ok.firings


def test_copied_text_annulled_partial_copy_flagged() -> None:
    cfg = RuleConfig()
    mostly_copied = apply_rules(GOOD, _all_results(lines=20, copied_ratio=0.8), ESSAY, cfg)
    assert mostly_copied.annulled and "copied_text" in mostly_copied.flags
    some = apply_rules(GOOD, _all_results(lines=25, copied_ratio=0.3, copied=True), ESSAY, cfg)
    assert not some.annulled and "copied_passages" in some.flags and some.needs_review
    assert some.levels == GOOD


def test_theme_verdicts_tangential_and_human_rights() -> None:
    cfg = RuleConfig()
    off = apply_rules(GOOD, _all_results(off_topic=True), ESSAY, cfg)
    assert off.annulled and "off_topic" in off.flags
    narrative = apply_rules(GOOD, _all_results(dissertative=False), ESSAY, cfg)
    assert narrative.annulled and "not_dissertative" in narrative.flags
    flagged = apply_rules(
        GOOD, _all_results(off_topic=True), ESSAY, RuleConfig(off_topic_action="flag")
    )
    assert not flagged.annulled and flagged.needs_review and flagged.levels == GOOD
    tangent = apply_rules(GOOD, _all_results(tangential=True), ESSAY, cfg)
    assert tangent.levels == {"c1": 160, "c2": 40, "c3": 40, "c4": 160, "c5": 40}
    assert {f.effect.split()[0] for f in tangent.firings} == {"c2", "c3", "c5"}
    results = _all_results()
    results["proposal"] = _result(
        "proposal", {"human_rights_violation": 1.0}, human_rights_violation=True
    )
    hr = apply_rules(GOOD, results, ESSAY, cfg)
    assert hr.levels["c5"] == 0 and not hr.annulled and hr.levels["c1"] == 160


def test_missing_dimension_skips_its_rules_and_asks_for_review() -> None:
    results = _all_results(off_topic=True)
    del results["theme"]
    out = apply_rules(GOOD, results, ESSAY, RuleConfig())
    assert not out.annulled and out.needs_review and "missing_dimension:theme" in out.flags


def test_empty_text_is_annulled() -> None:
    out = apply_rules(GOOD, {}, "   \n ", RuleConfig())
    assert out.annulled and "empty_text" in out.flags and sum(out.levels.values()) == 0


# --- the shipped model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scorer() -> EnemScorer:
    return load_default_scorer()


def test_shipped_model_satisfies_the_contract(scorer: EnemScorer) -> None:
    assert isinstance(scorer, Scorer) and scorer.version.startswith("enem-scorer-")
    result = scorer.score(EssayInput(text=ESSAY), _all_results())
    assert set(result.levels) == {"c1", "c2", "c3", "c4", "c5"}
    assert set(result.levels.values()) <= LEVEL_SET
    assert result.total == sum(result.levels.values())
    assert all(0.0 <= v <= 1.0 for v in result.confidence.values())
    assert not result.annulled


def test_levels_in_grid_and_total_is_sum_on_random_results(scorer: EnemScorer) -> None:
    rng = random.Random(5)
    names = [n for n in scorer.artifact.feature_names if not n.startswith("text.")]
    for _ in range(40):
        by_dim: dict[str, dict[str, float]] = {}
        for name in rng.sample(names, k=min(len(names), 40)):
            dim, _, key = name.partition(".")
            by_dim.setdefault(dim, {})[key] = rng.uniform(-5, 500)
        results = _all_results(lines=rng.uniform(0, 40))
        for dim, metrics in by_dim.items():
            if dim in results:
                results[dim].metrics.update({k: v for k, v in metrics.items() if "." not in k})
        text = " ".join(rng.choice(ESSAY.split()) for _ in range(rng.randint(0, 400)))
        result = scorer.score(EssayInput(text=text), results)
        assert set(result.levels.values()) <= LEVEL_SET
        assert result.total == sum(result.levels.values())
        if result.annulled:
            assert result.total == 0 and result.rules
        if result.total == 0:  # only annulment gives 0 everywhere: anything else goes to a human
            assert result.annulled or result.needs_human_review


def test_same_input_same_output(scorer: EnemScorer) -> None:
    from services.analysis.scoring.model import load_scorer

    essay = EssayInput(text=ESSAY, prompt_text="Educação financeira no Brasil")
    first = scorer.score(essay, _all_results())
    again = load_scorer().score(essay, _all_results())
    assert first.model_dump() == again.model_dump()


def test_score_uses_the_dimension_results(scorer: EnemScorer) -> None:
    """Changing only the dimension results (not the text) moves the score: they are features."""
    base = scorer.predict_values(EssayInput(text=ESSAY), _all_results())
    results = _all_results()
    dims = {n.split(".")[0] for n in scorer.artifact.feature_names if not n.startswith("text.")}
    for dim in dims & set(results):
        results[dim] = _result(dim)
    assert scorer.predict_values(EssayInput(text=ESSAY), results) != base


def test_short_essay_through_the_real_metrics_dimension_is_annulled(scorer: EnemScorer) -> None:
    from services.analysis.dimensions.metrics import MetricsDimension

    text = "\n".join(
        [
            "A violência contra a mulher é um problema grave no Brasil de hoje.",
            "Muitas mulheres sofrem caladas dentro de casa por medo e dependência.",
            "O Estado precisa agir com mais rapidez e proteger as vítimas.",
            "Portanto, o governo deve ampliar as delegacias especializadas no país.",
        ]
    )
    essay = EssayInput(text=text)
    metrics = MetricsDimension().analyse(essay)
    assert metrics.metrics["lines_estimate"] <= 7
    results = _all_results()
    results["metrics"] = metrics
    result = scorer.score(essay, results)
    assert result.annulled and result.total == 0 and "too_short" in result.flags
    assert result.needs_human_review


# --- smoke training on synthetic rows ---------------------------------------------------------


def test_tiny_training_run_is_deterministic() -> None:
    from services.analysis.scoring.features import NgramEncoder
    from services.analysis.scoring.train import TrainConfig, build_dataset, train_model

    rng = random.Random(3)
    words = ESSAY.split()
    rows = []
    for i in range(36):
        quality = i % 6
        n = 60 + 40 * quality
        text = "\n\n".join(" ".join(rng.choice(words) for _ in range(n // 4)) for _ in range(4))
        levels = {c: LEVELS[min(5, max(0, quality + rng.randint(-1, 1)))] for c in GOOD}
        rows.append(CorpusRow(f"e{i}", "synthetic", f"p{i % 6}", "", text, None, levels))
    results = {
        r.id: {"metrics": _result("metrics", {"words": float(len(r.text.split()))})} for r in rows
    }
    cfg = TrainConfig(folds=3, hgb_iter=10, ngram_features=2**10, dimensions=("metrics",))

    def run() -> object:
        data = build_dataset(rows, results, cfg.dimensions, NgramEncoder(cfg.ngram_features))
        return train_model(
            data, cfg, {"metrics": "test"}, {"essays": len(rows)}, log=lambda s: None
        )

    first, second = run(), run()
    card = first.card  # type: ignore[attr-defined]
    assert card["evaluation"]["qwk_selected"] == second.card["evaluation"]["qwk_selected"]  # type: ignore[attr-defined]
    assert "metrics.words" in card["features"]["names"]
    model = EnemScorer(first.artifact)  # type: ignore[attr-defined]
    out = model.score(EssayInput(text=rows[0].text), results["e0"])
    assert set(out.levels.values()) <= LEVEL_SET


PROMPT = (
    "TEXTO I\nA violência contra a mulher no Brasil é um fenômeno persistente que atravessa "
    "classes sociais, regiões e gerações, e se manifesta de forma física, psicológica, sexual, "
    "patrimonial e moral, conforme define a Lei Maria da Penha, sancionada em 2006 para coibir a "
    "violência doméstica e familiar.\nTEXTO II\nSegundo dados do Fórum Brasileiro de Segurança "
    "Pública, uma mulher é vítima de feminicídio a cada sete horas no país, e a maior parte dos "
    "agressores são companheiros ou ex-companheiros das vítimas, o que mostra que o lar ainda é "
    "um lugar de risco para muitas brasileiras.\nTEXTO III\nA rede de proteção às mulheres inclui "
    "delegacias especializadas, casas-abrigo, centros de referência e o Ligue 180, mas muitas "
    "cidades pequenas não contam com nenhum desses serviços, o que dificulta a denúncia."
)


def test_prompt_features_measure_copying_and_coverage() -> None:
    from services.analysis.scoring.features import prompt_features

    assert prompt_features(ESSAY, None) == {"prompt.present": 0.0}
    copied = prompt_features(PROMPT.replace("TEXTO I\n", ""), PROMPT)
    own = prompt_features(ESSAY, PROMPT)
    assert copied["prompt.copied_8gram_share"] > 0.8 and own["prompt.copied_8gram_share"] == 0.0
    assert copied["prompt.keyword_coverage"] > own["prompt.keyword_coverage"]


def test_prompt_grouped_sample_takes_whole_prompts_deterministically() -> None:
    from services.analysis.scoring.corpus import prompt_grouped_sample

    rows = [CorpusRow(f"e{i}", "s", f"p{i % 9}", "", "x", None, GOOD) for i in range(90)]
    sample = prompt_grouped_sample(rows, 25)
    assert sample == prompt_grouped_sample(list(reversed(rows)), 25)
    prompts = {r.prompt_id for r in rows if r.id in set(sample)}
    assert len(sample) == 10 * len(prompts) >= 25


def test_copied_prompt_essay_is_annulled_through_the_real_theme_dimension(
    scorer: EnemScorer,
) -> None:
    """The theme dimension measures the copy; the scorer's rule turns it into an annulment."""
    from services.analysis.dimensions.metrics import MetricsDimension
    from services.analysis.dimensions.theme import ThemeDimension

    body = "\n".join(p for p in PROMPT.splitlines() if not p.startswith("TEXTO"))
    essay = EssayInput(text=body + "\nPortanto, é preciso agir.", prompt_text=PROMPT)
    results = _all_results()
    results["theme"] = ThemeDimension().analyse(essay)
    results["metrics"] = MetricsDimension().analyse(essay)
    assert results["metrics"].metrics["lines_estimate"] > 7  # not annulled for length
    result = scorer.score(essay, results)
    assert result.annulled and result.total == 0
    assert "copied_text" in result.flags and result.needs_human_review
    assert any(r.rule == "copied_text" and "copies" in r.reason for r in result.rules)


@pytest.mark.parametrize("workers", [1, 2])
def test_extraction_fills_and_then_reads_the_cache(tmp_path: object, workers: int) -> None:
    from pathlib import Path

    from services.analysis.scoring.corpus import extract_dimensions
    from services.analysis.scoring.features import FeatureCache

    cache = FeatureCache(Path(str(tmp_path)))
    rows = [CorpusRow(f"e{i}", "s", "p", "", ESSAY * (i + 1), None, GOOD) for i in range(2)]
    calls: list[tuple[int, int]] = []
    first = extract_dimensions(
        rows,
        lambda r: ("metrics",),
        cache,
        workers=workers,
        progress=lambda d, n: calls.append((d, n)),
    )
    assert calls[-1] == (2, 2)
    assert first["e1"]["metrics"].metrics["words"] > first["e0"]["metrics"].metrics["words"]
    again = extract_dimensions(rows, lambda r: ("metrics",), cache, workers=workers)
    assert dimension_features(again["e0"]) == dimension_features(first["e0"])
    assert cache.get("metrics", first["e0"]["metrics"].version, "e0") is not None


def test_tangential_as_flag_keeps_levels() -> None:
    out = apply_rules(
        GOOD, _all_results(tangential=True), ESSAY, RuleConfig(tangential_action="flag")
    )
    assert out.levels == GOOD and "tangential_suspected" in out.flags and out.needs_review
