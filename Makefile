# Kongtun: one development environment, the whole system natively, the tests.
# `make run` and `make test` install what is missing first.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PACKAGES := libs/common/pyproject.toml $(wildcard services/*/pyproject.toml) gateway/pyproject.toml

.PHONY: install run test test-faults test-fast lint format bench bench-all asyncapi clean

install: $(STAMP)

$(STAMP): requirements-dev.txt constraints.txt $(PACKAGES)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

## run: migrate and start the four services and the gateway against the local RabbitMQ (Ctrl-C stops them)
run: install
	@$(PY) -m kongtun_common.stack

## test: every test: unit, service (SQLite and PostgreSQL), end-to-end, backbone, static deploy checks
test: install
	$(PY) -m pytest

## test-faults: faults under load (broker restart, kill -9 of each process, PostgreSQL stopped 10 s) and
## scale-out, on a private RabbitMQ node and PostgreSQL cluster the tests start themselves (~5 min)
test-faults: install
	$(PY) -m pytest tests/faults

## test-fast: everything but the end-to-end processes
test-fast: install
	$(PY) -m pytest --ignore=tests/e2e

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: the slice's submit throughput at the gateway vs a bare nameko HTTP->RPC->event chain
bench: install
	$(PY) bench/slice_submit.py

## bench-all: make bench, then issue 9's cold start, event propagation latency and memory per process
bench-all: bench
	$(PY) bench/issue9.py

## asyncapi: regenerate docs/asyncapi.yaml from contracts/
asyncapi: install
	$(PY) tools/asyncapi.py

clean:
	rm -rf var .pytest_cache .ruff_cache
