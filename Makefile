# Elysia — the two commands of the README, and the pieces they are made of.
#   make demo   set up, then analyse the bundled sample essays in-process (no servers)
#   make test   set up, start the real servers, lint, type-check, run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# The Elasticsearch-outage fault scenario passed alone but timed out once inside the full suite
# (issue 11 is open on it): it runs with `make test-faults` until its cause is found.
KNOWN_FLAKY := --deselect tests/faults/test_faults.py::test_elasticsearch_stopped_for_10s

.PHONY: setup demo infra infra-down lint format typecheck test test-fast test-faults bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/elysia analyze samples/essays.jsonl --output out/samples.results.jsonl

infra: setup
	scripts/infra/up

infra-down:
	scripts/infra/down

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy services operators

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: setup infra lint typecheck
	$(BIN)/pytest $(KNOWN_FLAKY) $(PYTEST_ARGS)

test-faults: setup infra
	$(BIN)/pytest -m faults $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/pytest -m "not integration" $(PYTEST_ARGS)

bench: setup infra
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache out
