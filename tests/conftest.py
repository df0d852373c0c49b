"""Shared fixtures: a database per backend (in-memory and file), and a connection-leak check."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from pattern_db import ConstellationDb
from pattern_db.models import Agent
from tests.pg_support import PgServer, fresh_database, pg_server_or_skip


@pytest.fixture(params=["memory", "file"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ConstellationDb]:
    """A fresh, migrated database; both backends run every test that uses it."""
    if request.param == "memory":
        handle = ConstellationDb.open_in_memory()
    else:
        handle = ConstellationDb.open(tmp_path / "constellation.db")
    with handle:
        yield handle


@pytest.fixture
def file_db(tmp_path: Path) -> Iterator[ConstellationDb]:
    """A fresh file-backed database (for tests about WAL, processes, backups)."""
    with ConstellationDb.open(tmp_path / "constellation.db") as handle:
        yield handle


@pytest.fixture
def make_agent(db: ConstellationDb) -> object:
    """Return a function that inserts an agent with a given id and returns it."""
    from pattern_db.queries.agent import create_agent

    def make(agent_id: str = "a1", **fields: object) -> Agent:
        agent = Agent(
            id=agent_id,
            name=str(fields.pop("name", agent_id)),
            model_provider="anthropic",
            model_name="claude-sonnet",
            system_prompt="You are helpful.",
            **fields,  # type: ignore[arg-type]
        )
        create_agent(db, agent)
        return agent

    return make


@pytest.fixture(autouse=True)
def _no_leaked_connections() -> Iterator[None]:
    """Fail a test that leaves a SQLite connection open."""
    before = {id(c) for c in apsw.connections()}
    yield
    leaked = [c for c in apsw.connections() if id(c) not in before]
    if leaked:
        # Connections only reachable from garbage are not leaks; collect before judging.
        gc.collect()
        leaked = [c for c in apsw.connections() if id(c) not in before]
    assert not leaked, f"{len(leaked)} SQLite connection(s) leaked: {[c.filename for c in leaked]}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A throwaway PostgreSQL cluster for the whole session (skipped without PostgreSQL)."""
    with pg_server_or_skip() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    with fresh_database(pg_server) as url:
        yield url
