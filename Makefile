# caplab: every entry point. `make test` and `make demo` install what they need first.
PY      := .venv/bin/python
RUN_DIR ?= run
NODES   ?= 2
PYTEST_ARGS ?=

.PHONY: help setup test test-unit test-integration demo up down status repair bench clean

help:
	@echo "make demo   - set up, start the local stack, and show CP and AP under a partition"
	@echo "make test   - set up everything and run the whole suite"
	@echo "make up | down | status   - the local stack (NODES=$(NODES), RUN_DIR=$(RUN_DIR))"
	@echo "make repair - AP anti-entropy repair over the local stack's nodes"
	@echo "make bench  - the performance benchmark; writes docs/benchmarks.md"

setup:
	@scripts/setup.sh python redis toxiproxy

test: setup
	@$(PY) -m pytest -q $(PYTEST_ARGS)

test-unit: setup
	@$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

test-integration: setup
	@$(PY) -m pytest -q tests/integration $(PYTEST_ARGS)

demo: setup
	@$(PY) -m stack.demo --run-dir $(RUN_DIR)

up: setup
	@$(PY) -m stack up --run-dir $(RUN_DIR) --nodes $(NODES)

down:
	@if [ -x $(PY) ]; then $(PY) -m stack down --run-dir $(RUN_DIR); fi

status:
	@$(PY) -m stack status --run-dir $(RUN_DIR) --nodes $(NODES)

repair:
	@$(PY) -m stack repair --run-dir $(RUN_DIR) --nodes $(NODES)

bench: setup
	@scripts/setup.sh wrk
	@$(PY) -m bench

clean: down
	rm -rf $(RUN_DIR) .pytest_cache
