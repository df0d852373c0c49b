# pattern-db: every target bootstraps .venv from nothing (Python 3.11 + pinned constraints).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DB ?= demo-data/constellation.db

BENCH_STAMP := $(VENV)/.bench-installed
PEERS_ARGS ?=

.PHONY: demo demo-integrations test lint typecheck pytest test-slow bench bench-peers schema-snapshot clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt 'pip==$(shell sed -n 's/^pip==//p' constraints.txt)'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,server,langgraph,mcp,embed]'
	touch $@

## demo: create a constellation with an agent, a memory block and messages; print its status.
demo: $(STAMP)
	$(BIN)/pattern-db demo --overwrite $(DEMO_DB)
	$(BIN)/pattern-db status $(DEMO_DB)

## demo-integrations: a LangGraph graph on PatternStore, and an MCP client talking to `pattern-db mcp`.
demo-integrations: $(STAMP)
	$(BIN)/python examples/langgraph_store.py demo-data/langgraph.db
	$(BIN)/python examples/mcp_client.py demo-data/mcp.db

## test: lint, strict type check and the whole test suite (what CI runs).
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src

pytest: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

## test-slow: the stress tests kept out of the default run.
test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python -m bench

## bench-peers: pattern-db beside LangGraph's SqliteStore, sqlite-utils + sqlite-vec and Chroma
## (installs the optional `bench` extra first; PEERS_ARGS=--quick for a few-minute run).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,server,langgraph,mcp,embed,bench]'
	touch $@

bench-peers: $(BENCH_STAMP)
	$(BIN)/python -m bench.peers $(PEERS_ARGS)

## schema-snapshot: rewrite tests/schema_snapshot.sql after a deliberate schema change.
schema-snapshot: $(STAMP)
	$(BIN)/python -m tests.schema_snapshot > tests/schema_snapshot.sql

clean:
	rm -rf $(VENV) demo-data .pytest_cache .mypy_cache .ruff_cache
