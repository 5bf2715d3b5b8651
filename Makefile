# Single entry point. Every target creates .venv and installs on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
DASHBOARD_PORT ?= 8501
# The dashboard listens on this machine only; DASHBOARD_ADDRESS=0.0.0.0 serves
# it to the network (it has no login).
DASHBOARD_ADDRESS ?= 127.0.0.1
DASHBOARD_HOST := $(if $(filter 0.0.0.0 ::,$(DASHBOARD_ADDRESS)),localhost,$(DASHBOARD_ADDRESS))
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo dashboard test lint docs soak replay-check clean lock bench bench-quick readme-images

$(STAMP): requirements.lock pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# After it, `dbt build`, `dbt docs generate` and `dbt docs serve` work in the
# venv with no flags: the profile is in the project, its warehouse folder exists.
install: $(STAMP)
	@test -f profiles.yml || cp profiles.example.yml profiles.yml
	@mkdir -p .snowcart

## Stream generated orders into the embedded DuckDB warehouse until Ctrl-C,
## with the live dashboard beside it on 127.0.0.1 (its URL is printed first;
## DASHBOARD_ADDRESS=0.0.0.0 to serve it to other machines).
## Extra simulate.py options: make demo ARGS="--backfill 2 --rate 2".
demo: install
	@mkdir -p logs
	@$(BIN)/streamlit run dashboard/app.py --server.headless true \
		--server.address $(DASHBOARD_ADDRESS) --server.port $(DASHBOARD_PORT) \
		> logs/dashboard.log 2>&1 & \
	dashboard=$$!; \
	trap 'kill $$dashboard 2>/dev/null; wait $$dashboard 2>/dev/null' EXIT; \
	echo "Dashboard: http://$(DASHBOARD_HOST):$(DASHBOARD_PORT)  (log: logs/dashboard.log)"; \
	$(BIN)/python scripts/simulate.py $(ARGS)

## The live dashboard alone, on whatever the pipeline publishes (DASHBOARD_ARGS="--home DIR"
## or "--target snowflake").
dashboard: install
	$(BIN)/streamlit run dashboard/app.py --server.headless true \
		--server.address $(DASHBOARD_ADDRESS) --server.port $(DASHBOARD_PORT) -- $(DASHBOARD_ARGS)

## The whole suite: Python unit + integration tests (DuckDB and fakesnow), dbt, lint.
test: install
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory lint

lint: install
	$(BIN)/ruff check snowcart scripts tests benchmarks dashboard dbt_score_rules
	$(BIN)/ruff format --check snowcart scripts tests benchmarks dashboard dbt_score_rules
	# A throwaway home: the dbt templater opens the DuckDB file, which a running
	# demo may hold. (Generic tests are macros; the dbt templater skips them.)
	SNOWCART_HOME=$$(mktemp -d) $(BIN)/sqlfluff lint models tests/dbt analyses
	$(BIN)/actionlint
	$(MAKE) --no-print-directory conventions

.PHONY: conventions

## The dbt conventions (dbt-score; rules in dbt_score_rules/, config in pyproject.toml):
## prefixes per folder, descriptions, key tests, contracts, what marts and exposures read.
## One line per violation, naming the file and the fix; any violation fails.
## (A throwaway home and target: nothing touches a running demo or ./target.)
conventions: install
	@tmp=$$(mktemp -d); \
	SNOWCART_HOME=$$tmp $(BIN)/dbt parse --quiet --target-path $$tmp/target && \
	$(BIN)/dbt-score lint --manifest $$tmp/target/manifest.json

## Refresh the README's dashboard screenshots (docs/images/) from a live demo: the
## simulator in a throwaway home (--backfill 2 --rate 20), the dashboard on it, and
## Chromium at 1400 px once the newest order is seconds old (a few minutes); then
## both stop, the simulator after draining. `make test` writes its screenshots to
## artifacts/screenshots/ only.
readme-images: install
	$(BIN)/python -m snowcart.devtools.readme_images

.PHONY: pr-check pr-drop-schema prod-state

## Slim CI locally: build and test only the dbt nodes this branch changed and their
## children, deferring the rest to main's state (built once per merge base), then
## the conventions check. PR_STATE=DIR, PR_TARGET=snowflake PR_SCHEMA=pr_123, PR_ARGS=...
pr-check: install
	$(BIN)/python scripts/pr_check.py $(if $(PR_STATE),--state $(PR_STATE)) $(if $(PR_TARGET),--target $(PR_TARGET)) $(if $(PR_SCHEMA),--schema $(PR_SCHEMA)) $(PR_ARGS)

## Drop every schema of one pull request (PR_SCHEMA=pr_123) on PR_TARGET (default snowflake).
pr-drop-schema: install
	$(BIN)/python scripts/pr_check.py --drop-only --target $(or $(PR_TARGET),snowflake) --schema $(PR_SCHEMA)

## Production's dbt state (what slim CI defers to): the manifest of this checkout
## in artifacts/prod-state/ (PR_TARGET=snowflake for Snowflake's).
prod-state: install
	$(BIN)/dbt parse --target $(or $(PR_TARGET),dev) --target-path artifacts/prod-state

## Longer crash test: 100 SIGKILLs at random points, then reconcile.
soak: install
	SNOWCART_CRASH_TRIALS=100 $(BIN)/python -m pytest -q tests/python/test_crash.py

## Replay the full UCI Online Retail file and check the warehouse against it.
replay-check: install
	SNOWCART_REPLAY_FILE=../shared/datasets/online_retail.parquet $(BIN)/python -m pytest -q tests/python/test_replay.py

## Lineage and column docs into target/ (then: dbt docs serve), also while a pipeline
## holds the warehouse (then from an empty build of the same models).
docs: install
	$(BIN)/python scripts/docs.py

clean:
	rm -rf target logs .snowcart .pytest_cache

lock:
	$(BIN)/pip freeze --exclude-editable | sed '1i # Exact versions for a reproducible install (make install). Regenerate with: make lock' > requirements.lock

## Benchmarks against the DESIGN.md §5 targets; writes docs/benchmarks.md (2,027 s on 2 cores, last run).
bench: install
	$(BIN)/python -m benchmarks.run

## Same with small inputs, still >= 3 runs per figure; writes artifacts/benchmarks-quick.md.
bench-quick: install
	$(BIN)/python -m benchmarks.run --quick
