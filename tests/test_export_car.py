"""Exporting v3 CAR files: the layout Rust reads, and export -> import giving equal rows."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import blake3
import libipld
import pytest

from pattern_db import ConstellationDb
from pattern_db.errors import InvalidData, NotFound
from pattern_db.importers import export_car, import_car
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import (
    Agent,
    AgentGroup,
    ArchivalEntry,
    ArchiveSummary,
    GroupMember,
    MemoryBlock,
    Message,
    PatternType,
    SpecialistRole,
)
from pattern_db.queries import agent as q_agent
from pattern_db.queries import memory as q_memory
from pattern_db.queries import message as q_message
from tests.car_support import loro_snapshot
from tests.test_cli import run

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
CARRIED = {
    "agents",
    "agent_groups",
    "group_members",
    "memory_blocks",
    "shared_block_agents",
    "archival_entries",
    "messages",
    "archive_summaries",
}
# Derived or bookkeeping tables: FTS shadows, the vector index, schema history, the audit.
NOT_COMPARED = (
    "messages_fts",
    "memory_blocks_fts",
    "archival_fts",
    "file_passages_fts",
    "sqlite_",
    "embedding",
    "schema_",
    "pattern_db_",
    "migration_audit",
)


def _populate(db: ConstellationDb, n_messages: int = 25) -> None:
    with db.transaction() as tx:
        for i, name in enumerate(("Pattern", "Entropy", "Flux")):
            q_agent.create_agent(
                tx,
                Agent(
                    id=f"a{i}",
                    name=name,
                    description="desc" if i else None,
                    model_provider="anthropic",
                    model_name="claude",
                    system_prompt=f"You are {name}.",
                    config={"max_messages": 50, "ratio": 1.5, "nested": {"x": [1, "2"]}},
                    enabled_tools=["context"],
                    tool_rules=[{"tool_name": "t", "rule_type": {"type": "ExitLoop"}}]
                    if i == 0
                    else None,
                    created_at=T0,
                    updated_at=T0 + timedelta(seconds=i),
                ),
            )
            text = f"block of {name} ✓"
            q_memory.create_block(
                tx,
                MemoryBlock(
                    id=f"b{i}",
                    agent_id=f"a{i}",
                    label="persona",
                    description="who",
                    char_limit=4000,
                    pinned=i == 1,
                    loro_snapshot=loro_snapshot(text),
                    content_preview=text,
                    metadata={"k": i} if i else None,
                    embedding_model="bge" if i == 2 else None,
                    frontier=b"\x01\x02",
                    last_seq=3,
                    created_at=T0,
                    updated_at=T0,
                ),
            )
            q_memory.create_archival_entry(
                tx, ArchivalEntry(id=f"e{i}", agent_id=f"a{i}", content="p", created_at=T0)
            )
            q_memory.create_archival_entry(
                tx,
                ArchivalEntry(
                    id=f"e{i}c",
                    agent_id=f"a{i}",
                    content="c",
                    metadata={"n": 1},
                    chunk_index=1,
                    parent_entry_id=f"e{i}",
                    created_at=T0,
                ),
            )
            q_message.create_messages(
                tx,
                [
                    Message(
                        id=f"m{i}_{j}",
                        agent_id=f"a{i}",
                        position=f"{(1 << 40) + j:020d}",
                        batch_id=f"{(1 << 40):020d}",
                        sequence_in_batch=j,
                        role="user" if j % 2 else "assistant",
                        content_json={"Text": f"hello {j}"}
                        if j % 3
                        else {"Parts": [{"Text": "x"}]},
                        content_preview=f"hello {j}",
                        batch_type="user_request" if j % 2 else None,
                        source="cli" if j % 2 else None,
                        source_metadata={"c": j} if j % 4 == 0 else None,
                        is_archived=j < 3,
                        is_deleted=j == 5,
                        created_at=T0 + timedelta(milliseconds=j),
                    )
                    for j in range(n_messages)
                ],
            )
            q_message.create_archive_summary(
                tx,
                ArchiveSummary(
                    id=f"s{i}",
                    agent_id=f"a{i}",
                    summary="one",
                    start_position="1",
                    end_position="2",
                    message_count=2,
                    created_at=T0,
                ),
            )
            q_message.create_archive_summary(
                tx,
                ArchiveSummary(
                    id=f"s{i}b",
                    agent_id=f"a{i}",
                    summary="two",
                    start_position="3",
                    end_position="4",
                    message_count=2,
                    previous_summary_id=f"s{i}",
                    depth=1,
                    created_at=T0,
                ),
            )
        q_agent.create_group(
            tx,
            AgentGroup(
                id="g1",
                name="Main",
                pattern_type=PatternType.SUPERVISOR,
                pattern_config={"leader_id": "a0"},
                created_at=T0,
                updated_at=T0,
            ),
        )
        q_agent.add_group_member(
            tx, GroupMember(group_id="g1", agent_id="a0", capabilities=["lead"], joined_at=T0)
        )
        q_agent.add_group_member(
            tx,
            GroupMember(
                group_id="g1", agent_id="a1", role=SpecialistRole(domain="tasks"), joined_at=T0
            ),
        )
        q_memory.create_shared_block_attachment(tx, "b0", "a1", "append", attached_at=T0)
        q_memory.create_shared_block_attachment(tx, "b2", "a0", "read_only", attached_at=T0)


def _tables(db: ConstellationDb) -> dict[str, list[Any]]:
    with db.reader() as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"
            )
        ]
        found = {}
        for name in names:
            if name.startswith(NOT_COMPARED):
                continue
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]
            rows = conn.execute(f"SELECT {', '.join(columns)} FROM {name}").fetchall()
            found[name] = sorted((tuple(_value(v) for v in row) for row in rows), key=repr)
    return found


def _value(cell: Any) -> Any:
    """JSON text compared by value: DAG-CBOR stores map keys sorted, so key order may change."""
    if isinstance(cell, str) and cell[:1] in "{[":
        try:
            return json.loads(cell)
        except ValueError:
            return cell
    return cell


def test_export_then_import_gives_equal_rows(tmp_path: Path) -> None:
    with ConstellationDb.open(tmp_path / "src.db") as src:
        _populate(src)
        report = export_car(src, tmp_path / "all.car")
        before = _tables(src)
    assert report.export_type == "Constellation"
    assert report.counts["messages"] == 75
    assert report.counts["agents"] == 3
    with ConstellationDb.open(tmp_path / "dst.db") as dst:
        imported = import_car(dst, tmp_path / "all.car")
        after = _tables(dst)
    assert imported.issues == []
    assert {t for t, rows in before.items() if rows} == CARRIED
    assert before.keys() == after.keys()
    for table in before:
        assert after[table] == before[table], table


@pytest.mark.parametrize(("scope", "agents", "messages"), [("agent", 1, 25), ("group", 2, 50)])
def test_agent_and_group_exports(tmp_path: Path, scope: str, agents: int, messages: int) -> None:
    with ConstellationDb.open(tmp_path / "src.db") as src:
        _populate(src)
        kwargs = {"agent_id": "a0"} if scope == "agent" else {"group_id": "g1"}
        report = export_car(src, tmp_path / "x.car", **kwargs)  # type: ignore[arg-type]
    assert report.export_type == ("Agent" if scope == "agent" else "Group")
    with ConstellationDb.open_in_memory() as dst:
        imported = import_car(dst, tmp_path / "x.car")
        assert imported.counts["agents"] == agents
        assert imported.counts["messages"] == messages
        if scope == "group":
            assert [m.agent_id for m in q_agent.get_group_members(dst, "g1")] == ["a0", "a1"]
            # b0 is shared with a1, a member; b2 (Flux's) is shared with a0 and comes along.
            assert q_memory.get_block(dst, "b2") is not None
            assert len(q_memory.list_all_shared_block_attachments(dst)) == 2


def test_file_is_rust_shaped_verified_and_private(tmp_path: Path) -> None:
    with ConstellationDb.open_in_memory() as src:
        _populate(src, n_messages=2500)
        report = export_car(src, tmp_path / "out" / "all.car")
    path = tmp_path / "out" / "all.car"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    header, blocks = libipld.decode_car(path.read_bytes())
    assert header["version"] == 1
    assert len(header["roots"]) == 1
    for cid in blocks:
        assert cid[:4] == bytes([0x01, 0x71, 0x1E, 0x20])
    raw = path.read_bytes()
    assert len(blocks) == report.blocks
    manifest = blocks[header["roots"][0]]
    assert manifest["version"] == 3
    assert manifest["export_type"] == "Constellation"
    assert manifest["stats"]["message_count"] == 7500
    chunks = [b for b in blocks.values() if isinstance(b, dict) and "messages" in b]
    assert sorted(b["message_count"] for b in chunks)[-1] == 1000
    assert len(chunks) == 9  # 2500 messages per agent: 1000 + 1000 + 500
    block = next(b for b in blocks.values() if isinstance(b, dict) and b.get("id") == "b0")
    assert block["frontier"] == [1, 2]
    assert raw.count(b"loro") >= 3
    # Every block hashes to its CID.
    pos = 0
    length, pos = _varint(raw, pos)
    pos += length
    while pos < len(raw):
        length, pos = _varint(raw, pos)
        cid, data = raw[pos : pos + 36], raw[pos + 36 : pos + length]
        assert cid[4:] == blake3.blake3(data).digest()
        assert len(data) <= 1_000_000
        pos += length


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def test_edited_block_exports_its_current_text(tmp_path: Path) -> None:
    with ConstellationDb.open(tmp_path / "src.db") as src:
        _populate(src, n_messages=1)
        docs = MemoryDocs(src)
        block = docs.create_block("a0", "notes", "one")
        docs.append(block.id, " two")
        docs.append(block.id, " three")
        docs.consolidate(block.id)
        docs.append(block.id, " four")
        export_car(src, tmp_path / "a.car", agent_id="a0")
    with ConstellationDb.open_in_memory() as dst:
        import_car(dst, tmp_path / "a.car")
        assert MemoryDocs(dst).read_text(block.id) == "one two three four"
        docs = MemoryDocs(dst)
        docs.append(block.id, " five")
        assert docs.read_text(block.id) == "one two three four five"


def test_bad_arguments(tmp_path: Path) -> None:
    with ConstellationDb.open_in_memory() as db:
        with pytest.raises(InvalidData, match="not both"):
            export_car(db, tmp_path / "x.car", agent_id="a", group_id="g")
        with pytest.raises(NotFound, match="agent not found: nobody"):
            export_car(db, tmp_path / "x.car", agent_id="nobody")
    assert list(tmp_path.iterdir()) == []


def test_cli_export_car(tmp_path: Path) -> None:
    db_path = tmp_path / "c.db"
    with ConstellationDb.open(db_path) as db:
        _populate(db, n_messages=3)
    code, output = run(
        "export", "car", str(db_path), str(tmp_path / "g.car"), "--group", "g1", "--json"
    )
    assert code == 0, output
    assert '"export_type": "Group"' in output
    code, output = run("export", "car", str(db_path), str(tmp_path / "all.car"))
    assert code == 0, output
    assert "exported" in output
    assert "bafyr4i" in output
    code, output = run("export", "car", str(tmp_path / "missing.db"), str(tmp_path / "m.car"))
    assert code == 1
    assert "no database at" in output
