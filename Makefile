# hyperoru: `make run` brings the stack up, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help run test lint bench clean vendor

help: ## list targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP) ## Temporal dev server + migrations + worker + API, until Ctrl-C
	$(VENV)/bin/hyperoru run

# Why two phases: most tests wait on servers, emulators and timeouts, so two at a time (pytest-xdist)
# nearly halves the wall time on 2 cores; the few that measure latency run alone after them.
TEST_WORKERS ?= 2
test: $(STAMP) ## install what tests need and run them all
	$(PY) -m pytest -q -n $(TEST_WORKERS) -m "not serial"
	$(PY) -m pytest -q -m serial

bench: $(STAMP) ## benchmark the real stack (writes bench/results/latest.json)
	$(PY) -m bench

lint: $(STAMP) ## ruff and mypy
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports

vendor: $(STAMP) ## developers: re-fetch the web app's vendored JS from npm, hashes checked
	$(PY) -m web.vendor_js

clean: ## remove the virtualenv and local data
	rm -rf $(VENV) .data
