"""queries.stats: live counts and the most active agents."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import pytest

from pattern_db import ConstellationDb, errors
from pattern_db.codec import codec_for
from pattern_db.models import (
    Agent,
    AgentActivity,
    AgentGroup,
    ArchivalEntry,
    ConstellationStats,
    MemoryBlock,
    Message,
    PatternType,
)
from pattern_db.queries import message as mq
from pattern_db.queries import stats as q
from pattern_db.queries.agent import create_group

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def insert(db: ConstellationDb, table: str, record: msgspec.Struct) -> None:
    # Blocks and archival entries belong to another module; a plain insert keeps this test
    # about the counting only.
    codec = codec_for(type(record))
    with db.writer() as conn:
        conn.execute(codec.insert_sql(table), codec.encode(record))


def messages(agent_id: str, count: int, start: int) -> list[Message]:
    return [
        Message(
            id=f"{agent_id}-{n}",
            agent_id=agent_id,
            position=f"{start + n:020d}",
            content_json={"text": "hi"},
            created_at=T0,
        )
        for n in range(count)
    ]


def test_empty_database(db: ConstellationDb) -> None:
    assert q.get_stats(db) == ConstellationStats()
    assert q.get_most_active_agents(db) == []


def test_live_counts(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    make_agent("a2")
    create_group(db, AgentGroup(id="g1", name="g1", pattern_type=PatternType.DYNAMIC))
    mq.create_messages(db, messages("a1", 5, 0))
    mq.archive_messages(db, "a1", f"{2:020d}")  # archived messages still count
    mq.delete_message(db, "a1-4")  # tombstones do not
    insert(db, "memory_blocks", MemoryBlock(id="b1", agent_id="a1", label="persona"))
    insert(db, "memory_blocks", MemoryBlock(id="b2", agent_id="a1", label="old", is_active=False))
    insert(db, "memory_blocks", MemoryBlock(id="b3", agent_id="_constellation_", label="org"))
    insert(db, "archival_entries", ArchivalEntry(id="e1", agent_id="a1", content="x"))
    assert q.get_stats(db) == ConstellationStats(
        agent_count=2,
        group_count=1,
        message_count=4,
        memory_block_count=2,
        archival_entry_count=1,
    )
    # The connection-level stats count every row; these count what is live.
    every_row = db.stats()
    assert (every_row.message_count, every_row.memory_block_count) == (5, 3)


def test_most_active_agents(db: ConstellationDb, make_agent: MakeAgent) -> None:
    for agent_id, name in (("a1", "zed"), ("a2", "amy"), ("a3", "bob"), ("a4", "quiet")):
        make_agent(agent_id, name=name)
    mq.create_messages(db, messages("a1", 3, 0) + messages("a2", 3, 100) + messages("a3", 4, 200))
    mq.delete_messages(db, "a3", f"{202:020d}")  # a3 drops to 2 live-or-archived
    mq.archive_messages(db, "a1", f"{2:020d}")  # archived still counts for a1
    assert q.get_most_active_agents(db) == [
        AgentActivity(agent_id="a2", name="amy", message_count=3),
        AgentActivity(agent_id="a1", name="zed", message_count=3),
        AgentActivity(agent_id="a3", name="bob", message_count=2),
        AgentActivity(agent_id="a4", name="quiet", message_count=0),
    ]
    assert [a.name for a in q.get_most_active_agents(db, 2)] == ["amy", "zed"]
    assert q.get_most_active_agents(db, 0) == []
    with pytest.raises(errors.InvalidData, match="limit"):
        q.get_most_active_agents(db, -1)


def test_stats_inside_a_transaction_see_its_writes(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    with db.transaction() as tx:
        mq.create_messages(tx, messages("a1", 2, 0))
        assert q.get_stats(tx).message_count == 2
        assert q.get_most_active_agents(tx)[0].message_count == 2
