# Developer shortcuts; each target is a thin wrapper around scripts/ or .venv tools.
.PHONY: install test demo golden reference lint format libvirtd bench

VENV := .venv/bin
PY_DIRS := vmspec tests benchmarks

install:
	scripts/install

test:
	scripts/test

demo:
	scripts/demo

# Regenerate the golden XML from the example specs (review the diff!).
golden: install
	$(VENV)/vmspec compile specs/examples -o golden

# Regenerate docs/spec-reference.md from the JSON Schema (a test fails when it is stale).
reference: install
	$(VENV)/python -m vmspec.schema.reference

lint: install
	$(VENV)/ruff check $(PY_DIRS) && $(VENV)/ruff format --check $(PY_DIRS)

format: install
	$(VENV)/ruff check --select I --fix $(PY_DIRS)
	$(VENV)/ruff format $(PY_DIRS)

libvirtd:
	scripts/libvirtd

# Benchmarks (never part of the test suite): prints Markdown tables and the goals, writes
# benchmarks/results.json. Needs virt-install (Debian's virtinst), GNU time (Debian's time)
# and the libvirtd of `make libvirtd`. `make bench BENCH_ARGS=--quick` is a smoke run.
bench: install libvirtd
	$(VENV)/python benchmarks/run_all.py $(BENCH_ARGS)
