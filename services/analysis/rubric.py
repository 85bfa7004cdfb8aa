"""Rubrics and the dimension plug-in registry.

A `Rubric` names its competencies, the dimensions that feed them and the scorer that turns
dimension results into levels. Dimensions are referenced by import path and loaded lazily, once
per process, so a worker that serves one queue never loads the models of the others, and adding a
dimension is one module plus one entry here. A second rubric (e.g. an English one) is a second
`Rubric` value registered beside ENEM's; nothing in the first changes.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from services.analysis.results import DimensionResult, EssayInput


@runtime_checkable
class Dimension(Protocol):
    """An analyser: built once (heavy resources loaded in `__init__`), then `analyse` many times.

    Implementations must be safe to call from several threads once constructed, or say otherwise
    in their docstring. They may also define `warm_up()`: work a long-lived worker does before
    its first job (see `warm_up` below) but a one-shot CLI run would rather skip.
    """

    name: str
    version: str

    def analyse(self, essay: EssayInput) -> DimensionResult: ...


@dataclass(frozen=True)
class Competency:
    """One graded competency of a rubric (ENEM's C1..C5), with the dimensions that inform it."""

    id: str
    title: str
    dimensions: tuple[str, ...]
    max_level: int = 200
    levels: tuple[int, ...] = (0, 40, 80, 120, 160, 200)


@dataclass(frozen=True)
class Rubric:
    """A grading scheme for one language: competencies, dimension implementations, scorer."""

    name: str
    language: str
    competencies: tuple[Competency, ...]
    dimensions: dict[str, str]  # dimension name -> "module:Class"
    scorer: str  # "module:callable" returning a Scorer
    total_max: int = 1000
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(self.dimensions)


ENEM = Rubric(
    name="enem",
    language="pt-BR",
    competencies=(
        Competency("c1", "Domínio da norma padrão da língua escrita", ("grammar", "metrics")),
        Competency("c2", "Compreensão da proposta e tipo textual", ("theme", "metrics")),
        Competency("c3", "Seleção e organização de argumentos", ("argumentation",)),
        Competency("c4", "Mecanismos linguísticos de coesão", ("cohesion",)),
        Competency("c5", "Proposta de intervenção", ("proposal",)),
    ),
    dimensions={
        "grammar": "services.analysis.dimensions.grammar:GrammarDimension",
        "theme": "services.analysis.dimensions.theme:ThemeDimension",
        "argumentation": "services.analysis.dimensions.argumentation:ArgumentationDimension",
        "cohesion": "services.analysis.dimensions.cohesion:CohesionDimension",
        "proposal": "services.analysis.dimensions.proposal:ProposalDimension",
        "metrics": "services.analysis.dimensions.metrics:MetricsDimension",
    },
    scorer="services.analysis.scoring.model:load_default_scorer",
)

RUBRICS: dict[str, Rubric] = {ENEM.name: ENEM}

_instances: dict[str, object] = {}
_lock = threading.Lock()


def get_rubric(name: str) -> Rubric:
    """The registered rubric called `name`; a clear error lists the known ones."""
    try:
        return RUBRICS[name]
    except KeyError:
        raise KeyError(f"unknown rubric {name!r}; known: {sorted(RUBRICS)}") from None


def _load(path: str) -> object:
    module_name, _, attr = path.partition(":")
    target = getattr(importlib.import_module(module_name), attr)
    return target()


def load_dimension(rubric: Rubric, name: str) -> Dimension:
    """The process-wide instance of a dimension, built on first use (models load once)."""
    if name not in rubric.dimensions:
        raise KeyError(f"rubric {rubric.name!r} has no dimension {name!r}")
    key = f"{rubric.name}:{name}"
    with _lock:
        if key not in _instances:
            _instances[key] = _load(rubric.dimensions[name])
    instance = _instances[key]
    assert isinstance(instance, Dimension)
    return instance


def warm_up(dimension: Dimension) -> None:
    """Run a dimension's optional `warm_up()` (e.g. compile every rule ahead of the first job).

    Lazy loading suits one-shot runs, which touch a fraction of the resources; a worker serves
    thousands of essays, and paying the rest on its first jobs inflates their latency and spreads
    a once-per-pod cost over per-essay CPU.
    """
    hook = getattr(dimension, "warm_up", None)
    if callable(hook):
        hook()


def load_scorer_object(rubric: Rubric) -> object:
    """The process-wide scorer of a rubric (typed by `services.analysis.scoring`)."""
    key = f"{rubric.name}:__scorer__"
    with _lock:
        if key not in _instances:
            _instances[key] = _load(rubric.scorer)
    return _instances[key]
