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
# Quarto renders the report when on PATH; QUARTO=/path/to/bin/quarto picks one that is not (cx reads $QUARTO)
QUARTO ?=
# JupyterLab: `make lab LAB_PORT=8890 LAB_ARGS="--no-browser"` (LAB_ARGS go to `jupyter lab` as they are)
LAB_STAMP := $(VENV)/.lab-installed
LAB_IP ?= 127.0.0.1
LAB_PORT ?= 8888
LAB_ARGS ?=
USER_ID ?= $(shell id -u)
# the address the printed URL names: an --ip=/--port= in LAB_ARGS wins over LAB_IP/LAB_PORT, as in `jupyter lab`
lab_opt = $(or $(lastword $(patsubst --$(1)=%,%,$(filter --$(1)=%,$(LAB_ARGS)))),$(2))
# Notebooks reach git without outputs, execution counts or run metadata: nbstripout as a git filter on `git add`
# (.gitattributes names it; this configures it in .git/config, offline; --keep-id keeps the committed cell ids)
NBSTRIP = $(BIN)/python -m nbstripout --keep-id --extra-keys "metadata.papermill cell.metadata.papermill \
  metadata.language_info.version metadata.language_info.codemirror_mode metadata.language_info.file_extension \
  metadata.language_info.mimetype metadata.language_info.nbconvert_exporter metadata.language_info.pygments_lexer"
GIT_FILTER = if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
  git config filter.nbstripout.clean '$(NBSTRIP)' && git config filter.nbstripout.smudge cat && \
  git config filter.nbstripout.required true && git config diff.ipynb.textconv '$(NBSTRIP) -t'; fi

.PHONY: help setup data report test test-fast lab kernel clean

help: ## Show this menu
	@echo "CX Workbook: make <target>   (first use creates .venv and installs everything)"
	@awk 'BEGIN {FS = ":[^#]*## "} /^[A-Za-z0-9_.\/-]+:[^#=]*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[report,dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (cxlib workbook)" >/dev/null
	@$(GIT_FILTER)
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv and install cxlib with its dependencies (automatic on first use)

$(DATA)/truth.json: | $(STAMP)
	$(BIN)/cx synth --out $(DATA) --customers $(CUSTOMERS) --seed $(SEED)

data: $(DATA)/truth.json ## Generate the default synthetic data into data/default (DATA=, CUSTOMERS=, SEED=)

report: $(STAMP) ## Run the report plan, render HTML+PDF into reports/ (PARAMS=, DATA=, FRESH=1 ignores the cache)
	@if [ "$(DATA)" = "data/default" ]; then $(MAKE) --no-print-directory data; fi
	$(if $(QUARTO),QUARTO=$(QUARTO) )$(BIN)/cx report --params $(PARAMS) --data $(DATA)$(if $(FRESH), --no-cache)

test: $(STAMP) ## Run the whole test suite (set-up included)
	$(BIN)/python -m pytest tests cxlib $(PYTEST_ARGS)

test-fast: $(STAMP) ## Run the tests without the slow statistical validations
	$(BIN)/python -m pytest tests cxlib -m "not slow" $(PYTEST_ARGS)

# once: the lab extra (JupyterLab, nbstripout); skipped, so offline, when `make setup` installed them already
$(LAB_STAMP): pyproject.toml | $(STAMP)
	$(BIN)/python -c "import jupyterlab, nbstripout" 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[lab]'
	@$(GIT_FILTER)
	@touch $(LAB_STAMP)

lab: $(LAB_STAMP) ## Open JupyterLab on notebooks/ with the kernel "Python (cxlib workbook)" (LAB_PORT=, LAB_ARGS=)
	@if [ "$(DATA)" = "data/default" ]; then $(MAKE) --no-print-directory data; fi
	@token=$${JUPYTER_TOKEN:-$$($(BIN)/python -c "import secrets; print(secrets.token_hex(24))")}; \
	echo "JupyterLab on notebooks/ (kernel \"Python (cxlib workbook)\"; Ctrl-C stops it). Open:"; \
	echo "    http://$(call lab_opt,ip,$(LAB_IP)):$(call lab_opt,port,$(LAB_PORT))/lab?token=$$token"; \
	JUPYTER_TOKEN=$$token exec $(BIN)/jupyter lab --notebook-dir=notebooks --ip=$(LAB_IP) --port=$(LAB_PORT) \
	  --ServerApp.port_retries=0$(if $(filter 0,$(USER_ID)), --allow-root) $(LAB_ARGS)

clean: ## Remove build outputs and generated data (keeps .venv; `make distclean` removes it too)
	rm -rf reports/_build reports/_output reports/_failed reports/_cache reports/html reports/*.html reports/*.pdf
	rm -rf reports/.quarto reports/_quarto_render reports/index.ipynb
	rm -rf $(DATA) .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +

distclean: clean ## Remove everything generated, the virtualenv included
	rm -rf $(VENV) *.egg-info
