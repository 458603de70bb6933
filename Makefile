# The two commands a new user needs: `make run` and `make test`. See README.md.
SHELL := /bin/bash
UV = $(shell command -v uv || echo .tmp/uv/bin/uv)
export UV_PYTHON_DOWNLOADS := never
# The tests' own PowerDNS, apart from the one `make run` keeps in ./data/powerdns (5300/8081).
TEST_DNS = THECLOUD_DNS_DIR=/tmp/thecloud-powerdns-test THECLOUD_DNS_PORT=25300 THECLOUD_DNS_API_PORT=25081

.PHONY: run test setup lint typecheck unit integration e2e bench clean

run: ## set everything up and run the server on the embedded defaults (SQLite under ./data)
	@scripts/setup.sh >/dev/null
	@export $$(scripts/powerdns.sh env) && $(UV) run thecloud serve

test: ## set up, start a throwaway PostgreSQL, run lint, type checks and all three test tiers
	@scripts/setup.sh --test >/dev/null
	@$(MAKE) --no-print-directory lint typecheck
	@$(TEST_DNS) scripts/powerdns.sh start
	@export THECLOUD_TEST_PG_URL=$$(scripts/postgres.sh start) && export $$($(TEST_DNS) scripts/powerdns.sh env) && \
	  $(UV) run pytest -q -p no:cacheprovider tests; status=$$?; \
	  scripts/postgres.sh stop; $(TEST_DNS) scripts/powerdns.sh stop; exit $$status

setup:
	@scripts/setup.sh --test

lint:
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports

typecheck:
	$(UV) run mypy

unit:
	$(UV) run pytest -q tests/unit

integration:
	@$(TEST_DNS) scripts/powerdns.sh start
	@export THECLOUD_TEST_PG_URL=$$(scripts/postgres.sh start) && export $$($(TEST_DNS) scripts/powerdns.sh env) && \
	  $(UV) run pytest -q tests/integration

e2e:
	@$(TEST_DNS) scripts/powerdns.sh start
	@export THECLOUD_TEST_PG_URL=$$(scripts/postgres.sh start) && export $$($(TEST_DNS) scripts/powerdns.sh env) && \
	  $(UV) run pytest -q tests/e2e

bench: ## benchmarks (not part of `make test`)
	@scripts/setup.sh --bench >/dev/null
	$(UV) run python benchmarks/secrets_bench.py
	$(UV) run python benchmarks/compute_bench.py
	$(UV) run python benchmarks/network_bench.py

clean:
	rm -rf .tmp .pytest_cache .mypy_cache .ruff_cache
