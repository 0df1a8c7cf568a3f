# mitra: `make setup` once (the other targets run it when needed), then `make test-fast` while working.
# PYTHON=python3.12 make setup picks the interpreter for .venv; PYTEST_ARGS='-k sitl' narrows a run.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast bench clean

setup: $(VENV)/.installed

# Re-run the bootstrap only when the stamp is missing or older than pyproject.toml.
$(VENV)/.installed: pyproject.toml
	PYTHON="$(PYTHON)" VENV="$(VENV)" bash scripts/bootstrap.sh

demo: setup
	$(BIN)/ground demo

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

bench: setup
	mkdir -p out
	$(BIN)/python -m pytest tests/bench --benchmark-enable --benchmark-only --benchmark-json=out/bench.json $(PYTEST_ARGS)
	$(BIN)/python scripts/bench_report.py out/bench.json

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .benchmarks build dist *.egg-info
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
