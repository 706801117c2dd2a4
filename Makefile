# The two commands of the README: `make demo` (install and run) and `make test` (install and test).
UV_VERSION := 0.13.8
PYTHON ?= python3
UV := $(PYTHON) -m uv

.PHONY: install demo serve test lint typecheck bench clean

install:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) sync --frozen --python 3.11

demo: install
	$(UV) run --frozen claimgw demo

serve: install
	$(UV) run --frozen claimgw serve

test: install
	$(UV) run --frozen pytest -n 2 --dist loadgroup

lint: install
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy gateway fhir_mappings fraud provider_registry

bench: install
	$(UV) run --frozen python benchmarks/intake.py

clean:
	rm -rf var .pytest_cache
