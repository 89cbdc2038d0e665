# Developer shortcuts; each target is a thin wrapper around scripts/ or .venv tools.
.PHONY: install test demo golden lint format libvirtd

VENV := .venv/bin
PY_DIRS := vmspec tests

install:
	scripts/install

test:
	scripts/test

demo:
	scripts/demo

# Regenerate the golden XML from the example specs (review the diff!).
golden: install
	$(VENV)/vmspec compile specs/examples -o golden

lint: install
	$(VENV)/ruff check $(PY_DIRS) && $(VENV)/ruff format --check $(PY_DIRS)

format: install
	$(VENV)/ruff check --select I --fix $(PY_DIRS)
	$(VENV)/ruff format $(PY_DIRS)

libvirtd:
	scripts/libvirtd
