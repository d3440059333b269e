# g2p: two commands do everything on a fresh clone (with ../shared beside it):
#   make book    run the notebooks with $(PRESET) and build the Jupyter Book -> _build/html/index.html
#   make test    run the test suite (smoke preset)
# Both create .venv and install the package, its pinned dependencies and the Debian packages of
# apt.txt first. PRESET=smoke|quick|paper make book picks the parameters (default: quick).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PRESET ?= quick
PYTHON ?= python3
# e.g. https://download.pytorch.org/whl/cpu (CPU-only wheels) or .../whl/cu128 (GPU) for torch 2.13.0 and
# its torchvision (bioscan-dataset needs it; PyPI's Linux torchvision is built for the CUDA torch)
TORCH_INDEX_URL ?=
PYTEST_ARGS ?=
APT_FILE ?= apt.txt

VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.g2p-installed

.PHONY: help install apt run book test clean

help:
	@echo "make book    run the notebooks (PRESET=$(PRESET)) and build the book into _build/html/"
	@echo "make test    run the test suite"
	@echo "make install create .venv and install everything (done by book and test)"
	@echo "make clean   remove build/ and _build/ (keeps data/, runs/, figures/)"
	@echo "(make test writes into a temporary folder, never into build/, figures/ or _build/)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever the pins change.
$(INSTALLED): pyproject.toml | $(PY)
ifneq ($(strip $(TORCH_INDEX_URL)),)
	$(PY) -m pip install "torch==2.13.0" "torchvision==0.28.0" --index-url "$(TORCH_INDEX_URL)"
endif
	$(PY) -m pip install -e ".[dev]"
	touch $@

# Debian packages from apt.txt, when apt-get is usable and they are missing; otherwise warn and
# continue (the code falls back, e.g. to a k-mer neighbour search when DIAMOND/BLAST is absent).
apt:
	@wanted=$$(grep -vE '^[[:space:]]*(#|$$)' $(APT_FILE) || true); \
	[ -n "$$wanted" ] || exit 0; \
	if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "warning: not a Debian system; install these yourself if you want them: $$wanted"; exit 0; fi; \
	missing=""; for pkg in $$wanted; do dpkg -s "$$pkg" >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	[ -n "$$missing" ] || exit 0; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi; \
	if [ "$$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "warning: apt-get is not usable here; missing Debian packages:$$missing (continuing with fallbacks)"; exit 0; fi; \
	echo "installing Debian packages:$$missing"; \
	{ $$sudo apt-get update -qq && $$sudo apt-get install -y -qq --no-install-recommends $$missing; } \
	  || echo "warning: could not install$$missing (continuing with fallbacks)"

install: apt $(INSTALLED)

run: install
	$(PY) -m g2p run --preset $(PRESET)

book: run
	$(PY) -m g2p book --preset $(PRESET)
	@echo "open _build/html/index.html"

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf build _build
