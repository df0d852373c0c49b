"""ConstellationDb: transactions, readers, maintenance, backup, extensions, many processes."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import apsw
import pytest

from pattern_db import ConstellationDb, _vec_loader, errors
from pattern_db.backup import restore_backup
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent, get_agent, list_agents, update_agent_status


def _agent(agent_id: str) -> Agent:
    return Agent(id=agent_id, name=agent_id, model_provider="p", model_name="m")


def _count(db: ConstellationDb, table: str) -> int:
    with db.reader() as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_open_creates_directories_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "c.db"
    with ConstellationDb.open(path) as db:
        caps = db.capabilities()
        db.health_check()
    assert path.exists()
    assert caps["journal_mode"] == "wal"
    assert caps["fts5"] is True
    assert caps["driver"] == "apsw"
    assert str(caps["sqlite_vec"]).startswith("v")
    assert caps["schema_version"] == caps["latest_schema_version"]


def test_pragmas_are_set_on_every_connection(file_db: ConstellationDb) -> None:
    expected = {
        "foreign_keys": 1,
        "synchronous": 1,
        "temp_store": 2,
        "cache_size": -64000,
        "busy_timeout": 30000,
        "journal_size_limit": 67108864,
    }
    for context in (file_db.reader, file_db.writer):
        with context() as conn:
            got = {name: conn.execute(f"PRAGMA {name}").fetchall()[0][0] for name in expected}
            assert got == expected


def test_a_transaction_commits_or_rolls_back_as_a_whole(db: ConstellationDb) -> None:
    with db.transaction() as tx:
        create_agent(tx, _agent("a1"))
        create_agent(tx, _agent("a2"))

    def fail_midway() -> None:
        with db.transaction() as tx:
            create_agent(tx, _agent("a3"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail_midway()
    assert [a.id for a in list_agents(db)] == ["a1", "a2"]


def test_a_failing_query_inside_a_transaction_undoes_only_itself(db: ConstellationDb) -> None:
    with db.transaction() as tx:
        create_agent(tx, _agent("a1"))
        with pytest.raises(errors.AlreadyExists):
            create_agent(tx, _agent("a1"))
        create_agent(tx, _agent("a2"))
    assert [a.id for a in list_agents(db)] == ["a1", "a2"]


def test_nested_transactions_are_savepoints(db: ConstellationDb) -> None:
    with db.transaction() as outer:
        create_agent(outer, _agent("a1"))

        def fail_inside() -> None:
            with db.transaction() as inner:
                create_agent(inner, _agent("a2"))
                raise ValueError

        with pytest.raises(ValueError):
            fail_inside()
        create_agent(db, _agent("a3"))  # the db handle joins the thread's transaction
    assert [a.id for a in list_agents(db)] == ["a1", "a3"]


def test_a_thread_in_a_transaction_reads_its_own_writes_others_do_not(
    file_db: ConstellationDb,
) -> None:
    create_agent(file_db, _agent("a1"))
    seen_by_other: list[str] = []
    with file_db.transaction() as tx:
        update_agent_status(tx, "a1", "hibernated")
        assert get_agent(file_db, "a1").status == "hibernated"  # type: ignore[union-attr]
        thread = threading.Thread(
            target=lambda: seen_by_other.append(str(get_agent(file_db, "a1").status))  # type: ignore[union-attr]
        )
        thread.start()
        thread.join()
    assert seen_by_other == ["active"]
    assert get_agent(file_db, "a1").status == "hibernated"  # type: ignore[union-attr]


def test_readers_cannot_write(file_db: ConstellationDb) -> None:
    with pytest.raises(errors.DbError), file_db.reader() as conn:
        conn.execute("DELETE FROM agents")


def test_a_finished_transaction_cannot_be_reused(db: ConstellationDb) -> None:
    with db.transaction() as tx:
        pass
    with pytest.raises(errors.DatabaseClosed):
        create_agent(tx, _agent("a1"))


def test_a_closed_database_says_so(tmp_path: Path) -> None:
    db = ConstellationDb.open(tmp_path / "c.db")
    db.close()
    db.close()  # idempotent
    with pytest.raises(errors.DatabaseClosed, match="closed"):
        list_agents(db)


def test_threads_each_get_their_own_reader_and_close_releases_them(tmp_path: Path) -> None:
    db = ConstellationDb.open(tmp_path / "c.db")
    create_agent(db, _agent("a1"))
    results: list[int] = []

    def read() -> None:
        results.append(len(list_agents(db)))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [1] * 8
    db.close()
    assert [c for c in apsw.connections() if c.filename == str(tmp_path / "c.db")] == []


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(errors.CorruptDatabase, match="not a database"):
        ConstellationDb.open(path)


def test_stats_count_every_row(db: ConstellationDb) -> None:
    create_agent(db, _agent("a1"))
    stats = db.stats()
    assert stats.agent_count == 1
    assert stats.message_count == 0
    assert stats.schema_version == db.schema_version()
    assert stats.page_count > 0


def _insert_message(db: ConstellationDb, rowid_hint: int, text: str) -> None:
    with db.writer() as conn:
        conn.execute(
            "INSERT INTO messages (id, agent_id, position, role, content_json, content_preview,"
            " created_at) VALUES (?, 'a1', ?, 'user', '{}', ?, '2026-01-01T00:00:00.000000Z')",
            (f"m{rowid_hint}", f"{rowid_hint:020d}", text),
        )


def _fts_ids(db: ConstellationDb, term: str) -> list[str]:
    with db.reader() as conn:
        rows = conn.execute(
            "SELECT m.id FROM messages_fts f JOIN messages m ON m.rowid = f.rowid "
            "WHERE messages_fts MATCH ? ORDER BY m.id",
            (term,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def test_vacuum_rebuilds_fts_so_search_still_matches(file_db: ConstellationDb) -> None:
    create_agent(file_db, _agent("a1"))
    for i in range(50):
        _insert_message(file_db, i, f"note number{i} about gardens")
    with file_db.writer() as conn:
        conn.execute("DELETE FROM messages WHERE CAST(position AS INTEGER) % 2 = 0")
        # Desynchronise the index on purpose: only a rebuild after VACUUM can repair it.
        conn.execute(
            "INSERT INTO messages_fts(messages_fts, rowid, content_preview) "
            "SELECT 'delete', rowid, content_preview FROM messages WHERE id = 'm7'"
        )
    assert _fts_ids(file_db, "number7") == []
    file_db.vacuum()
    assert _fts_ids(file_db, "number7") == ["m7"]
    assert len(_fts_ids(file_db, "gardens")) == 25
    with file_db.writer() as conn:
        # FTS5 compares the index with the content table and raises if they disagree.
        conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")


def test_checkpoint_truncates_the_wal(file_db: ConstellationDb) -> None:
    create_agent(file_db, _agent("a1"))
    busy, _, _ = file_db.checkpoint()
    assert busy == 0
    assert file_db.stats().wal_size_bytes == 0


def test_backup_while_another_thread_writes_is_consistent(tmp_path: Path) -> None:
    db = ConstellationDb.open(tmp_path / "c.db")
    create_agent(db, _agent("seed"))
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        i = 0
        while not stop.is_set():
            create_agent(db, _agent(f"w{i}"))
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 50:
            pass
        dest = db.backup(tmp_path / "backups" / "copy.db")
        committed_before = len(written)
    finally:
        stop.set()
        thread.join()
    db.close()
    conn = apsw.Connection(str(dest))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA journal_mode").fetchall() == [("delete",)]
        count = conn.execute("SELECT count(*) FROM agents").fetchall()[0][0]
    finally:
        conn.close()
    assert count >= 1 + 50
    assert count <= 1 + committed_before + 1


def test_backup_refuses_to_overwrite_and_restores(tmp_path: Path) -> None:
    with ConstellationDb.open(tmp_path / "c.db") as db:
        create_agent(db, _agent("a1"))
        dest = db.backup(tmp_path / "b.db")
        with pytest.raises(errors.InvalidData, match="exists"):
            db.backup(dest)
        with pytest.raises(errors.InvalidData, match="itself"):
            db.backup(tmp_path / "c.db", overwrite=True)
    restored = restore_backup(dest, tmp_path / "restored.db")
    with ConstellationDb.open(restored) as copy:
        assert [a.id for a in list_agents(copy)] == ["a1"]


def test_in_memory_backup(tmp_path: Path) -> None:
    with ConstellationDb.open_in_memory() as db:
        create_agent(db, _agent("a1"))
        dest = db.backup(tmp_path / "mem.db")
    with ConstellationDb.open(dest) as copy:
        assert [a.id for a in list_agents(copy)] == ["a1"]


def test_without_sqlite_vec_the_database_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_vec_loader, "wheel_library", lambda: "/nonexistent/vec0")
    with ConstellationDb.open(tmp_path / "c.db") as db:
        caps = db.capabilities()
        assert caps["sqlite_vec"] is None
        assert "sqlite-vec could not be loaded" in str(caps["sqlite_vec_error"])
        with pytest.raises(errors.ExtensionError, match="Full-text search still works"):
            db.require_vec()
        create_agent(db, _agent("a1"))
        _insert_message(db, 1, "full text survives")
        assert _fts_ids(db, "survives") == ["m1"]


def _write_agents(path: str, prefix: str, count: int) -> int:
    """Child process: create `count` agents one transaction each; return errors seen."""
    failures = 0
    with ConstellationDb.open(path) as db:
        for i in range(count):
            try:
                create_agent(db, _agent(f"{prefix}{i}"))
            except errors.DbError:
                failures += 1
    return failures


def test_two_processes_writing_at_once_see_no_lock_error(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    ConstellationDb.open(path).close()
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        failures = pool.starmap(_write_agents, [(str(path), "p", 300), (str(path), "q", 300)])
    assert failures == [0, 0]
    with ConstellationDb.open(path) as db:
        assert _count(db, "agents") == 600


_KILL_WRITER = """
import sys
from pattern_db import ConstellationDb
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent

