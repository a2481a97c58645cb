# caplab: every entry point. `make test` and `make demo` install what they need first.
PY      := .venv/bin/python
RUN_DIR ?= run
NODES   ?= 2
PYTEST_ARGS ?=
ALERTS  ?=
NATIVE  ?=
# make up INSTANCES=3 [BALANCE=roundrobin|cookie|header] [HAPROXY=1]: CP/AP instances behind HAProxy (docs/scaling.md)
INSTANCES ?= 1
BALANCE ?= roundrobin
HAPROXY ?=
# make chaos
EXP ?= partition-g2-cp-vs-ap
# make load
SERVICE ?= both
USERS   ?= 10
SPAWN_RATE ?=
DURATION ?= 30s
SHAPE   ?= steady
P95_MS  ?= 500
MAX_ERROR_RATE ?= 0.001
WORKERS ?= 0
HISTORY ?=
LOAD_ARGS ?=
# make backup / verify / restore / backup-schedule
BACKUP ?= latest
EVERY  ?= 1h
NODE   ?=
FORCE  ?=
BACKUP_ARGS ?=

.PHONY: help setup setup-all test test-busy test-unit test-integration demo up down status repair dashboard bench load chaos chaos-all heal alerts-render alerts-test alerts-drill backup verify restore backup-schedule drill soak clean compose-images compose-test

help:
	@echo "make demo   - set up, start the local stack, show CP and AP under a partition, then run it as a checked experiment"
	@echo "make test   - set up everything and run the whole suite"
	@echo "make up | down | status   - the local stack (NODES=$(NODES), RUN_DIR=$(RUN_DIR)); NATIVE=1 adds Redis replication + Sentinel; INSTANCES=3 [BALANCE=cookie|header] puts HAProxy in front"
	@echo "make repair - AP anti-entropy repair over the local stack's nodes"
	@echo "make dashboard - the live page on http://127.0.0.1:8080/: CP and AP during a run, fault bands, halt"
	@echo "make chaos EXP=<name> | chaos-all | heal  - experiments (python -m chaos list shows them)"
	@echo "make bench  - the performance benchmark; writes docs/benchmarks.md"
	@echo "make load [SERVICE=cp|ap|both USERS= DURATION= SHAPE=steady|step|spike|soak P95_MS= MAX_ERROR_RATE= WORKERS= HISTORY=1]"
	@echo "make backup | verify [BACKUP=name|latest|all] | restore NODE=g1 [BACKUP=latest] [FORCE=1] | backup-schedule [EVERY=1h]"
	@echo "make drill [ONLY=node-wiped,...]  - DR drills: a disaster under load, runbook automated, RPO/RTO measured"
	@echo "make alerts-test - promtool unit tests of the alert rules; make up ALERTS=1 adds Prometheus, Alertmanager, a webhook"
	@echo "make alerts-drill - one experiment per alert: fired?, time to detect, time to resolve"
	@echo "make compose-test - docker-compose.yml for real under podman: local images, the stack, a partition experiment"

setup:
	@scripts/setup.sh python redis toxiproxy crosscheck haproxy

# Everything the whole suite needs: promtool and Prometheus for the alert tests, Alertmanager,
# and Chromium to check that HTML reports render their plots.
setup-all:
	@scripts/setup.sh python redis toxiproxy crosscheck haproxy prometheus alertmanager chromium

test: setup-all
	@$(PY) -m pytest -q $(PYTEST_ARGS)

test-unit: setup
	@scripts/setup.sh prometheus alertmanager   # promtool and amtool check the alert rules and configs
	@$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

# The whole suite with both cores kept busy by bounded busy loops: it must pass on a loaded laptop too.
test-busy: setup-all
	@scripts/busy.sh -- $(PY) -m pytest -q $(PYTEST_ARGS)

test-integration: setup-all
	@$(PY) -m pytest -q tests/integration $(PYTEST_ARGS)

# The walkthrough, then the same cut as a checked experiment with verdicts and an HTML report.
demo: setup
	@$(PY) -m chaos.demo --run-dir $(RUN_DIR)
	@$(PY) -m chaos run partition-g2-cp-vs-ap --stack-run-dir $(RUN_DIR)

