"""The schema: exact snapshot, models matching tables, and every CHECK refusing a bad value."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from pattern_db import ConstellationDb, errors
from pattern_db.codec import codec_for
from tests.samples import RAW_SAMPLES, SAMPLES, insert_parents, insert_row, sample_params
from tests.schema_snapshot import schema_text

SNAPSHOT = Path(__file__).with_name("schema_snapshot.sql")

EXPECTED_TABLES = {
    # the seed's 27
    "agents", "agent_groups", "group_members", "memory_blocks", "memory_block_checkpoints",
    "memory_block_updates", "shared_block_agents", "archival_entries", "messages",
    "archive_summaries", "activity_events", "agent_summaries", "constellation_summaries",
    "notable_events", "coordination_state", "coordination_tasks", "handoff_notes",
    "data_sources", "agent_data_sources", "tasks", "events", "event_occurrences", "folders",
    "folder_files", "file_passages", "folder_attachments", "migration_audit",
    # later Rust migrations, our embedding provenance and migration record
    "queued_messages", "agent_atproto_endpoints", "embedding_meta", "embeddings",
    "pattern_db_migrations",
}  # fmt: skip
FTS_TABLES = {"messages_fts", "memory_blocks_fts", "archival_fts", "file_passages_fts"}


def _names(db: ConstellationDb, kind: str) -> set[str]:
    with db.reader() as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = ? AND name NOT LIKE 'sqlite_%'", (kind,)
        ).fetchall()
    return {str(r[0]) for r in rows}


def test_fresh_schema_matches_snapshot(db: ConstellationDb) -> None:
    assert schema_text(db) == SNAPSHOT.read_text()


def test_tables_and_triggers(db: ConstellationDb) -> None:
    tables = _names(db, "table")
    fts_shadow = {t for t in tables if any(t.startswith(f"{f}_") for f in FTS_TABLES)}
    assert tables - fts_shadow - FTS_TABLES == EXPECTED_TABLES
    assert tables >= FTS_TABLES
    triggers = _names(db, "trigger")
    fts_sync = {
        f"{prefix}_{op}"
        for prefix in ("messages", "memory_blocks", "archival", "file_passages")
        for op in ("ai", "ad", "au")
    }
    # Vectors follow their content: removed with it, re-homed when it is stored or moved.
    vector_sync = {
        f"{prefix}_vectors_{op}"
        for prefix in ("messages", "memory_blocks", "archival", "file_passages")
        for op in ("ai", "ad", "au")
    } | {"messages_vectors_tombstone", "folder_files_vectors_au"}
    assert triggers == fts_sync | vector_sync


@pytest.mark.parametrize("table", sorted(SAMPLES))
def test_model_fields_are_the_table_columns(db: ConstellationDb, table: str) -> None:
    with db.reader() as conn:
        columns = {
            str(row[1])
            for row in conn.execute(f"PRAGMA table_xinfo({table})")
            if row[6] == 0  # hidden = 0: not a generated column
        }
    record_type = type(SAMPLES[table])
    assert set(codec_for(record_type).columns) == columns


def test_every_sample_row_is_valid(db: ConstellationDb) -> None:
    for table in [*SAMPLES, *RAW_SAMPLES]:
        insert_row(db, table, sample_params(table))
    with db.reader() as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


_COLUMN_CHECK = re.compile(r"^\s+(\w+) [A-Z ]+?(?:DEFAULT \S+ )?CHECK \((.*)\),?$", re.M)


def _column_checks() -> list[tuple[str, str, str]]:
    """(table, column, check text) for every column CHECK in the shipped schema."""
    found = []
    for block in re.split(r"\nCREATE TABLE ", SNAPSHOT.read_text()):
        table = block.split(" ", 1)[0].split("\n")[0]
        if table in SAMPLES or table in RAW_SAMPLES:
            found += [(table, col, check) for col, check in _COLUMN_CHECK.findall(block)]
    return found


def _bad_value(check: str) -> object:
    if "GLOB '[0-9][0-9][0-9][0-9]-" in check:
        return "2026-01-02 03:04:05"  # legacy text: not the canonical form
    if "json_valid" in check:
        return '{"unclosed": '
    if "length(" in check:
        return "123"  # a position that is not 20 digits
    if "IN (0, 1)" in check:
        return 2
    if " IN (" in check:
        return "not-a-member"
    if "BETWEEN" in check:
        return 0
    if ">= 0" in check:
        return -1
    if "> 0" in check:
        return 0
    if "= 1" in check:
        return 2
    raise AssertionError(f"no bad value known for CHECK ({check})")


CHECKS = _column_checks()


def test_the_schema_has_the_expected_number_of_checks() -> None:
    # Every timestamp, JSON, enum, boolean, position and range column is checked.
    assert len(CHECKS) >= 120


@pytest.mark.parametrize(
    ("table", "column", "check"), CHECKS, ids=[f"{t}.{c}" for t, c, _ in CHECKS]
)
def test_every_check_rejects_a_bad_value(
    db: ConstellationDb, table: str, column: str, check: str
) -> None:
    insert_parents(db, table)
    params = sample_params(table)
    params[column] = _bad_value(check)
    with pytest.raises(errors.ConstraintViolation, match="CHECK constraint failed"):
        insert_row(db, table, params)
    with db.reader() as conn:
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchall() == [(0,)]


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("tasks", "parent_task_id", "t1"),  # a task cannot be its own parent
        ("events", "ends_at", "2025-01-01T00:00:00.000000Z"),  # ends before it starts
        ("group_members", "role", '{"kind": "supervisor"}'),  # untagged role
        ("group_members", "role", "5"),  # not an object
        ("agents", "config", b"{}"),  # BLOB in a STRICT TEXT column
    ],
)
def test_table_level_and_type_checks(
    db: ConstellationDb, table: str, column: str, value: object
) -> None:
    insert_parents(db, table)
    params = sample_params(table)
    params[column] = value
    with pytest.raises(errors.ConstraintViolation):
        insert_row(db, table, params)


def test_json_text_is_kept_exactly_as_written(db: ConstellationDb) -> None:
    agent = msgspec.structs.replace(
        SAMPLES["agents"],  # type: ignore[type-var]
        config=msgspec.Raw(b'{"t": 1.50, "n": 10}'),
    )
    params = codec_for(type(agent)).encode_named(agent)
    insert_row(db, "agents", params)
    with db.reader() as conn:
        row = conn.execute("SELECT config, typeof(config) FROM agents").fetchone()
    assert row == ('{"t": 1.50, "n": 10}', "text")


@pytest.mark.parametrize(
    ("value", "expected_type"),
    [(5, int), ("5", str), (1.5, float), (True, bool), (None, type(None)), ([1, "a"], list)],
)
def test_json_scalars_keep_their_type(
    db: ConstellationDb, value: object, expected_type: type
) -> None:
    from pattern_db.models import CoordinationState

    codec = codec_for(CoordinationState)
    insert_row(
        db, "coordination_state", codec.encode_named(CoordinationState(key="k", value=value))
    )
    with db.reader() as conn:
        row = conn.execute(f"SELECT {codec.column_list} FROM coordination_state").fetchone()
    decoded = codec.decode(row)
    assert decoded.value == value
    assert type(decoded.value) is expected_type
