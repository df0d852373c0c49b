"""Every command through the real entry point, in its own process: once succeeding, once refused.

Each command runs as `python -m pattern_db.cli` (what the `pattern-db` script calls) with this
checkout's code on PYTHONPATH. A success prints JSON on stdout and nothing on stderr; a refusal
exits 1 with one `error:` line on stderr, or 2 with click's usage message; never a traceback.
The inputs are made once per module with the library, and the independent runs go four at a
time: each process pays ~0.5 s of imports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pattern_db import ConstellationDb, GlobalDb
from pattern_db.demo import create_demo
from pattern_db.importers import export_car
from tests import rust_db_support
from tests.test_cli_help import COMMANDS, _is_group
from tests.test_migrations import _database_at

SRC = Path(__file__).resolve().parents[1] / "src"
LETTA = SRC / "pattern_db" / "demo_data" / "memgpt_agent_with_convo.af"


def env() -> dict[str, str]:
    """The environment of a child: this checkout's code, no data-dir or URL defaults."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("PATTERN_DB_")}
    return {**values, "PYTHONPATH": str(SRC), "COLUMNS": "100"}


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str


def cli(*args: str, stdin: str = "", timeout: float = 120) -> Done:
    """Run `pattern-db ARGS` in a new process."""
    proc = subprocess.run(
        [sys.executable, "-m", "pattern_db.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env(),
        timeout=timeout,
        check=False,
    )
    return Done(proc.returncode, proc.stdout, proc.stderr)


@dataclass(frozen=True)
class Case:
    """One run: the command (the words of its name first), and what its JSON must hold."""

    args: tuple[str, ...]
    check: Callable[[Any], bool] | None = None
    code: int = 0
    stdin: str = ""
    says: str = ""  # refusals: a fragment of the error line


def ok(*args: str, check: Callable[[Any], bool], stdin: str = "") -> Case:
    return Case(args, check=check, stdin=stdin)


def refused(code: int, says: str, *args: str, stdin: str = "") -> Case:
    return Case(args, code=code, says=says, stdin=stdin)


class World:
    """The inputs of every case, made with the library in one temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.demo = root / "demo.db"
        create_demo(self.demo)
        for name in ("vacuum", "checkpoint", "index", "export"):
            shutil.copy(self.demo, root / f"{name}.db")
        self.old = root / "old.db"
        _database_at(self.old, 1)
        self.backup = root / "backup.db"
        with ConstellationDb.open(self.demo) as db:
            db.backup(self.backup)
            export_car(db, root / "demo.car")
        conn = rust_db_support.build(root / "rust.db")
        rust_db_support.populate(conn, messages=5, vectors=False)
        conn.close()
        (root / "junk.db").write_bytes(b"not a database " * 500)
        self.data = root / "data"
        with GlobalDb.open(self.data, create=True) as g:
            g.create_user("alice", password="old secret")
            g.create_user("bob")
            carol = g.create_user("carol")
            self.ids = {
                name: g.create_constellation(carol.id, name).id for name in ("c1", "c2", "c3")
            }

    def fill(self, args: tuple[str, ...]) -> list[str]:
        names = {"root": str(self.root), "data": str(self.data), **self.ids}
        return [a.format(**names) for a in args]


R = "{root}"
D = ("--data-dir", "{data}")
J = "--json"
CASES: dict[str, Case] = {
    "init": ok("init", f"{R}/new.db", J, check=lambda r: r["created"] is True),
    "init!": refused(1, "is a directory", "init", R),
    "migrate": ok("migrate", f"{R}/old.db", J, check=lambda r: r["applied"] == 3),
    "migrate!": refused(1, "no database at", "migrate", f"{R}/missing.db"),
    "status": ok("status", f"{R}/demo.db", J, check=lambda r: len(r["agents"]) == 3),
    "status!": refused(1, "not a database", "status", f"{R}/junk.db"),
    "stats": ok("stats", f"{R}/demo.db", J, check=lambda r: r["message_count"] == 4),
    "stats!": refused(2, "Missing argument", "stats"),
    "backup": ok("backup", f"{R}/demo.db", f"{R}/copy.db", J, check=lambda r: r["bytes"] > 0),
    "backup!": refused(1, "exists", "backup", f"{R}/demo.db", f"{R}/backup.db"),
    "restore": ok(
        "restore", f"{R}/backup.db", f"{R}/restored.db", J, check=lambda r: r["schema_version"]
    ),
    "restore!": refused(1, "", "restore", f"{R}/junk.db", f"{R}/restored2.db"),
    "vacuum": ok("vacuum", f"{R}/vacuum.db", J, check=lambda r: r["bytes_after"] > 0),
    "vacuum!": refused(1, "no database at", "vacuum", f"{R}/missing.db"),
    "checkpoint": ok("checkpoint", f"{R}/checkpoint.db", J, check=lambda r: r["busy"] == 0),
    "checkpoint!": refused(1, "not a database", "checkpoint", f"{R}/junk.db"),
    "verify": ok("verify", f"{R}/demo.db", J, check=lambda r: r["ok"] and len(r["checks"]) == 6),
    "verify!": refused(1, "no database at", "verify", f"{R}/missing.db"),
    "search": ok(
        "search",
        f"{R}/demo.db",
        "grant report",
        "--mode",
        "fts",
        J,
        check=lambda r: len(r["results"]) == 2,
    ),
    "search!": refused(
        2, "'fuzzy' is not one of", "search", f"{R}/demo.db", "x", "--mode", "fuzzy"
    ),
    "index": ok("index", f"{R}/index.db", J, check=lambda r: r["embedded"] == 5),
    "index!": refused(2, "--batch-size", "index", f"{R}/index.db", "--batch-size", "0"),
    "mcp!": refused(1, "no database at", "mcp", f"{R}/missing.db"),
    "demo": ok("demo", "--no-search", f"{R}/demo2.db", J, check=lambda r: r["messages"] == 4),
    "demo!": refused(1, "exists", "demo", "--no-search", f"{R}/demo.db"),
    "import car": ok(
        "import",
        "car",
        f"{R}/demo.car",
        f"{R}/from-car.db",
        J,
        check=lambda r: r["counts"]["messages"] == 4,
    ),
    "import car!": refused(1, "junk.db", "import", "car", f"{R}/junk.db", f"{R}/car2.db"),
    "import letta": ok(
        "import",
        "letta",
        str(LETTA),
        f"{R}/from-letta.db",
        J,
        check=lambda r: r["counts"]["messages"] > 0,
    ),
    "import letta!": refused(1, "junk.db", "import", "letta", f"{R}/junk.db", f"{R}/letta2.db"),
    "import rust-db": ok(
        "import",
        "rust-db",
        f"{R}/rust.db",
        f"{R}/from-rust.db",
        J,
        check=lambda r: r["counts"]["messages"] == 5,
    ),
    "import rust-db!": refused(
        2, "must be different", "import", "rust-db", f"{R}/rust.db", f"{R}/rust.db"
    ),
    "export car": ok(
        "export", "car", f"{R}/export.db", f"{R}/out.car", J, check=lambda r: r["bytes"] > 0
    ),
    "export car!": refused(
        1, "nobody", "export", "car", f"{R}/export.db", f"{R}/out2.car", "--agent", "nobody"
    ),
    "users add": ok(
        "users",
        "add",
        "dave",
        "--password-stdin",
        *D,
        J,
        stdin="a secret\n",
        check=lambda r: r["username"] == "dave" and r["has_password"],
    ),
    "users add!": refused(1, "alice", "users", "add", "alice", "--no-password", *D),
    "users passwd": ok(
        "users",
        "passwd",
        "alice",
        "--password-stdin",
        *D,
        J,
        stdin="new secret\n",
        check=lambda r: r["has_password"] is True,
    ),
    "users passwd!": refused(
        1,
        "user not found: ghost",
        "users",
        "passwd",
        "ghost",
        "--password-stdin",
        *D,
        stdin="x\n",
    ),
    "users list": ok(
        "users",
        "list",
        *D,
        J,
        # Cases run side by side on one data directory: `users remove bob` may come first.
        check=lambda r: {"alice", "carol"} <= {u["username"] for u in r},
    ),
    "users list!": refused(2, "--data-dir", "users", "list"),
    "users remove": ok("users", "remove", "bob", *D, J, check=lambda r: r["username"] == "bob"),
    "users remove!": refused(1, "user not found: ghost", "users", "remove", "ghost", *D),
    "constellations create": ok(
        "constellations",
        "create",
        "alice",
        "home",
        *D,
        J,
        check=lambda r: r["name"] == "home" and Path(r["file"]).is_file(),
    ),
    "constellations create!": refused(
        1, "user not found: ghost", "constellations", "create", "ghost", "home", *D
    ),
    "constellations list": ok(
        "constellations",
        "list",
        "--owner",
        "carol",
        *D,
        J,
        check=lambda r: {"c1", "c2", "c3"} <= {c["name"] for c in r},
    ),
    "constellations list!": refused(
        1, "user not found: ghost", "constellations", "list", "--owner", "ghost", *D
    ),
    "constellations show": ok(
        "constellations", "show", "{c1}", *D, J, check=lambda r: r["owner"] == "carol"
    ),
    "constellations show!": refused(
        1, "constellation not found", "constellations", "show", "const_missing", *D
    ),
    "constellations move": ok(
        "constellations",
        "move",
        "{c2}",
        "worker-2",
        *D,
        J,
        check=lambda r: r["node"] == "worker-2",
    ),
    "constellations move!": refused(
        1, "not found", "constellations", "move", "const_missing", "worker-2", *D
    ),
    "constellations remove": ok(
        "constellations", "remove", "{c3}", *D, J, check=lambda r: r["files_deleted"] is False
    ),
    "constellations remove!": refused(
        1, "not found", "constellations", "remove", "const_missing", *D
    ),
}
# Long runs, in tests of their own (marked slow): the MCP server and the full demo tour.
SLOW = {"mcp", "demo"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return World(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def results(world: World) -> dict[str, Done]:
    """Every case's run; the cases touch separate files, so they run side by side."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            key: pool.submit(cli, *world.fill(case.args), stdin=case.stdin)
            for key, case in CASES.items()
        }
        return {key: future.result() for key, future in futures.items()}