with ConstellationDb.open(sys.argv[1]) as db:
    i = 0
    while True:
        create_agent(db, Agent(id=f"k{i}", name=f"k{i}", model_provider="p", model_name="m"))
        print(i, flush=True)  # acknowledged: the transaction has committed
        i += 1
"""


@pytest.mark.slow
def test_kill_9_mid_write_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    path = tmp_path / "c.db"
    ConstellationDb.open(path).close()
    acknowledged = -1
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", _KILL_WRITER, str(path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            acknowledged = max(acknowledged, int(line))
            if int(line) >= 200:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        with ConstellationDb.open(path) as db:
            assert db.verify() == []
            ids = {a.id for a in list_agents(db)}
            assert {f"k{i}" for i in range(acknowledged + 1)} <= ids
            with db.writer() as conn:
                conn.execute("DELETE FROM agents")


def test_a_long_query_is_interrupted_by_ctrl_c(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import textwrap
    import time

    script = tmp_path / "child.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from pattern_db import ConstellationDb
            with ConstellationDb.open(sys.argv[1]) as db, db.reader() as conn:
                print("started", flush=True)
                try:
                    conn.execute(
                        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
                        " SELECT count(*) FROM c"
                    ).fetchall()
                except KeyboardInterrupt:
                    print("interrupted", flush=True)
            """
        )
    )
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "c.db")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "started"
    time.sleep(0.5)  # let the child enter the query: the signal must land inside it
    child.send_signal(signal.SIGINT)
    try:
        out, err = child.communicate(timeout=60)  # the query alone would run for hours
    finally:
        child.kill()
    assert out.strip() == "interrupted", err
    assert child.returncode == 0


