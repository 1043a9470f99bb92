# greenscope: `make run`, `make test`, `make bench` work from a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# the dependency groups (pyproject.toml) a venv gets; pip >= 25.1 installs them
GROUPS ?= --group test --group lint --group bench
# the versions `make test-all` runs the suite on, each in a venv of its own (.venv/python3.X)
PYTHONS ?= 3.10 3.11 3.12 3.13

.PHONY: run test js suite test-all bench lint clean

$(STAMP): pyproject.toml setup.py runtime/_frames.c runtime/_queue.c runtime/trace/_hooks.c runtime/trace/_columns.c \
    runtime/attach/_switches.c runtime/_sockio.c runtime/_gid.h
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade 'pip>=25.1'
	$(PY) -m pip install -q -e '.[visualizer]' $(GROUPS)
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m visualizer serve --open --demo crawler continuous=true

test: lint js suite

# the page's model tests (node --test)
js: $(STAMP)
	GREENSCOPE_PYTHON=$(PY) "$$(scripts/find_node.sh)" --test tests/js/

# the whole suite (PYTEST_ARGS: more pytest arguments)
suite: $(STAMP)
	GREENSCOPE_CHROMIUM="$$(scripts/find_chromium.sh)" $(PY) -m pytest $(PYTEST_ARGS)

# the suite on every version of $(PYTHONS), each in a venv of its own (`make -j2 --output-sync=recurse test-all`:
# two at once, each one's output together)
test-all: lint $(addprefix suite-,$(PYTHONS))

# the suite on Python X.Y (suite-X.Y): pythonX.Y from the PATH, else pyenv's
suite-%:
	@py=$$(command -v python$*); \
	"$$py" -c '' 2>/dev/null || py=$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$*.*/bin/python$* 2>/dev/null | sort -V | tail -n 1); \
	[ -n "$$py" ] || { echo "no Python $*: install it (pyenv install $*)" >&2; exit 1; }; \
	echo "== Python $*: $$py"; \
	$(MAKE) --no-print-directory suite PYTHON="$$py" VENV=.venv/python$* GROUPS="--group test"

bench: $(STAMP)
	$(PY) -m benchmarks

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build
