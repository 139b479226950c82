# voxweb: two commands set everything up on a fresh machine.
#   make serve   create .venv, install voxweb, run it on 127.0.0.1:2016 with MRHead loaded
#   make test    create .venv with test extras, lint, run the whole suite
# Both are idempotent: the venv is only (re)installed when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE ?= MRHead
ARGS ?=
PYTEST_SAMPLE ?= MRHead
ARGS ?=

.PHONY: serve test lint format install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# pydeface ships a real head MRI (MIT) that stands in for the MRHead sample offline; its
# own dependencies (nipype...) are not needed for that, hence --no-deps.
OFFLINE_DATA := pydeface==2.1.0

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	$(BIN)/python -m pip install -q --no-deps $(OFFLINE_DATA)
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps $(OFFLINE_DATA)
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed

serve: $(VENV)/.installed
	$(BIN)/voxweb serve $(if $(SAMPLE),--sample $(SAMPLE)) $(ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check voxweb tests bench
	$(BIN)/ruff format --check voxweb tests bench

format: $(VENV)/.installed-test
	$(BIN)/ruff format voxweb tests bench
	$(BIN)/ruff check --fix voxweb tests bench

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info test-output .pytest_cache .ruff_cache
