"""ENEM rules applied after the model: annulment, tangential caps, human-rights violation.

The model predicts what a rater would give an ordinary essay; the official rules override it in
well-defined cases, and every override is recorded as a `RuleFiring` with its evidence so a
teacher can see WHY a grade is zero. Rules read the dimension results the platform already has;
when the dimension a rule needs is missing (it failed or timed out) the rule is skipped and the
essay is sent to human review instead of guessing.

Thresholds live in `RuleConfig`, are stored in the model file, and were checked on the training
data (false-annulment rate on well-scored essays; see docs/scorer.md and the model card).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from services.analysis.results import DimensionResult
from services.analysis.scoring.types import RuleFiring

_WORD_RE = re.compile(r"[^\W\d_]+")


class RuleConfig(BaseModel):
    """The knobs of the ENEM rules (official values where the Cartilha gives one)."""

    # "Texto com até 7 (sete) linhas" is annulled ("texto insuficiente").
    min_lines: int = Field(default=7, ge=0)
    # Copied lines of the motivating texts are discounted; when what remains is insufficient
    # the essay is annulled. Only applied when the copied share is substantial.
    copied_min_ratio: float = Field(default=0.5, ge=0.0, le=1.0)
    # Share above which copied passages are flagged for review (no score change by itself).
    copied_flag_ratio: float = Field(default=0.2, ge=0.0, le=1.0)
    # "Tangenciamento ao tema": C2 at most 40 and C3, C5 at most 40.
    tangential_cap: int = 40
    tangential_capped: tuple[str, ...] = ("c2", "c3", "c5")
    # What to do with the theme dimension's verdicts ("annul" or "flag"): chosen on the training
    # data by the false-annulment rate (see the model card).
    off_topic_action: str = "annul"
    not_dissertative_action: str = "annul"
    # "zero" (ENEM since 2017: C5 = 0) or "flag" when the detector proved too noisy on the
    # training data (it zeroed essays raters gave a good C5).
    human_rights_action: str = "zero"
    # "cap" (official) or "flag" when capping lowered QWK on the training data.
    tangential_action: str = "cap"


@dataclass
class RuleOutcome:
    """Levels after the rules, and the trace of what fired."""

    levels: dict[str, int]
    annulled: bool = False
    flags: list[str] = field(default_factory=list)
    firings: list[RuleFiring] = field(default_factory=list)
    needs_review: bool = False


def _metric(result: DimensionResult | None, key: str) -> float | None:
    if result is None:
        return None
    value = result.metrics.get(key)
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def _annul(outcome: RuleOutcome, rule: str, reason: str) -> None:
    outcome.annulled = True
    outcome.flags.append(rule)
    outcome.firings.append(
        RuleFiring(rule=rule, effect="annulled: every competency 0", reason=reason)
    )
    outcome.needs_review = True


def _flag(outcome: RuleOutcome, rule: str, reason: str) -> None:
    outcome.flags.append(rule)
    outcome.firings.append(RuleFiring(rule=rule, effect="flagged for human review", reason=reason))
    outcome.needs_review = True


def _theme_rules(
    outcome: RuleOutcome, theme: DimensionResult, lines: float | None, cfg: RuleConfig
) -> None:
    details = theme.details
    if details.get("off_topic") is True:
        reason = "theme dimension: the essay does not address the prompt (fuga ao tema)"
        sim = _metric(theme, "prompt_similarity")
        if sim is not None:
            reason += f"; prompt similarity {sim:.2f}"
        if cfg.off_topic_action == "annul":
            _annul(outcome, "off_topic", reason)
        else:
            _flag(outcome, "off_topic_suspected", reason)
    if details.get("dissertative") is False:
        reason = "theme dimension: the text is not dissertative-argumentative"
        if cfg.not_dissertative_action == "annul":
            _annul(outcome, "not_dissertative", reason)
        else:
            _flag(outcome, "not_dissertative_suspected", reason)
    ratio = _metric(theme, "copied_ratio")
    if ratio is not None and lines is not None and ratio >= cfg.copied_min_ratio:
        own = lines * (1.0 - ratio)
        if own <= cfg.min_lines:
            _annul(
                outcome,
                "copied_text",
                f"{ratio:.0%} of the text copies the motivating texts; about {own:.0f} own lines "
                f"remain (≤ {cfg.min_lines})",
            )
    if not outcome.annulled and (
        details.get("copied") is True or (ratio is not None and ratio >= cfg.copied_flag_ratio)
    ):
        shown = f"{ratio:.0%}" if ratio is not None else "some"
        _flag(outcome, "copied_passages", f"{shown} of the text copies the motivating texts")
    if not outcome.annulled and details.get("tangential") is True:
        if cfg.tangential_action != "cap":
            _flag(
                outcome,
                "tangential_suspected",
                "theme dimension: the essay may only touch the theme",
            )
            return
        outcome.flags.append("tangential")
        for comp in cfg.tangential_capped:
            if outcome.levels.get(comp, 0) > cfg.tangential_cap:
                outcome.firings.append(
                    RuleFiring(
                        rule="tangential",
                        effect=f"{comp} capped at {cfg.tangential_cap} "
                        f"(was {outcome.levels[comp]})",
                        reason="theme dimension: the essay only touches the theme (tangenciamento)",
                    )
                )
                outcome.levels[comp] = cfg.tangential_cap


def apply_rules(
    levels: Mapping[str, int],
    results: Mapping[str, DimensionResult],
    text: str,
    cfg: RuleConfig,
) -> RuleOutcome:
    """Apply the ENEM rules to model levels, in the order the official correction does."""
    outcome = RuleOutcome(levels=dict(levels))
    if not _WORD_RE.search(text or ""):
        _annul(outcome, "empty_text", "the essay has no words (redação em branco)")
    metrics = results.get("metrics")
    lines = _metric(metrics, "lines_estimate")
    if metrics is None:
        _flag(
            outcome,
            "missing_dimension:metrics",
            "no metrics result: the line count was not checked",
        )
    elif lines is not None and lines <= cfg.min_lines and not outcome.annulled:
        _annul(
            outcome, "too_short", f"about {lines:.0f} lines (≤ {cfg.min_lines}): texto insuficiente"
        )
    theme = results.get("theme")
    if theme is None:
        _flag(
            outcome, "missing_dimension:theme", "no theme result: theme and copy rules not checked"
        )
    elif not outcome.annulled:
        _theme_rules(outcome, theme, lines, cfg)
    proposal = results.get("proposal")
    if proposal is None:
        _flag(outcome, "missing_dimension:proposal", "no proposal result: human rights not checked")
    elif not outcome.annulled and (
        proposal.details.get("human_rights_violation") is True
        or (_metric(proposal, "human_rights_violation") or 0.0) >= 1.0
    ):
        if cfg.human_rights_action != "zero":
            _flag(
                outcome,
                "human_rights_suspected",
                "proposal dimension: the proposal may disrespect human rights",
            )
            return _finish(outcome)
        outcome.flags.append("human_rights_violation")
        outcome.firings.append(
            RuleFiring(
                rule="human_rights_violation",
                effect=f"c5 set to 0 (was {outcome.levels.get('c5', 0)})",
                reason="proposal dimension: the intervention proposal disrespects human rights",
            )
        )
        outcome.levels["c5"] = 0
        outcome.needs_review = True
    return _finish(outcome)


def _finish(outcome: RuleOutcome) -> RuleOutcome:
    if outcome.annulled:
        outcome.levels = {c: 0 for c in outcome.levels}
    return outcome