def test_every_command_has_a_success_and_a_refusal() -> None:
    leaves = {" ".join(path) for path, cmd in COMMANDS if path and not _is_group(cmd)}
    succeeding = {key for key, case in CASES.items() if case.code == 0} | (SLOW & leaves)
    refusing = {key.rstrip("!") for key, case in CASES.items() if case.code}
    assert leaves - succeeding == set()
    assert leaves - refusing == set()
    for key, case in CASES.items():
        assert " ".join(case.args).startswith(key.rstrip("!")), key


@pytest.mark.parametrize("key", [k for k, c in CASES.items() if c.code == 0])
def test_succeeds(results: dict[str, Done], key: str) -> None:
    done = results[key]
    assert done.code == 0, done.stderr
    assert done.stderr == ""
    check = CASES[key].check
    assert check is not None
    assert check(json.loads(done.stdout)), done.stdout


@pytest.mark.parametrize("key", [k for k, c in CASES.items() if c.code])
def test_refuses_in_one_line(results: dict[str, Done], key: str) -> None:
    case, done = CASES[key], results[key]
    assert done.code == case.code, (done.stdout, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    if case.code == 1:
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("error: ")
    else:  # usage: click's usage lines and one error line
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, done.stderr
    assert case.says in done.stderr


def test_refusals_leave_no_file_behind(results: dict[str, Done], world: World) -> None:
    assert results["import car!"].code == 1
    for name in ("car2.db", "letta2.db", "restored2.db", "missing.db", "out2.car"):
        assert not (world.root / name).exists(), name


@pytest.mark.slow
def test_mcp_answers_the_handshake_and_ends_with_its_input(world: World) -> None:
    pytest.importorskip("mcp")
    hello = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
    }
    done = cli("mcp", str(world.demo), "--read-only", stdin=json.dumps(hello) + "\n")
    assert done.code == 0, done.stderr
    reply = json.loads(done.stdout.splitlines()[0])
    assert reply["id"] == 1
    assert reply["result"]["serverInfo"]["name"] == "pattern-db"
    assert "read-only" in reply["result"]["instructions"]


@pytest.mark.slow
def test_the_demo_tour_answers_its_questions(world: World) -> None:
    pytest.importorskip("onnxruntime")
    done = cli("demo", "--overwrite", str(world.root / "tour.db"), J, timeout=600)
    assert done.code == 0, done.stderr
    tour = json.loads(done.stdout)["tour"]
    assert tour["embedded"] > 0
    assert all(answer["results"] for answer in tour["answers"])
