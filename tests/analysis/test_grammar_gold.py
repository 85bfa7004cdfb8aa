"""The C1 acceptance thresholds on the hand-annotated gold set (a regression fails CI).

The scoring code is the quality bench's (`bench/analysis_quality_c1.py`), so the test and the
printed figures can never disagree.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLD = ROOT / "tests" / "analysis" / "gold" / "c1_gold.jsonl"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "analysis_quality_c1", ROOT / "bench" / "analysis_quality_c1.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    result: dict[str, float] = _bench().evaluate_c1(measure_speed=False)
    return result


def test_gold_set_is_well_formed() -> None:
    items = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines()]
    errors = [i for i in items if i["kind"] == "error"]
    clean = [i for i in items if i["kind"] == "clean"]
    assert len(errors) >= 40 and len(clean) >= 10
    for item in errors:
        assert item["errors"]
        for err in item["errors"]:
            assert item["text"][err["start"] : err["end"]] == err["text"]
            assert err["category"] and "correction" in err


def test_recall_meets_target(figures: dict[str, float]) -> None:
    assert figures["recall"] >= 0.85, figures


def test_no_false_flags_on_clean_texts(figures: dict[str, float]) -> None:
    assert figures["clean_texts"] >= 10
    assert figures["clean_false_flags"] == 0, figures


def test_precision_on_error_passages(figures: dict[str, float]) -> None:
    assert figures["precision"] >= 0.8, figures