def test_one_transaction_primitive_with_an_explicit_savepoint_policy(
    db: ConstellationDb,
) -> None:
    create_agent(db, _agent("a1"))
    # With savepoints (the default) a failing query rolls back alone; the transaction goes on.
    with db.transaction() as tx:
        assert tx.savepoints
        with pytest.raises(errors.AlreadyExists):
            create_agent(tx, _agent("a1"))
        create_agent(tx, _agent("a2"))
    assert [a.id for a in list_agents(db)] == ["a1", "a2"]

    # Without, the first failure ends the whole transaction.
    def clash() -> None:
        with db.transaction(savepoints=False) as tx:
            assert tx.database is db
            create_agent(tx, _agent("a3"))
            create_agent(tx, _agent("a1"))

    with pytest.raises(errors.AlreadyExists):
        clash()
    assert [a.id for a in list_agents(db)] == ["a1", "a2"]
    assert db.database is db


def test_handle_state_is_freed_by_close(tmp_path: Path) -> None:
    db = ConstellationDb.open(tmp_path / "c.db")
    made = db.handle_state("k", lambda: [1])
    assert db.handle_state("k", list) is made
    assert db.existing_state("k") is made
    db.close()
    assert db.existing_state("k") is None
    with pytest.raises(errors.DatabaseClosed):
        db.handle_state("k", list)
