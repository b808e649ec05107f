# CS Ops Console: every target installs what it needs, so a fresh clone works.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8050
ACCOUNTS ?= 5000
BENCH_SIZES ?= 5000 100000
CSOPS_DB ?= data/csops.duckdb
export CSOPS_DB

.PHONY: run test lint bench demo-data install install-test browser clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

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
	$(VENV)/bin/gunicorn -w 2 -b 127.0.0.1:$(PORT) --no-control-socket --timeout 120 app:server

test: install browser
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) -m bench.run --sizes $(BENCH_SIZES)

clean:
	rm -rf $(VENV) .bench .cache data/demo data/csops.duckdb
