# Staff commuting carbon inventory workbench. `make` (or `make help`) lists the targets.
.DEFAULT_GOAL := help

VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
YEARS ?= 2024 2025 2026

# the venv's bin first, so papermill's `python3` kernel is the venv's interpreter
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup report test lab bench clean

help: ## list the targets (default)
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  make %-7s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

setup: $(STAMP) ## create .venv and install the project with its dev extras (fast when already done)

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

report: setup ## run the notebooks for 2024 2025 2026 (or YEARS="...") and render the HTML reports into reports/
	$(PYTHON) -m helpers run --year $(YEARS)

test: setup ## run the test suite
	$(PYTHON) -m pytest

lab: setup ## open JupyterLab on notebooks/ (explore.ipynb first) with the project's venv
	cd notebooks && $(CURDIR)/$(VENV)/bin/jupyter lab explore.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

bench: setup ## scale benchmark (python -m helpers bench)
	$(PYTHON) -m helpers bench

clean: ## delete processed data and reports (keeps the .gitkeep files)
	find data/processed reports -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
