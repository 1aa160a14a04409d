# Needs only Python 3.11 + pip: `install` bootstraps uv and the virtualenv from the locks.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(PYTHON) -m uv
# Re-sync only when the dependency declarations change; otherwise `install` is instant.
STAMP := $(VENV)/.wx-installed
# Apache Superset in a virtualenv of its own, from its own lock (`make bi`).
BI_VENV := .venv-bi
BI_STAMP := $(BI_VENV)/.wx-installed
COMPILE := $(UV) pip compile pyproject.toml --python-version 3.11 --no-emit-index-url --no-annotate

# apt-get needs root; as another user, through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

MANIFEST := dbt/target/manifest.json
DBT_SOURCES := dbt/dbt_project.yml $(shell find dbt/models dbt/macros dbt/seeds -type f 2>/dev/null)

.PHONY: help install bi-install run stop test test-fast lint fmt dev lock bench soak browser screenshots rehearse bi

help:
	@echo "make run    the pipeline end to end on embedded defaults (last 30 days), with a summary"
	@echo "make test   lint + the test suite"
	@echo "make test-fast  the unit and module tests only (no end-to-end, deploy, browser or reliability ones)"
	@echo "make bench  the benchmark suite, one table (about an hour on 2 cores)"
	@echo "make bi     Apache Superset with the dashboards on the marts, on http://127.0.0.1:8088"
	@echo "make soak   a year of nightly runs on one installation, one table per 30 days"
	@echo "make screenshots  refresh the README's screenshots (deploy/screenshots/) from the browser tests"
	@echo "make rehearse  build the image and run docker-compose.yml under podman, each step checked"
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

$(BI_STAMP): requirements-bi.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(BI_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(BI_VENV)
	$(UV) pip sync --quiet --compile-bytecode --python $(BI_VENV)/bin/python requirements-bi.lock
	@touch $@

bi-install: $(BI_STAMP)

# Dagster reads the dbt manifest prepared ahead rather than parsing the project at every import.
$(MANIFEST): $(STAMP) $(DBT_SOURCES)
	$(BIN)/wx-pipeline dbt parse --quiet
	@touch $@

run: install
	$(BIN)/wx-pipeline run

# From a clean clone the marts are not built yet: the pipeline runs first, as `make run` does.
bi: install bi-install
	@$(BIN)/wx-pipeline warehouse psql -tAc "select to_regclass('analytics.dim_account')" \
		| grep -q dim_account || $(BIN)/wx-pipeline run
	$(BIN)/wx-pipeline bi serve

stop: install
	$(BIN)/wx-pipeline warehouse stop

# Two workers, a test module each at a time (module fixtures stay in one worker): most tests
# wait on processes, PostgreSQL and HTTP rather than compute.
test: lint browser bi-install
	$(BIN)/pytest -n 2 --dist loadscope --durations=15

# While changing code: everything but the tests marked slow (end-to-end, deploy, browser,
# reliability, the benchmarks' smoke run); no lint.
test-fast: install
	$(BIN)/pytest -n 2 --dist loadscope -m "not slow" --durations=5

# The browser tests drive Debian's chromium through Playwright (no browser download); a CJK
# font draws the accounts' Chinese article titles (the screenshots).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium >/dev/null; }
	@test -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc || { \
		echo "installing a CJK font for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq fonts-wqy-microhei >/dev/null; }

screenshots: install browser bi-install
	WX_SCREENSHOTS_DIR=$(CURDIR)/deploy/screenshots $(BIN)/pytest -q \
		wx_pipeline_tests/deploy/test_ui.py wx_pipeline_tests/bi/test_superset_ui.py \
		"wx_pipeline_tests/report/test_report.py::test_it_renders_offline_in_a_browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy wx_pipeline wx_pipeline_tests bench deploy

# The image and docker-compose.yml for real, under podman (installed from Debian's packages when
# missing): deploy/rehearse.py prints each step with its result and seconds.
rehearse: install
	$(BIN)/python -m deploy.rehearse

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
	$(UV) pip compile deploy/superset/requirements.in --python-version 3.11 --no-emit-index-url \
		--no-annotate -o requirements-bi.lock
