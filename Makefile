# The two commands a newcomer needs:
#   make quickstart   simulate -> fine-tune the shipped pretrained encoder vs scratch (2 CPU cores, < 3 min)
#   make test         lint, type-check and run the default (not slow, not gpu) test set
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
RUNS ?= runs

.PHONY: quickstart test lint typecheck pytest test-all clean

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -e '.[dev,imagenet,onnx]'
	touch $@

quickstart: $(VENV)/.installed
	$(PY) -m ssl_waveform.quickstart --runs $(RUNS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

pytest: $(VENV)/.installed
	$(PY) -m pytest -m "not slow and not gpu" -q

test: lint typecheck pytest

test-all: $(VENV)/.installed
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) $(RUNS) .pytest_cache .mypy_cache .ruff_cache
