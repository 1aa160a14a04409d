# Needs only Python 3.11 + pip: `install` bootstraps uv and the virtualenv from the locks.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv
# Re-sync only when the dependency declarations change; otherwise `install` is instant.
STAMP := $(VENV)/.wx-installed
COMPILE := $(UV) pip compile pyproject.toml --python-version 3.11 --no-emit-index-url --no-annotate

# apt-get needs root; as another user, through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

MANIFEST := dbt/target/manifest.json
DBT_SOURCES := dbt/dbt_project.yml $(shell find dbt/models dbt/macros dbt/seeds dbt/tests -type f 2>/dev/null)

.PHONY: help install run stop test lint fmt dev lock bench soak browser screenshots

help:
	@echo "make run    the pipeline end to end on embedded defaults (last 30 days), with a summary"
	@echo "make test   lint + the test suite"
	@echo "make bench  the benchmark suite, one table (about an hour on 2 cores)"
	@echo "make soak   a year of nightly runs on one installation, one table per 30 days"
	@echo "make screenshots  refresh the README's screenshots (deploy/screenshots/) from the browser tests"
	@echo "make lint | fmt | dev | stop | lock | install"

install: $(STAMP) $(MANIFEST)

# Bytecode is compiled here, as in the image: where PYTHONDONTWRITEBYTECODE is set, Python
# never caches it, and every process (a run, each dbt call, each loader) would compile dagster,
# dbt and pandas from source again (~2.5 s each).
$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python requirements-dev.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

# Dagster reads the dbt manifest prepared ahead rather than parsing the project at every import.
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	$(BIN)/wx-pipeline dbt parse --quiet
	@touch $@

run: install
	$(BIN)/wx-pipeline run

stop: install
	$(BIN)/wx-pipeline warehouse stop

# Two workers, a test module each at a time (module fixtures stay in one worker): most tests
# wait on processes, PostgreSQL and HTTP rather than compute.
test: lint browser
	$(BIN)/pytest -n 2 --dist loadscope --durations=15

# The browser tests drive Debian's chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }

screenshots: install browser
	WX_SCREENSHOTS_DIR=$(CURDIR)/deploy/screenshots $(BIN)/pytest -q \
		wx_pipeline_tests/deploy/test_ui.py "wx_pipeline_tests/report/test_report.py::test_it_renders_offline_in_a_browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy wx_pipeline wx_pipeline_tests bench

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

dev: install
	$(BIN)/wx-pipeline dev

bench: install
	$(BIN)/python bench/suite.py

# Options in SOAK_ARGS, e.g. `make soak SOAK_ARGS="--days 40 --block 10"`.
soak: install
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# The k8s lock is the image's plus dagster-k8s, every shared pin held to requirements.lock.
lock:
	$(COMPILE) -o requirements.lock
	$(COMPILE) --extra dev -o requirements-dev.lock
	$(COMPILE) --extra k8s -c requirements.lock -o requirements-k8s.lock
