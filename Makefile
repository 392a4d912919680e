# Two commands for a fresh machine (run as root):
#   make demo   set everything up, then run the demo in a throwaway host namespace
#   make test   set everything up, then run the unit and integration tests
.PHONY: setup setup-bench demo test unit lint bench bench-quick clean

setup:
	@scripts/setup.sh

setup-bench:
	@scripts/setup.sh bench

demo: setup
	@scripts/demo.sh

test: setup
	.venv/bin/pytest -q tests

unit: setup
	.venv/bin/pytest -q tests/unit

lint: setup
	.venv/bin/ruff check src tests bench

bench: setup-bench bench-full     ## nsnet side by side with its peers; < 15 min; writes docs/benchmarks.md

bench-quick: setup-bench    ## a ~2-minute subset

include Makefile.bench

clean:
	rm -rf .venv build src/*.egg-info .pytest_cache
