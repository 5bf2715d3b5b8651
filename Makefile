# Single entry point. Every target creates .venv and installs on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint docs soak replay-check clean lock bench bench-quick

$(STAMP): requirements.lock pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	test -f profiles.yml || cp profiles.example.yml profiles.yml
	touch $(STAMP)

install: $(STAMP)

## Stream generated orders into the embedded DuckDB warehouse until Ctrl-C.
demo: install
	$(BIN)/python scripts/simulate.py

## The whole suite: Python unit + integration tests (DuckDB and fakesnow), dbt, lint.
test: install
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory lint

lint: install
	$(BIN)/ruff check snowcart scripts tests
	$(BIN)/ruff format --check snowcart scripts tests
	# A throwaway home: the dbt templater opens the DuckDB file, which a running
	# demo may hold. (Generic tests are macros; the dbt templater skips them.)
	SNOWCART_HOME=$$(mktemp -d) $(BIN)/sqlfluff lint models tests/dbt

## Longer crash test: 100 SIGKILLs at random points, then reconcile.
soak: install
	SNOWCART_CRASH_TRIALS=100 $(BIN)/python -m pytest -q tests/python/test_crash.py

## Replay the full UCI Online Retail file and check the warehouse against it.
replay-check: install
	SNOWCART_REPLAY_FILE=../shared/datasets/online_retail.parquet $(BIN)/python -m pytest -q tests/python/test_replay.py

docs: install
	$(BIN)/dbt docs generate

clean:
	rm -rf target logs .snowcart .pytest_cache

lock:
	$(BIN)/pip freeze --exclude-editable | sed '1i # Exact versions for a reproducible install (make install). Regenerate with: make lock' > requirements.lock

## Benchmarks against the DESIGN.md §5 targets; writes docs/benchmarks.md (~3 min on 2 cores).
bench: install
	$(BIN)/python benchmarks/run.py

## Same with small inputs (~1 min); writes artifacts/benchmarks-quick.md.
bench-quick: install
	$(BIN)/python benchmarks/run.py --quick
