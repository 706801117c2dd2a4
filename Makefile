# The two commands of the README: `make demo` (install and run) and `make test` (install and test).
# `make demo` installs only what the gateway needs; test and lint tools (pytest, playwright,
# schemathesis, mypy, ruff, …) are the `dev` dependency group, installed by `make test`.
UV_VERSION := 0.13.8
PYTHON ?= python3
UV := $(PYTHON) -m uv
PORT ?= 8000

.PHONY: uv install install-dev demo serve test lint typecheck bench clean

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"

# --inexact: a runtime install never removes the test tools a developer already has.
# Bytecode is compiled at install time: with PYTHONDONTWRITEBYTECODE set (as on our machines)
# Python would otherwise compile every imported module again in every process, which was
# most of a CLI command's start-up (hospital list: 1.4 s of CPU, 0.6 s with bytecode).
COMPILE_OWN := $(UV) run --frozen --no-sync python -m compileall -q -j 0 gateway fhir_mappings fraud provider_registry migrations

install: uv
	$(UV) sync --frozen --no-dev --inexact --compile-bytecode --python 3.11
	$(COMPILE_OWN)

install-dev: uv
	$(UV) sync --frozen --group dev --compile-bytecode --python 3.11
	$(COMPILE_OWN)

demo: install
	$(UV) run --frozen --no-sync claimgw demo --port $(PORT)

serve: install
	$(UV) run --frozen --no-sync claimgw serve --port $(PORT)

test: install-dev
	$(UV) run --frozen --no-sync pytest -n 2 --dist loadgroup

lint: install-dev
	$(UV) run --frozen --no-sync ruff check .
	$(UV) run --frozen --no-sync mypy gateway fhir_mappings fraud provider_registry

# Issue 12's target table (benchmarks/targets.py; `make bench BENCH_ARGS=--quick` runs in under
# 5 minutes). PostgreSQL must listen on 127.0.0.1:5432 with trust auth, or pass --skip-postgres.
BENCH_ARGS ?=
bench: install-dev
	$(UV) run --frozen --no-sync python benchmarks/cli_startup.py
	$(UV) run --frozen --no-sync python benchmarks/targets.py $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache
