# lpot_ux: the two commands of the README, and their parts.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
WORKSPACE ?= $(HOME)/.lpot_ux/workspace
PORT ?=
DEMO ?= mobilenet_v2

.PHONY: run test install install-dev demo-models browser benchmarks clean

run: install demo-models  ## Install, make the demo models, start the server.
	$(BIN)/lpot_ux --workspace "$(WORKSPACE)" $(if $(PORT),--port $(PORT)) -v

test: install-dev browser  ## Install everything and run the whole test suite.
	$(BIN)/python -m pytest

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: requirements.txt setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

demo-models: install
	$(BIN)/lpot_ux --workspace "$(WORKSPACE)" demo-models --kind $(DEMO)

# The browser tests drive Debian's Chromium; nothing is downloaded by Playwright.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

benchmarks: install demo-models
	$(BIN)/python benchmarks/measure_overhead.py --workspace "$(WORKSPACE)"
	$(BIN)/python benchmarks/measure_trust.py --workspace "$(WORKSPACE)"

clean:
	rm -rf $(VENV) build dist *.egg-info