up: setup
	@$(if $(ALERTS),scripts/setup.sh prometheus alertmanager,true)
	@$(if $(and $(ALERTS),$(NATIVE)),echo "make up: NATIVE=1 and ALERTS=1 do not combine yet; run one" >&2 && exit 2,true)
	@$(PY) -m $(if $(ALERTS),alerts.monitoring,stack) up --run-dir $(RUN_DIR) --nodes $(NODES) $(if $(NATIVE),--native) \
		$(if $(filter-out 1,$(INSTANCES)),--instances $(INSTANCES) --balance $(BALANCE)) $(if $(HAPROXY),--haproxy)

# The live dashboard of the stack in RUN_DIR (docs/dashboard.md); it follows every run made on it.
dashboard: setup
	@$(PY) -m dashboard --stack-run-dir $(RUN_DIR) --nodes $(NODES)

down:
	@if [ -x $(PY) ]; then $(PY) -m stack down --run-dir $(RUN_DIR); fi

status:
	@$(PY) -m stack status --run-dir $(RUN_DIR) --nodes $(NODES) $(if $(NATIVE),--native) \
		$(if $(filter-out 1,$(INSTANCES)),--instances $(INSTANCES) --balance $(BALANCE)) $(if $(HAPROXY),--haproxy)

repair:
	@$(PY) -m stack repair --run-dir $(RUN_DIR) --nodes $(NODES)

bench: setup
	@scripts/setup.sh wrk
	@$(PY) -m bench

# A soak on its own stack (ports shifted by 8000): DURATION=30m by default here, not make load's 30s.
soak: setup
	@$(PY) -m chaos.soak --duration $(if $(filter command line,$(origin DURATION)),$(DURATION),30m)

chaos: setup
	@$(PY) -m chaos run $(EXP) --stack-run-dir $(RUN_DIR)

chaos-all: setup
	@$(PY) -m chaos run-all --stack-run-dir $(RUN_DIR)

heal:
	@$(PY) -m chaos heal --stack-run-dir $(RUN_DIR)

load: up
	@$(PY) -m loadtests.run --service $(SERVICE) --users $(USERS) --duration $(DURATION) --shape $(SHAPE) \
		--p95-ms $(P95_MS) --max-error-rate $(MAX_ERROR_RATE) --workers $(WORKERS) \
		$(if $(SPAWN_RATE),--spawn-rate $(SPAWN_RATE)) $(if $(HISTORY),--history) $(LOAD_ARGS)

alerts-render: setup
	@$(PY) -m alerts render

alerts-test: setup
	@scripts/setup.sh prometheus alertmanager
	@$(PY) -m alerts test

alerts-drill: setup-all
	@$(PY) -m chaos alerts-drill --stack-run-dir $(RUN_DIR)

backup:
	@$(PY) -m backup snapshot --copy --prune --run-dir $(RUN_DIR) --nodes $(NODES) $(BACKUP_ARGS)

verify:
	@$(PY) -m backup verify --backup $(BACKUP) --nodes $(NODES) $(if $(NODE),--node $(NODE)) $(BACKUP_ARGS)

restore:
	@test -n "$(NODE)" || { echo "usage: make restore NODE=g1 [BACKUP=latest] [FORCE=1]" >&2; exit 2; }
	@$(PY) -m backup restore --node $(NODE) --backup $(BACKUP) --run-dir $(RUN_DIR) --nodes $(NODES) $(if $(FORCE),--force) $(BACKUP_ARGS)

backup-schedule:
	@$(PY) -m backup schedule --every $(EVERY) --run-dir $(RUN_DIR) --nodes $(NODES) $(BACKUP_ARGS)

drill: setup
	@$(PY) -m chaos.drills $(if $(ONLY),--only $(ONLY))

# docker-compose.yml under rootful podman (docs/compose.md): podman, podman-compose, the local
# stand-in images (no registry needed), then the stack's tests on a project and ports of their own.
compose-images: setup
	@scripts/setup.sh podman podman_compose
	@scripts/images.sh

compose-test: compose-images
	@CAPLAB_COMPOSE_TEST=1 $(PY) -m pytest -q tests/compose $(PYTEST_ARGS)

clean: down
	rm -rf $(RUN_DIR) .pytest_cache
