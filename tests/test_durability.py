"""durability="normal"|"full": PRAGMA synchronous on every connection of the handle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pattern_db import ConstellationDb
from pattern_db.errors import InvalidData
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent, list_agents

ROOT = Path(__file__).resolve().parents[1]
LEVELS = {"normal": 1, "full": 2}  # what PRAGMA synchronous reads back


def _synchronous_everywhere(db: ConstellationDb) -> list[int]:
    """PRAGMA synchronous of the writer, this thread's reader and two other threads' readers."""
    found: list[int] = []
    with db.writer() as conn:
        found.append(conn.execute("PRAGMA synchronous").fetchone()[0])
    with db.reader() as conn:
        found.append(conn.execute("PRAGMA synchronous").fetchone()[0])

    def read() -> None:
        with db.reader() as conn:
            found.append(conn.execute("PRAGMA synchronous").fetchone()[0])

    threads = [threading.Thread(target=read) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return found


@pytest.mark.parametrize("durability", ["normal", "full"])
def test_the_pragma_is_applied_on_every_connection(tmp_path: Path, durability: str) -> None:
    with ConstellationDb.open(tmp_path / "c.db", durability=durability) as db:
        assert db.durability == durability
        assert db.capabilities()["durability"] == durability
        assert _synchronous_everywhere(db) == [LEVELS[durability]] * 4


def test_normal_is_the_default(tmp_path: Path) -> None:
    with ConstellationDb.open(tmp_path / "c.db") as db:
        assert db.durability == "normal"
        assert _synchronous_everywhere(db) == [1] * 4
    with ConstellationDb.open(tmp_path / "c.db", durability="full") as db:
        assert _synchronous_everywhere(db) == [2] * 4  # a choice of the handle, not the file


@pytest.mark.parametrize("bad", ["FULL", "off", "extra", "", None, 2])
def test_bad_durability_is_invalid_data(tmp_path: Path, bad: object) -> None:
    with pytest.raises(InvalidData, match="durability"):
        ConstellationDb.open(tmp_path / "c.db", durability=bad)  # type: ignore[arg-type]
    assert not (tmp_path / "c.db").exists()


_CHILD = """
import sys
from pattern_db import ConstellationDb
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent
db = ConstellationDb.open(sys.argv[1], durability=sys.argv[2])
i = 0
while True:
    create_agent(db, Agent(id=f"a{i}", name=f"a{i}", model_provider="p", model_name="m"))
    print(i, flush=True)
    i += 1
"""


@pytest.mark.parametrize("durability", ["normal", "full"])
def test_every_acknowledged_commit_survives_kill_9(tmp_path: Path, durability: str) -> None:
    path = tmp_path / "c.db"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), durability],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    acked = [child.stdout.readline() for _ in range(200)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    acked += child.stdout.readlines()  # lines printed before the kill landed
    child.stdout.close()
    with ConstellationDb.open(path, durability=durability) as db:
        stored = {a.id for a in list_agents(db)}
        assert db.verify() == []
        create_agent(db, Agent(id="after", name="after", model_provider="p", model_name="m"))
    assert {f"a{int(line)}" for line in acked if line.strip()} <= stored
