# the402: `make run` serves the marketplace locally, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: run test test-postgres lint format bench mutate contracts contracts-check install install-serve browser clean-data \
	cluster cluster-stop loadtest loadtest-ci

INTEROP := tests/payments/interop
# The browser tests: axe-core from tests/web/package.json, and Debian's Chromium.
WEB_TESTS := tests/web
CHROMIUM ?= /usr/bin/chromium

## Everything: what serving needs, plus the test and lint tools and the official x402 clients
## the interoperability tests run (tests/payments/interop/package.json).
install: install-serve $(VENV)/.installed-dev $(INTEROP)/node_modules/.installed \
	$(WEB_TESTS)/node_modules/.installed

## What `make run` needs and nothing more: the app's Python packages, solc and anvil.
install-serve: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(INTEROP)/node_modules/.installed: $(INTEROP)/package.json $(INTEROP)/package-lock.json
	npm ci --prefix $(INTEROP) --no-audit --no-fund --loglevel=error
	touch $@

$(WEB_TESTS)/node_modules/.installed: $(WEB_TESTS)/package.json $(WEB_TESTS)/package-lock.json
	npm ci --prefix $(WEB_TESTS) --no-audit --no-fund --loglevel=error
	touch $@

## The browser tests drive Debian's Chromium (Playwright's own browser download is not
## used): installed with apt-get when missing and possible; otherwise say how (the browser
## tests are then skipped, naming the reason).
browser:
	@test -x "$(CHROMIUM)" || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "The browser tests need Chromium at $(CHROMIUM): on Debian or Ubuntu run" \
				"'sudo apt-get install chromium'; elsewhere install Chromium and run" \
				"'make test CHROMIUM=/path/to/chromium'. Until then they are skipped."; \
		fi; }

## Serve the marketplace with a demo catalog on 127.0.0.1:$(PORT) (SQLite, ORM broker).
run: install-serve
	scripts/run.sh

## Run the whole test suite (SQLite unless DATABASE_URL is set).
test: install browser
	THE402_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -q -p no:cacheprovider -n auto $(PYTEST_ARGS)

## The suite again on the local PostgreSQL.
test-postgres: install browser
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
		THE402_CHROMIUM=$(CHROMIUM) $(PY) -m pytest -q -p no:cacheprovider -n auto $(PYTEST_ARGS)

## Style (ruff), the apps' import layers (import-linter) and the types (mypy, settings in
## pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

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

## The production shape on this machine (see README "Production"): HAProxy on 127.0.0.1:8400
## in front of three gunicorn instances, two qclusters on Redis, PostgreSQL (database
## the402_cluster), the devnet chain. `make cluster-stop` stops what it started.
cluster: install-serve
	scripts/cluster/start.sh

cluster-stop:
	scripts/cluster/stop.sh

$(VENV)/.installed-load: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[load]"
	touch $@

## Locust against the cluster: mixed traffic on 3 web processes, then on 1 (the scaling
## ratio), then with faults (a web process and a qcluster SIGKILLed, PostgreSQL's
## connections cut), asserting no paid request was lost or charged twice. Bounded: 20 users.
loadtest: install-serve $(VENV)/.installed-load
	$(PY) -m loadtest $(LOADTEST_ARGS)

## The fault run alone, short (about 90 s of load): what .ci/run runs.
loadtest-ci: install-serve $(VENV)/.installed-load
	$(PY) -m loadtest --ci $(LOADTEST_ARGS)

## Rebuild the committed contract artifacts from contracts/*.sol.
contracts: node_modules/.installed
	node contracts/build.mjs

contracts-check: node_modules/.installed
	node contracts/build.mjs --check
