# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first.
# `make demo` installs logmagic and what the demo runs (the `demo` extra: httpx, Starlette,
# uvicorn, gunicorn, Flask); `make test`, `make lint` and `make bench` install the `dev` extra
# (test tools, linters, the frameworks and peers the tests and benchmarks use; it includes `demo`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SOURCES := pyproject.toml hatch_build.py logmagic/encode/_speedups.c
DEMO_STAMP := $(VENV)/.installed-demo
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): $(SOURCES) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $@

# The dev extra holds the demo's packages too: the demo needs nothing more once it is in.
$(DEV_STAMP): $(SOURCES) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python examples/demo.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check logmagic tests benchmarks examples hatch_build.py
	$(BIN)/ruff format --check logmagic tests benchmarks examples hatch_build.py
	$(BIN)/mypy logmagic

test: lint
	$(BIN)/python -m pytest -q

bench: $(DEV_STAMP)
	$(BIN)/python benchmarks/bench_logging.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis logmagic/encode/_speedups*.so
