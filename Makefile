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

.PHONY: help install run stop test lint fmt dev lock

help:
	@echo "make run    start the pipeline (for now: the embedded warehouse) and report it ready"
	@echo "make test   lint + the test suite"
	@echo "make lint | fmt | dev | stop | lock | install"

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock requirements-dev.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	@test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(BIN)/python requirements-dev.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

run: install
	$(BIN)/wx-pipeline warehouse start

stop: install
	$(BIN)/wx-pipeline warehouse stop

test: lint
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy wx_pipeline wx_pipeline_tests

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

dev: install
	@echo "The Dagster UI arrives with the Dagster assets; for now try: make run"

lock:
	$(COMPILE) -o requirements.lock
	$(COMPILE) --extra dev -o requirements-dev.lock
