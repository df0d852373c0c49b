"""Restore into a live database: open handles (other processes too) lose no later write."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import apsw
import pytest

from pattern_db import ConstellationDb, vector
from pattern_db.backup import restore_backup
from pattern_db.demo import create_demo
from pattern_db.errors import CorruptDatabase, DestinationExists
from pattern_db.models import Agent, Message
from pattern_db.queries.agent import create_agent, list_agents
from pattern_db.queries.message import create_messages

CHILD = Path(__file__).with_name("restore_child.py")
ROOT = Path(__file__).resolve().parents[1]


def _agent(agent_id: str) -> Agent:
    return Agent(id=agent_id, name=agent_id, model_provider="p", model_name="m")


def _ids(db: ConstellationDb) -> set[str]:
    return {a.id for a in list_agents(db)}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    return env


def _make_pair(tmp_path: Path, *, old: int, new: int, filler: int = 0) -> tuple[Path, Path]:
    """A live database with agents old-*, and a backup holding agents new-* (plus `marker`)."""
    live, backup = tmp_path / "live.db", tmp_path / "backup.db"
    with ConstellationDb.open(tmp_path / "source.db") as db:
        for i in range(new):
            create_agent(db, _agent(f"new-{i}"))
        create_agent(db, _agent("marker"))
        if filler:
            text = "restored text " * 300
            create_messages(
                db,
                (
                    Message(agent_id="marker", content_json={"text": text}, content_preview=text)
                    for _ in range(filler)
                ),
            )
        db.backup(backup)
    with ConstellationDb.open(live) as db:
        for i in range(old):
            create_agent(db, _agent(f"old-{i}"))
    return live, backup


def test_restore_under_a_writing_process_loses_no_later_write(tmp_path: Path) -> None:
    live, backup = _make_pair(tmp_path, old=5, new=5)
    restored_ids = {f"new-{i}" for i in range(5)} | {"marker"}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(live), "60", "20000"],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert child.stdout is not None
    acks: list[tuple[str, bool]] = []
    try:
        assert child.stdout.readline().strip() == "ready"
        while len(acks) < 20:  # the child has written into the old content
            i, restored = child.stdout.readline().split()
            acks.append((f"w{i}", restored == "1"))
        restore_backup(backup, live, overwrite=True)
        for line in child.stdout:
            i, restored = line.split()
            acks.append((f"w{i}", restored == "1"))
    finally:
        child.stdout.close()
        code = child.wait(timeout=120)
    assert code == 0
    after = [w for w, restored in acks if restored]
    before = [w for w, restored in acks if not restored]
    assert len(after) == 60, "the writer never saw the restored content"
    assert len(before) >= 20
    with ConstellationDb.open(live) as db:
        ids = _ids(db)
        assert db.verify() == []
    lost = [w for w in after if w not in ids]
    assert lost == []  # 0 acknowledged writes lost
    # What was written before the restore was replaced by it, as a restore should.
    assert ids == restored_ids | set(after)


def test_a_concurrent_reader_sees_old_or_new_never_torn(tmp_path: Path) -> None:
    live, backup = _make_pair(tmp_path, old=40, new=30, filler=2500)
    old = frozenset(f"old-{i}" for i in range(40))
    new = frozenset({f"new-{i}" for i in range(30)} | {"marker"})
    seen: list[str] = []
    done = threading.Event()
    after_restore = threading.Event()
    reads_after = 0
    errors: list[BaseException] = []

    def read() -> None:
        nonlocal reads_after
        with ConstellationDb.open(live) as db:
            while not done.is_set():
                try:
                    with db.reader() as conn:
                        conn.execute("BEGIN")
                        ids = frozenset(r[0] for r in conn.execute("SELECT id FROM agents"))
                        messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
                        conn.execute("COMMIT")
                except BaseException as exc:
                    errors.append(exc)
                    return
                if ids == old and messages == 0:
                    seen.append("old")
                elif ids == new and messages == 2500:
                    seen.append("new")
                else:
                    seen.append(f"torn: {len(ids)} agents, {messages} messages")
                if after_restore.is_set():
                    reads_after += 1
                    if reads_after >= 3:
                        return

    reader = threading.Thread(target=read)
    steps: list[tuple[int, int]] = []
    reader.start()
    try:
        while not seen:
            threading.Event().wait(0.001)
        restore_backup(backup, live, overwrite=True, progress=lambda d, t: steps.append((d, t)))
        after_restore.set()
        reader.join(timeout=60)
    finally:
        done.set()
        reader.join()
    assert errors == []
    assert [s for s in seen if s not in ("old", "new")] == []
    assert seen[0] == "old"
    assert seen[-1] == "new"
    assert "old" not in seen[seen.index("new") :]  # once new, never old again
    assert len(steps) >= 2  # the copy went in several steps, the reader read across them
    assert steps[-1][0] == steps[-1][1]
    with ConstellationDb.open(live) as db:
        assert _ids(db) == new


def _corrupt_an_index(path: Path) -> None:
    conn = apsw.Connection(str(path))
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute(
            "SELECT rootpage FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'agents'"
        ).fetchone()[0]
    finally:
        conn.close()
    with path.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xff" * 16)  # not a b-tree page type any more


def test_a_backup_failing_integrity_check_is_refused_live_unchanged(tmp_path: Path) -> None:
    live, backup = _make_pair(tmp_path, old=3, new=3)
    _corrupt_an_index(backup)
    before = hashlib.sha256(live.read_bytes()).hexdigest()
    with ConstellationDb.open(live) as db:
        with pytest.raises(CorruptDatabase, match="integrity check"):
            restore_backup(backup, live, overwrite=True)
        assert _ids(db) == {"old-0", "old-1", "old-2"}
    assert hashlib.sha256(live.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_restore_asks_before_replacing_and_converts_page_size(tmp_path: Path) -> None:
    live, backup = _make_pair(tmp_path, old=2, new=2)
    with pytest.raises(DestinationExists):
        restore_backup(backup, live)
    conn = apsw.Connection(str(backup))
    conn.execute("PRAGMA page_size = 4096").fetchall()
    conn.execute("VACUUM").fetchall()
    assert conn.execute("PRAGMA page_size").fetchone() == (4096,)
    conn.close()
    with ConstellationDb.open(live) as db:
        restore_backup(backup, live, overwrite=True)
        assert _ids(db) == {"new-0", "new-1", "marker"}
        create_agent(db, _agent("later"))
        with db.reader() as c:
            assert c.execute("PRAGMA page_size").fetchone() == (8192,)
            assert c.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with ConstellationDb.open(live) as db:
        assert "later" in _ids(db)


def test_restore_to_a_new_path(tmp_path: Path) -> None:
    _, backup = _make_pair(tmp_path, old=0, new=2)
    written = restore_backup(backup, tmp_path / "sub" / "new.db")
    with ConstellationDb.open(written) as db:
        assert _ids(db) == {"new-0", "new-1", "marker"}


def test_vector_caches_of_open_handles_reload_the_restored_index(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    with ConstellationDb.open(live) as db:
        db.require_vec()
        vector.ensure_embeddings_table(db, 3, metric="l2")
        vector.insert_embedding(db, "message", "kept", [1.0, 0.0, 0.0])
        backup = db.backup(tmp_path / "b.db")
        vector.insert_embedding(db, "message", "gone", [0.0, 1.0, 0.0])
    holder = ConstellationDb.open(live)
    try:
        assert vector.warm_vector_cache(holder) == 2
        restore_backup(backup, live, overwrite=True)
        with ConstellationDb.open(live) as other:
            # The generation is back where the holder's cache was: only the new index date tells.
            vector.insert_embedding(other, "message", "added", [0.0, 0.0, 1.0])
        found = {r.content_id for r in vector.knn_search(holder, [0.0, 1.0, 0.0], 5)}
        assert found == {"kept", "added"}
    finally:
        holder.close()


def test_demo_overwrite_under_an_open_handle(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    with ConstellationDb.open(path) as holder:
        create_agent(holder, _agent("mine"))
        create_demo(path, overwrite=True)
        names = {a.name for a in list_agents(holder)}
        assert names == {"Pattern", "Entropy", "Anchor"}
        create_agent(holder, _agent("after-demo"))
    with ConstellationDb.open(path) as db:
        assert "after-demo" in _ids(db)
        assert db.verify() == []


def _cli(*args: str, tty: bool) -> subprocess.CompletedProcess[str]:
    env = _env()
    env["TTY_COMPATIBLE"] = "1" if tty else "0"
    env["COLUMNS"] = "100"
    return subprocess.run(
        [sys.executable, "-m", "pattern_db.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_restore_draws_progress_on_a_terminal_and_none_with_json(tmp_path: Path) -> None:
    live, backup = _make_pair(tmp_path, old=2, new=2, filler=200)
    drawn = _cli("restore", "--overwrite", str(backup), str(live), tty=True)
    assert drawn.returncode == 0, drawn.stderr
    assert "restoring" in drawn.stderr
    # JSON output draws no bars (the CLI's convention), even on a terminal.
    done = _cli("restore", "--overwrite", "--json", str(backup), str(live), tty=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["restored"] == str(live)
    assert done.stderr == ""
    plain = _cli("restore", "--overwrite", str(backup), str(live), tty=False)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr == ""
    assert plain.stdout.startswith("restored ")
    refused = _cli("restore", str(backup), str(live), tty=False)
    assert refused.returncode == 1
    assert "pass --overwrite" in refused.stderr
