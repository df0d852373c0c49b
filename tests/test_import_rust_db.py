"""Copying files of the Rust pattern_db crate, built here from REFERENCE's schema."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pattern_db import ConstellationDb, vector
from pattern_db.errors import ImportFailed
from pattern_db.importers import import_rust_db
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import AgentStatus, MemoryPermission
from pattern_db.queries import agent as q_agent
from pattern_db.queries import atproto_endpoints as q_atproto
from pattern_db.queries import coordination as q_coord
from pattern_db.queries import memory as q_memory
from pattern_db.queries import message as q_message
from pattern_db.queries import task as q_task
from tests import rust_db_support as rs
from tests.test_cli import run


@pytest.fixture
def rust_file(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    path = src_dir / "constellation.db"
    conn = rs.build(path)
    counts = rs.populate(conn)
    conn.close()
    return path, counts


def _snapshot(path: Path) -> tuple[str, list[str]]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(
        p.name for p in path.parent.iterdir()
    )


def _rows(db: ConstellationDb, table: str) -> int:
    with db.reader() as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_every_row_is_copied(rust_file: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    src, counts = rust_file
    before = _snapshot(src)
    with ConstellationDb.open(tmp_path / "dest.db") as db:
        report = import_rust_db(src, db)
        for table, n in counts.items():
            assert _rows(db, table) == n, table
            assert report.counts.get(table, 0) == n, table
        assert report.format == "rust pattern_db (migrations 0001-0013)"
        assert report.source_version == 13
    # The source was only read: same bytes, no -wal/-shm left behind.
    assert _snapshot(src) == before


def test_values_are_normalised(rust_file: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    src, _ = rust_file
    with ConstellationDb.open(tmp_path / "dest.db") as db:
        report = import_rust_db(src, db)
        a1, a2 = q_agent.get_agent(db, "a1"), q_agent.get_agent(db, "a2")
        assert a1 is not None
        assert a2 is not None
        assert a1.created_at == datetime(2025, 12, 26, 10, 11, 12, 123456, tzinfo=UTC)
        assert a1.updated_at == datetime(2025, 12, 27, 8, 0, tzinfo=UTC)  # datetime('now') text
        assert a2.updated_at == datetime(2025, 12, 26, 10, 11, 14, 123456, tzinfo=UTC)
        assert a2.status is AgentStatus.HIBERNATED  # stored as 'Hibernated'
        assert a1.config == {"max_messages": 50}
        assert a1.tool_rules == [{"tool_name": "x"}]
        with db.reader() as conn:
            stored = conn.execute("SELECT updated_at FROM agents WHERE id = 'a1'").fetchall()
        assert stored == [("2025-12-27T08:00:00.000000Z",)]

        members = {m.agent_id: m for m in q_agent.get_group_members(db, "g1")}
        assert type(members["a1"].role).__name__ == "SupervisorRole"
        assert members["a1"].capabilities == ["lead"]
        assert getattr(members["a2"].role, "domain", None) == "tasks"
        endpoint = q_atproto.get_agent_atproto_endpoint(db, "a1", "bluesky")
        assert endpoint is not None
        assert endpoint.created_at == datetime.fromtimestamp(1766000000, UTC)
        assert (endpoint.session_id, json.loads(endpoint.config or "")) == ("sess1", {"pds": "x"})

        b1 = q_memory.get_block(db, "b1")
        b2 = q_memory.get_block(db, "b2")
        assert b1 is not None
        assert b2 is not None
        assert MemoryDocs(db).read_text("b1") == "I am the persona. I like tea."
        assert b1.updated_at == datetime(2025, 12, 27, 8, 0, tzinfo=UTC)
        assert b1.last_seq == 2
        assert b2.permission is MemoryPermission.READ_ONLY  # stored as 'read-only'
        assert b2.agent_id == "_constellation_"
        assert b2.embedding_model == "bge-small"
        (checkpoint,) = q_memory.list_checkpoints(db, "b1")
        assert checkpoint.up_to_seq == 1
        assert [u.seq for u in q_memory.get_updates_since(db, "b1", 0)] == [2]
        assert [a.agent_id for a in q_memory.list_block_shared_agents(db, "b2")] == ["a2"]

        e1, e2 = q_memory.get_archival_entry(db, "e1"), q_memory.get_archival_entry(db, "e2")
        assert e1 is not None
        assert e2 is not None
        assert e1.metadata == 5  # JSON `5`, which NUMERIC affinity stored as INTEGER
        assert (e2.metadata, e2.parent_entry_id, e2.chunk_index) == ({"n": 1.5}, "e1", 1)

        messages = q_message.get_messages_with_archived(db, "a1", 100, include_deleted=True)
        assert all(len(m.position) == 20 for m in messages)
        assert messages[-1].position == f"{int(rs.position(1)):020d}"
        m7 = q_message.get_message(db, "m0007", include_deleted=True)
        assert m7 is not None
        assert m7.is_deleted
        m0 = q_message.get_message(db, "m0000")
        assert m0 is not None
        assert (m0.source_metadata, m0.content_json, m0.is_archived) == (
            {"channel": 7},
            {"Text": "message 0"},
            True,
        )
        summaries = q_message.get_archive_summaries(db, "a1")
        assert [(s.id, s.previous_summary_id) for s in summaries] == [("s1", None), ("s2", "s1")]

        turn, mood = q_coord.get_state(db, "turn"), q_coord.get_state(db, "mood")
        assert turn is not None
        assert mood is not None
        assert (turn.value, mood.value) == (3, "calm")
        summary = q_coord.get_agent_summary(db, "a1")
        assert summary is not None
        assert summary.messages_covered == 0
        child = q_task.get_user_task(db, "t2")
        assert child is not None
        assert (child.parent_task_id, child.tags) == ("t1", ["x"])

        stats = vector.get_embedding_stats(db)
        assert stats.total_embeddings == 3
        hits = vector.knn_search(db, [1.0, 0.0, 0.5, 2.0], 1)
        assert [h.content_id for h in hits] == ["m0001"]
        scoped = vector.knn_search(db, [1.0, 0.0, 0.5, 2.0], 3, agent_id="a1")
        assert sorted(h.content_id for h in scoped) == ["b1", "e1", "m0001"]

        described = [i.description for i in report.issues]
        assert (
            "field `updated_at` transformed in 1 agents record: SQL datetime text -> canonical UTC"
            in described
        )
        assert (
            "field `position` transformed in 30 messages records: re-padded to 20 digits"
            in described
        )
        assert any("JSON number stored as INTEGER/REAL" in d for d in described)


def test_an_early_file_with_odd_values(tmp_path: Path) -> None:
    src = tmp_path / "old.db"
    conn = rs.build(src, upto=4)
    with conn:
        conn.execute(
            "INSERT INTO agents VALUES ('a','A',NULL,'p','m','s','{}','[]',NULL,'active',?,?)",
            (rs.RFC, rs.SQL_NOW),
        )
        conn.execute(
            "INSERT INTO agent_groups VALUES ('g','G',NULL,'pipeline','{}',?,?)", (rs.RFC, rs.RFC)
        )
        # The first 0001 stored roles as plain text ('supervisor', 'worker').
        conn.execute("INSERT INTO group_members VALUES ('g','a','worker',?)", (rs.RFC,))
        conn.execute(
            "INSERT INTO messages VALUES ('m','a','legacy_0_start',NULL,NULL,'Function','{}',NULL,"
            "'user_request',NULL,NULL,0,?)",
            (rs.SQL_NOW,),
        )
    conn.close()
    with ConstellationDb.open_in_memory() as db:
        report = import_rust_db(src, db)
        assert report.format == "rust pattern_db (migrations 0001-0004)"
        message = q_message.get_message(db, "m")
        assert message is not None
        assert (message.role.value, message.position, message.is_deleted) == (
            "user",
            "0" * 20,
            False,
        )
    problems = {i.description for i in report.issues if i.severity.value == "warning"}
    assert "messages row m.role holds 'Function', which this schema does not know" in problems
    assert "messages row m.position 'legacy_0_start' is not a snowflake position" in problems


def test_refuses_what_is_not_a_rust_file(tmp_path: Path) -> None:
    ours = tmp_path / "ours.db"
    ConstellationDb.open(ours).close()
    text = tmp_path / "text.db"
    text.write_text("hello" * 1000)
    with ConstellationDb.open_in_memory() as db:
        with pytest.raises(ImportFailed, match="has no _sqlx_migrations table"):
            import_rust_db(ours, db)
        with pytest.raises(ImportFailed, match="is not a SQLite database"):
            import_rust_db(text, db)
        with pytest.raises(ImportFailed, match="no file at"):
            import_rust_db(tmp_path / "missing.db", db)


def test_dry_run_and_clashes_change_nothing(
    rust_file: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    src, _counts = rust_file
    dest = tmp_path / "dest.db"
    with ConstellationDb.open(dest) as db:
        dry = import_rust_db(src, db, dry_run=True)
        assert _rows(db, "agents") == 0
        assert _rows(db, "migration_audit") == 0
        real = import_rust_db(src, db)
        assert dry.counts == real.counts
    digest = hashlib.sha256(dest.read_bytes()).hexdigest()
    with ConstellationDb.open(dest) as db, pytest.raises(ImportFailed, match="already exists"):
        import_rust_db(src, db)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest


def test_cli_import_rust_db(rust_file: tuple[Path, dict[str, int]], tmp_path: Path) -> None:
    src, counts = rust_file
    dest = tmp_path / "out" / "dest.db"
    code, output = run("import", "rust-db", str(src), str(dest), "--json")
    assert code == 0, output
    assert json.loads(output)["counts"]["messages"] == counts["messages"]
    code, output = run("import", "rust-db", str(src), str(src))
    assert code == 2
