# Two commands on a fresh machine: `make demo` and `make test`.
# Everything is installed into .venv from pinned versions in pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/meshwarn demo --out out/demo

test: $(STAMP) browser
	$(VENV)/bin/ruff check meshwarn tests benchmarks
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check meshwarn tests benchmarks
	$(VENV)/bin/ruff format --check meshwarn tests benchmarks

$(VENV)/.bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	touch $(VENV)/.bench

bench: $(VENV)/.bench
	$(PY) benchmarks/simulate.py

clean:
	rm -rf $(VENV) out .pytest_cache

# The web page is tested in a real browser: Debian's chromium (root installs it; CI runs as root).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
