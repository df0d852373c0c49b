"""One valid record per table, with the parent rows they need, for schema-wide tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from pattern_db import models as m
from pattern_db.codec import codec_for
from pattern_db.connection import Executor

T0 = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

# Parents first: inserting in this order satisfies every foreign key.
SAMPLES: dict[str, msgspec.Struct] = {
    "agents": m.Agent(
        id="a1", name="a1", model_provider="anthropic", model_name="m", system_prompt="s"
    ),
    "agent_groups": m.AgentGroup(id="g1", name="g1", pattern_type=m.PatternType.DYNAMIC),
    "group_members": m.GroupMember(group_id="g1", agent_id="a1", role=m.RegularRole()),
    "agent_atproto_endpoints": m.AgentAtprotoEndpoint(agent_id="a1", did="did:plc:x"),
    "memory_blocks": m.MemoryBlock(id="b1", agent_id="a1", label="persona", description="d"),
    "memory_block_checkpoints": m.MemoryBlockCheckpoint(block_id="b1", snapshot=b"s"),
    "memory_block_updates": m.MemoryBlockUpdate(
        block_id="b1", seq=1, update_blob=b"u", byte_size=1
    ),
    "shared_block_agents": m.SharedBlockAttachment(block_id="b1", agent_id="a1"),
    "archival_entries": m.ArchivalEntry(id="ar1", agent_id="a1", content="c"),
    "messages": m.Message(id="msg1", agent_id="a1", content_json={"text": "hi"}),
    "archive_summaries": m.ArchiveSummary(
        id="s1",
        agent_id="a1",
        summary="s",
        start_position="0" * 20,
        end_position="1".zfill(20),
        message_count=2,
    ),
    "queued_messages": m.QueuedMessage(id="q1", target_agent_id="a1", content="c"),
    "activity_events": m.ActivityEvent(id="e1", event_type=m.ActivityEventType.SYSTEM),
    "agent_summaries": m.AgentSummary(agent_id="a1", summary="s"),
    "constellation_summaries": m.ConstellationSummary(
        id="cs1", period_start=T0, period_end=T0, summary="s"
    ),
    "notable_events": m.NotableEvent(id="n1", event_type="x", description="d"),
    "coordination_state": m.CoordinationState(key="k", value={"v": 1}),
    "coordination_tasks": m.CoordinationTask(id="ct1", description="d"),
    "handoff_notes": m.HandoffNote(id="h1", from_agent="a1", content="c"),
    "data_sources": m.DataSource(id="src1", name="src1", source_type=m.SourceType.MANUAL),
    "agent_data_sources": m.AgentDataSource(agent_id="a1", source_id="src1"),
    "tasks": m.Task(id="t1", title="t"),
    "events": m.Event(id="ev1", title="t", starts_at=T0),
    "event_occurrences": m.EventOccurrence(id="o1", event_id="ev1", starts_at=T0),
    "folders": m.Folder(
        id="f1", name="f1", path_type=m.FolderPathType.VIRTUAL, embedding_model="e"
    ),
    "folder_files": m.FolderFile(id="ff1", folder_id="f1", name="a.txt"),
    "file_passages": m.FilePassage(id="p1", file_id="ff1", content="c"),
    "folder_attachments": m.FolderAttachment(folder_id="f1", agent_id="a1"),
    "migration_audit": m.MigrationAudit(id="mig1", source_file="x.car", source_version=3),
}

# Tables without a record type, as column -> value.
RAW_SAMPLES: dict[str, dict[str, Any]] = {
    "embedding_meta": {
        "id": 1,
        "model": "all-MiniLM-L6-v2",
        "dimensions": 384,
        "metric": "cosine",
        "created_at": "2026-01-02T03:04:05.678901Z",
        "updated_at": "2026-01-02T03:04:05.678901Z",
    }
}


def sample_params(table: str) -> dict[str, Any]:
    """Return the bound parameters of the sample row of `table`, keyed by column."""
    if table in RAW_SAMPLES:
        return dict(RAW_SAMPLES[table])
    record = SAMPLES[table]
    return codec_for(type(record)).encode_named(record)


def insert_row(db: Executor, table: str, params: dict[str, Any]) -> None:
    """Insert one row given as column -> value."""
    columns = ", ".join(params)
    marks = ", ".join(f":{c}" for c in params)
    with db.writer() as conn:
        conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", params)


def insert_parents(db: Executor, table: str) -> None:
    """Insert the sample rows of every table listed before `table` (its possible parents)."""
    for name in SAMPLES:
        if name == table:
            return
        insert_row(db, name, sample_params(name))
