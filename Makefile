# CX Workbook. `make` alone prints this menu (from the `## ` comments).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KERNEL := cxlib
DATA ?= data/default
PARAMS ?= reports/plan.yml
SEED ?= 20261123
CUSTOMERS ?= 10000
PYTEST_ARGS ?=
FRESH ?=

.PHONY: help setup data report test test-fast lab kernel clean

help: ## Show this menu
	@echo "CX Workbook: make <target>   (first use creates .venv and installs everything)"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[A-Za-z0-9_.\/-]+:[^#=]*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[report,dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (cxlib workbook)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install cxlib with its dependencies (automatic on first use)

$(DATA)/truth.json: | $(STAMP)
	$(BIN)/cx synth --out $(DATA) --customers $(CUSTOMERS) --seed $(SEED)

data: $(DATA)/truth.json ## Generate the default synthetic data into data/default (DATA=, CUSTOMERS=, SEED=)

report: $(STAMP) ## Run the report plan, render HTML+PDF into reports/ (PARAMS=, DATA=, FRESH=1 ignores the cache)
	@if [ "$(DATA)" = "data/default" ]; then $(MAKE) --no-print-directory data; fi
	$(BIN)/cx report --params $(PARAMS) --data $(DATA)$(if $(FRESH), --no-cache)

test: $(STAMP) ## Run the whole test suite (set-up included)
	$(BIN)/python -m pytest tests cxlib $(PYTEST_ARGS)

test-fast: $(STAMP) ## Run the tests without the slow statistical validations
	$(BIN)/python -m pytest tests cxlib -m "not slow" $(PYTEST_ARGS)

lab: $(STAMP) ## Open JupyterLab with the project's kernel "Python (cxlib workbook)"
	$(BIN)/python -m pip install --quiet -e '.[lab]'
	$(BIN)/jupyter lab --notebook-dir=notebooks

clean: ## Remove build outputs and generated data (keeps .venv; `make distclean` removes it too)
	rm -rf reports/_build reports/_output reports/_failed reports/_cache reports/html reports/*.html reports/*.pdf
	rm -rf $(DATA) .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

distclean: clean ## Remove everything generated, the virtualenv included
	rm -rf $(VENV) *.egg-info
