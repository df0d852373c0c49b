"""Both global-database backends behind one test fixture, and raw access to what they store.

Test modules import `target_fixture` and `g_fixture`, which register the fixtures `target`
(each backend in turn) and `g` (an open GlobalDb on it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apsw
import pytest

from pattern_db.global_db import GlobalDb, PasswordParams

# Cheap argon2id parameters keep the tests fast; one test checks the real defaults.
FAST = PasswordParams(time_cost=1, memory_cost=1024, parallelism=1)
NODE = "node-a"


@dataclass(frozen=True)
class Target:
    """Where a test's global database lives: a data directory, or a PostgreSQL URL + data dir."""

    kind: str
    where: str
    data_dir: Path

    def open(self, **options: Any) -> GlobalDb:
        """Open the global database with the test defaults (fast hashing, node `node-a`)."""
        options.setdefault("password_params", FAST)
        options.setdefault("node", NODE)
        if self.kind == "postgresql":
            options.setdefault("data_dir", self.data_dir)
        return GlobalDb.open(self.where, **options)

    def cli_args(self) -> list[str]:
        """Return the CLI options that select this database."""
        if self.kind == "postgresql":
            return ["--url", self.where, "--data-dir", str(self.data_dir)]
        return ["--data-dir", str(self.data_dir)]

    def raw(self, sql: str) -> list[tuple[Any, ...]]:
        """Run a query on the database directly, bypassing pattern-db."""
        if self.kind == "sqlite":
            conn = apsw.Connection(str(self.data_dir / "global.db"))
            try:
                return [tuple(row) for row in conn.execute(sql)]
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.where, autocommit=True) as conn:
            return [tuple(row) for row in conn.execute(sql).fetchall()]

    def raw_execute(self, sql: str) -> None:
        """Change the database directly, bypassing pattern-db."""
        if self.kind == "sqlite":
            conn = apsw.Connection(str(self.data_dir / "global.db"))
            try:
                conn.execute(sql)
            finally:
                conn.close()
            return
        import psycopg

        with psycopg.connect(self.where, autocommit=True) as conn:
            conn.execute(sql)


def make_target(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """Return the Target of the backend named by `request.param`."""
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        return Target("sqlite", str(data_dir), data_dir)
    url = request.getfixturevalue("pg_url")
    return Target("postgresql", url, data_dir)


@pytest.fixture(name="target", params=["sqlite", "postgresql"])
def target_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Target:
    """Each backend in turn (PostgreSQL on the session's throwaway server)."""
    return make_target(request, tmp_path)


@pytest.fixture(name="g")
def g_fixture(target: Target) -> Iterator[GlobalDb]:
    """An open global database on each backend."""
    with target.open() as handle:
        yield handle
