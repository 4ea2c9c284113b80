# the402: `make run` serves the marketplace locally, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test test-postgres lint format bench mutate contracts contracts-check install clean-data

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## Serve the marketplace with a demo catalog on 127.0.0.1:$(PORT) (SQLite, ORM broker).
run: install
	scripts/run.sh

## Run the whole test suite (SQLite unless DATABASE_URL is set).
test: install
	$(PY) -m pytest -q -p no:cacheprovider -n auto $(PYTEST_ARGS)

## The suite again on the local PostgreSQL.
test-postgres: install
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
		$(PY) -m pytest -q -p no:cacheprovider -n auto $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## Print the benchmark tables (SQLite, and PostgreSQL when DATABASE_URL is set).
bench: install
	$(PY) -m benchmarks

## Mutation testing of the modules that move money (slow: about an hour for all three;
## `make mutate MODULES=payments/ledger.py` for one). Prints the mutants no test noticed.
mutate: install
	scripts/mutate.sh $(MODULES)

## Rebuild the committed contract artifacts from contracts/*.sol.
contracts: node_modules/.installed
	node contracts/build.mjs

contracts-check: node_modules/.installed
	node contracts/build.mjs --check
