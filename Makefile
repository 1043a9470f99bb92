# greenscope: `make run`, `make test`, `make bench` work from a fresh clone.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m visualizer serve --open --demo crawler

test: $(STAMP) lint
	GREENSCOPE_PYTHON=$(PY) "$$(scripts/find_node.sh)" --test tests/js/
	GREENSCOPE_CHROMIUM="$$(scripts/find_chromium.sh)" $(PY) -m pytest

bench: $(STAMP)
	$(PY) -m benchmarks

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
