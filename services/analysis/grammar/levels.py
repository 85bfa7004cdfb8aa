"""From findings to C1 features: densities per category, a level estimate and feedback.

The level is a transparent first estimate for ENEM competency 1 ("domínio da norma padrão"),
read off the error density (errors per 100 words). ENEM's grid describes level 200 as "at most
one structural slip and at most two deviations", 160 as "few deviations", 120 as "some", 80 as
"many", 40 as "very many"; the density steps below follow that order and were placed on
graded essays (see `LEVEL_STEPS`). The trained scorer reads the metrics, not this level, so
the steps only need to be a sensible, explainable baseline.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from services.analysis.grammar.findings import Finding

# Categories with a stable metric even when zero (the scorer uses them as features).
CATEGORIES: tuple[str, ...] = (
    "spelling",
    "spelling.hyphen",
    "accent",
    "grammar.crase",
    "grammar.agreement",
    "grammar.mas_mais",
    "grammar.porque",
    "grammar.onde",
    "grammar.mau_mal",
    "grammar.ha_a",
    "grammar.pronoun",
    "grammar.regency",
    "grammar.expression",
    "grammar.repetition",
    "grammar.paronym",
    "grammar.other",
    "punctuation",
    "register.informal",
    "style.pleonasm",
    "style.gerund",
    "style.wordiness",
)

FAMILIES: dict[str, tuple[str, ...]] = {
    "orthography": ("spelling", "spelling.hyphen", "accent"),
    "grammar": tuple(c for c in CATEGORIES if c.startswith("grammar.")),
    "punctuation": ("punctuation",),
    "register": ("register.informal",),
    "style": ("style.pleonasm", "style.gerund", "style.wordiness"),
}

# (upper bound of errors per 100 words, level), checked in order. Calibrated on the ENEM
# essays in ../shared (`bench/analysis_quality_c1.py --corpus 40`, 40 essays per level): mean
# densities were 0.41 (C1=200), 0.97 (160), 1.10 (120), 3.18 (80), 3.43 (40); the bounds sit
# between neighbouring means. Level 0 is kept for very dense deviation (> 5 per 100 words).
LEVEL_STEPS: tuple[tuple[float, int], ...] = (
    (0.7, 200),
    (1.1, 160),
    (2.1, 120),
    (3.3, 80),
    (5.0, 40),
)

_LABELS: dict[str, str] = {
    "spelling": "ortografia",
    "spelling.hyphen": "hífen em termos compostos",
    "accent": "acentuação",
    "grammar.crase": "crase",
    "grammar.agreement": "concordância",
    "grammar.mas_mais": "uso de mas/mais",
    "grammar.porque": "uso dos porquês",
    "grammar.onde": "uso de “onde”",
    "grammar.mau_mal": "uso de mau/mal",
    "grammar.ha_a": "uso de há/a",
    "grammar.pronoun": "colocação e emprego de pronomes",
    "grammar.regency": "regência",
    "grammar.expression": "locuções e expressões",
    "grammar.repetition": "palavras repetidas",
    "grammar.paronym": "parônimos",
    "grammar.other": "outros desvios gramaticais",
    "punctuation": "pontuação",
    "register.informal": "registro informal",
    "style.pleonasm": "pleonasmos",
    "style.gerund": "gerundismo",
    "style.wordiness": "prolixidade",
}


def metric_key(category: str) -> str:
    """`grammar.crase` -> `grammar_crase` (metric names are snake_case)."""
    return category.replace(".", "_")


@dataclass(frozen=True, slots=True)
class Assessment:
    """Metrics, level and the reasons for it, and feedback for one essay."""

    metrics: dict[str, float]
    level: int | None
    reasons: list[str]
    feedback: list[str]
    counts: dict[str, int]


def _per_100(count: int, words: int) -> float:
    return round(100.0 * count / words, 4) if words else 0.0


def is_norm_error(finding: Finding) -> bool:
    """Deviations from the written norm; `style.*` (pleonasm, gerundism) is advice only."""
    return not finding.category.startswith("style.")


def metrics_for(findings: list[Finding], words: int, sentences: int) -> dict[str, float]:
    """Counts and densities, overall, per category and per family of categories.

    `errors_per_100_words` counts norm deviations only; style advice is reported in its own
    family so a stylistic false alarm cannot move the C1 estimate.
    """
    counts = Counter(f.category for f in findings)
    errors = [f for f in findings if is_norm_error(f)]
    distinct_rules = len({f.rule for f in errors})
    metrics: dict[str, float] = {
        "words": float(words),
        "sentences": float(sentences),
        "issues_total": float(len(findings)),
        "errors_total": float(len(errors)),
        "errors_per_100_words": _per_100(len(errors), words),
        "errors_per_sentence": round(len(errors) / sentences, 4) if sentences else 0.0,
        "distinct_rules": float(distinct_rules),
    }
    for category in sorted(set(CATEGORIES) | set(counts)):
        key = metric_key(category)
        metrics[f"count_{key}"] = float(counts.get(category, 0))
        metrics[f"density_{key}"] = _per_100(counts.get(category, 0), words)
    for family, members in FAMILIES.items():
        n = sum(counts.get(c, 0) for c in members)
        metrics[f"count_family_{family}"] = float(n)
        metrics[f"density_family_{family}"] = _per_100(n, words)
    return metrics


def estimate_level(density: float, words: int) -> tuple[int | None, list[str]]:
    """C1 level from the error density, with the reasons in Portuguese."""
    if words == 0:
        return None, ["Texto vazio: não há como avaliar o domínio da norma padrão."]
    for bound, level in LEVEL_STEPS:
        if density <= bound:
            reason = (
                f"{density:.2f} desvios por 100 palavras (até {bound:g} corresponde ao nível "
                f"{level})."
            )
            return level, [reason]
    return 0, [
        f"{density:.2f} desvios por 100 palavras: acima de {LEVEL_STEPS[-1][0]:g}, desvios "
        "sistemáticos e diversificados (nível 0)."
    ]


def feedback_for(findings: list[Finding], text: str, density: float) -> list[str]:
    """Short Portuguese feedback: the overall picture, then the most frequent problems."""
    findings = [f for f in findings if is_norm_error(f)]
    if not findings:
        return ["Não foram encontrados desvios da norma padrão. Revise mesmo assim o texto final."]
    counts = Counter(f.category for f in findings)
    lines = [
        f"Foram encontrados {len(findings)} possíveis desvios da norma padrão "
        f"({density:.1f} a cada 100 palavras)."
    ]
    for category, n in counts.most_common(3):
        example = next(f for f in findings if f.category == category)
        evidence = text[example.start : example.end]
        hint = f" → “{example.suggestions[0]}”" if example.suggestions else ""
        label = _LABELS.get(category, category)
        lines.append(
            f"{label.capitalize()}: {n} ocorrência(s), por exemplo “{evidence}”{hint}. "
            f"{example.message}"
        )
    return lines


def assess(findings: list[Finding], text: str, words: int, sentences: int) -> Assessment:
    """Everything the dimension reports, computed from the findings."""
    metrics = metrics_for(findings, words, sentences)
    density = metrics["errors_per_100_words"]
    level, reasons = estimate_level(density, words)
    counts = dict(Counter(f.category for f in findings))
    errors = Counter(f.category for f in findings if is_norm_error(f))
    if errors:
        top = ", ".join(f"{_LABELS.get(c, c)} ({n})" for c, n in errors.most_common(3))
        reasons.append(f"Desvios mais frequentes: {top}.")
    return Assessment(metrics, level, reasons, feedback_for(findings, text, density), counts)
