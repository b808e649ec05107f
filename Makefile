# CS Ops Console: every target installs what it needs, so a fresh clone works.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8050
ACCOUNTS ?= 5000
BENCH_SIZES ?= 5000 100000
CSOPS_DB ?= data/csops.duckdb
# gunicorn for `make run` (and the page-settle bench): threaded workers, so the browser's static
# file requests are answered beside running callbacks instead of queueing behind them.
WORKERS ?= 2
THREADS ?= 8
GUNICORN_FLAGS ?= --workers $(WORKERS) --worker-class gthread --threads $(THREADS) --timeout 120
export CSOPS_DB GUNICORN_FLAGS

.PHONY: run test lint bench demo-data install install-test browser clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

browser:
	@command -v chromedriver >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver)

$(CSOPS_DB): | $(VENV)/.installed
	$(MAKE) demo-data ACCOUNTS=$(ACCOUNTS)

demo-data: install
	$(PY) -m data.generate_demo --accounts $(ACCOUNTS) --out data/demo/$(ACCOUNTS)
	$(PY) -m services.build --source data/demo/$(ACCOUNTS) --target $(CSOPS_DB)

run: install $(CSOPS_DB)
	@echo "CS Ops Console: serving http://127.0.0.1:$(PORT) (database $(CSOPS_DB))"
	$(VENV)/bin/gunicorn $(GUNICORN_FLAGS) -b 127.0.0.1:$(PORT) --no-control-socket app:server

test: install-test browser
	$(PY) -m pytest

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install-test browser
	$(PY) -m bench.run --sizes $(BENCH_SIZES)

clean:
	rm -rf $(VENV) .bench .cache data/demo $(CSOPS_DB) $(CSOPS_DB).builds
