# gantry: two commands set up everything on a fresh Debian 12 machine (see README.md).
#   make demo   the whole pipeline on the local target (two regions on this machine)
#   make test   every linter and test suite (what CI runs through .ci/run)
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
# Every podman process (the API service, the CLI, molecule, Packer) reads these two files: the project's
# runtime settings and its own image store under .cache/containers (gantry/host/podman.py writes it).
export CONTAINERS_CONF ?= $(CURDIR)/config/podman/containers.conf
export CONTAINERS_STORAGE_CONF ?= $(CURDIR)/.cache/containers/storage.conf
GANTRY := $(BIN)/gantry
APPROVER ?= demo@gantry.invalid
DEMO_FLAGS ?=
PYTEST_FLAGS ?=
# Parallel test workers (pytest-xdist). Most integration time is spent waiting on containers, so more workers than
# cores pays; each group of tests that shares a stack or a fixed port stays in one worker (tests/conftest.py).
TEST_WORKERS ?= 3

.PHONY: help bootstrap up demo down status lint setup test test-unit flaky bench clean terraform-provider

help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

bootstrap:  ## install Debian packages and the pinned Python virtualenv (idempotent)
	@scripts/bootstrap.sh

up: bootstrap  ## start both local regions and the monitoring stack
	@$(GANTRY) up

demo: up  ## run the whole pipeline locally, approved by the documented demo approver
	@$(GANTRY) pipeline run --approver $(APPROVER) $(DEMO_FLAGS)

status: bootstrap  ## what runs locally and which release each environment serves
	@$(GANTRY) status

down:  ## remove every container, process and file the local target created (the image store stays)
	@if [ -x $(GANTRY) ]; then $(GANTRY) down; else rm -rf .gantry; fi

lint: setup  ## ruff, mypy, yamllint and each area's linters (after setup: they need its tools)
	@ruff check gantry services tests scripts terraform/schema-provider
	@ruff format --check gantry services tests scripts terraform/schema-provider || { echo "run: .venv/bin/ruff format gantry services tests scripts terraform/schema-provider"; exit 1; }
	@mypy
	@lint-imports --no-cache >/dev/null || lint-imports --no-cache
	@yamllint -s .
	@for lint in scripts/lint-*.sh; do [ -x "$$lint" ] || continue; echo "== $$lint"; t=$$(date +%s); "$$lint" || exit 1; echo "== $$lint: $$(( $$(date +%s) - t )) s"; done

setup: bootstrap  ## prepare what the area test suites need (images, Go-built tools, Maven deps)
	@for setup in scripts/setup-*.sh; do [ -x "$$setup" ] || continue; echo "== $$setup"; t=$$(date +%s); "$$setup" || exit 1; echo "== $$setup: $$(( $$(date +%s) - t )) s"; done

test: setup lint  ## every test suite, unit and integration (CI runs this)
	@pytest -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder --durations=10 $(PYTEST_FLAGS)

flaky: setup  ## the integration tests RUNS times (5) in a row: every test that failed in any run
	@$(BIN)/python scripts/flaky-runs.py --runs $(or $(RUNS),5) --workers $(TEST_WORKERS)

test-unit: bootstrap  ## only the fast tests
	@pytest -m "not integration" $(PYTEST_FLAGS)

bench: up  ## after `make demo`: rollout/rollback under load, recovery and alert latency, DR drill (prints numbers)
	@$(BIN)/python scripts/bench-rollout.py
	@$(BIN)/python scripts/bench-recovery.py
	@$(BIN)/python scripts/bench-dr.py

clean: down  ## also drop caches (the image store, the debootstrap rootfs) and the virtualenvs
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m gantry.host.podman remove-store; fi
	@rm -rf .cache $(VENV) .venv-checkov

terraform-provider: bootstrap  ## build the real AWS provider (about 6 min) for the moto apply and the schema diff
	@GANTRY_TF_VALIDATE=1 scripts/setup-terraform.sh
