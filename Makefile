# voxweb: two commands set everything up on a fresh machine.
#   make serve   create .venv, install voxweb, run it on 127.0.0.1:2016 with MRHead loaded
#   make test    create .venv with test extras, lint, run the whole suite
# and a few for the first hour:
#   make import DIR=~/dicom   import a folder (or zip, DICOMDIR) into the DICOM database
#   make ohif                 serve with the OHIF viewer at /browse (npm pack, fetched once)
#   make token / make url     print the API token / the running server's address
# DATA_DIR=... makes them all use another data dir; the command itself is .venv/bin/voxweb.
# Both are idempotent: the venv is only (re)installed when pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE ?= MRHead
ARGS ?=
PYTEST_SAMPLE ?= MRHead
DATA_DIR ?=
DIR ?=
OHIF_VERSION ?= 3.13.2
OHIF_DIR := .cache/ohif
OHIF_DIST := $(OHIF_DIR)/package/dist
DATA_FLAG = $(if $(DATA_DIR),--data-dir $(DATA_DIR))

.PHONY: serve import ohif token url test lint format install clean

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
	$(BIN)/voxweb serve $(DATA_FLAG) $(if $(SAMPLE),--sample $(SAMPLE)) $(ARGS)

import: $(VENV)/.installed
	@test -n "$(DIR)" || { echo 'usage: make import DIR=/path/to/dicom [DATA_DIR=...]' >&2; exit 2; }
	$(BIN)/voxweb dicom $(DATA_FLAG) import $(DIR)

# A prebuilt OHIF v3 from npm (about 50 MB), unpacked once into the git-ignored cache.
$(OHIF_DIST)/index.html:
	@command -v npm >/dev/null || { echo 'make ohif needs npm (to fetch @ohif/app)' >&2; exit 1; }
	mkdir -p $(OHIF_DIR)
	cd $(OHIF_DIR) && npm pack --silent @ohif/app@$(OHIF_VERSION) >/dev/null
	tar -xzf $(OHIF_DIR)/ohif-app-$(OHIF_VERSION).tgz -C $(OHIF_DIR)
	rm -f $(OHIF_DIR)/ohif-app-$(OHIF_VERSION).tgz

ohif: $(VENV)/.installed $(OHIF_DIST)/index.html
	$(BIN)/voxweb serve $(DATA_FLAG) --ohif $(OHIF_DIST) $(if $(SAMPLE),--sample $(SAMPLE)) $(ARGS)

token: $(VENV)/.installed
	@$(BIN)/voxweb token $(DATA_FLAG)

url: $(VENV)/.installed
	@$(BIN)/voxweb url $(DATA_FLAG)

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
