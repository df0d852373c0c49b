"""One validation path: the same bad input gets the same InvalidData in every function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec
import numpy as np
import pytest

from pattern_db import ConstellationDb, fts, vector
from pattern_db.errors import AlreadyExists, InvalidData, NotFound
from pattern_db.models import (
    Agent,
    ArchivalEntry,
    ContextLengthCondition,
    MemoryBlock,
    ModelRoutingConfig,
    ModelRoutingRule,
    TimeWindowCondition,
)
from pattern_db.queries import agent as agent_q
from pattern_db.queries import coordination as coordination_q
from pattern_db.queries import memory as memory_q
from pattern_db.queries import message as message_q
from pattern_db.queries import queue as queue_q
from pattern_db.queries import stats as stats_q
from pattern_db.queries import task as task_q
from pattern_db.search import ContentFilter, search

Call = Callable[[ConstellationDb], Any]


def _agent(**fields: Any) -> Agent:
    return Agent(
        **{"id": "a1", "name": "Pattern", "model_provider": "p", "model_name": "m", **fields}
    )


UNKNOWN_ENUMS: dict[str, Call] = {
    "list agents by status": lambda db: agent_q.list_agents_by_status(db, "asleep"),
    "update agent status": lambda db: agent_q.update_agent_status(db, "a1", "asleep"),
    "create agent": lambda db: agent_q.create_agent(db, _agent(id="a2", name="b", status="x")),
    "blocks by type": lambda db: memory_q.list_blocks_by_type(db, "a1", "scratch"),
    "coordination tasks": lambda db: coordination_q.get_tasks_by_status(db, "someday"),
    "user task priority": lambda db: task_q.update_user_task_priority(db, "t1", "asap"),
    "activity importance": lambda db: coordination_q.get_recent_activity_by_importance(
        db, 5, "huge"
    ),
    "vector content type": lambda db: vector.knn_search(db, [1.0, 0.0], 1, "tweet"),
    "fts mode": lambda db: fts.search_messages(db, "x", mode="regex"),
    "search mode": lambda db: search(db).text("x").mode("psychic"),
}


@pytest.mark.parametrize("call", UNKNOWN_ENUMS.values(), ids=list(UNKNOWN_ENUMS))
def test_an_unknown_enum_value_is_invalid_data_listing_the_choices(
    db: ConstellationDb, call: Call
) -> None:
    agent_q.create_agent(db, _agent())
    vector.ensure_embeddings_table(db, 2)
    with pytest.raises(InvalidData, match="; expected one of: "):
        call(db)


NEGATIVE_LIMITS: dict[str, Call] = {
    "messages": lambda db: message_q.get_messages(db, "a1", -1),
    "message summaries": lambda db: message_q.get_message_summaries(db, "a1", -1),
    "archival entries": lambda db: memory_q.list_archival_entries(db, "a1", -1),
    "archival offset": lambda db: memory_q.list_archival_entries(db, "a1", 5, -1),
    "recent activity": lambda db: coordination_q.get_recent_activity(db, -1),
    "agent activity": lambda db: coordination_q.get_agent_activity(db, "a1", -1),
    "notable events": lambda db: coordination_q.get_notable_events(db, -1),
    "constellation summaries": lambda db: coordination_q.list_constellation_summaries(db, -1),
    "queue": lambda db: queue_q.get_pending_messages(db, "a1", -1),
    "most active agents": lambda db: stats_q.get_most_active_agents(db, -1),
    "fts": lambda db: fts.search_messages(db, "x", limit=-1),
    "hybrid": lambda db: search(db).text("x").limit(-1),
    "knn": lambda db: vector.knn_search(db, [1.0, 0.0], -1),
}


@pytest.mark.parametrize("call", NEGATIVE_LIMITS.values(), ids=list(NEGATIVE_LIMITS))
def test_a_negative_count_is_refused_never_read_as_no_limit(
    db: ConstellationDb, call: Call
) -> None:
    vector.ensure_embeddings_table(db, 2)
    with pytest.raises(InvalidData, match=r">= 0|between 0"):
        call(db)


def test_pending_stats_of_an_unknown_block_is_not_found(db: ConstellationDb) -> None:
    with pytest.raises(NotFound, match="memory block not found: nope"):
        memory_q.get_pending_update_stats(db, "nope")


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_names_and_labels_are_refused(db: ConstellationDb, blank: str) -> None:
    with pytest.raises(InvalidData, match=r"Agent.name must not be empty"):
        agent_q.create_agent(db, _agent(name=blank))
    agent_q.create_agent(db, _agent())
    with pytest.raises(InvalidData, match=r"MemoryBlock.label must not be empty"):
        memory_q.create_block(db, MemoryBlock(agent_id="a1", label=blank, description="d"))
    assert agent_q.list_agents(db) == [agent_q.get_agent(db, "a1")]


def test_naive_times_are_refused_as_text_and_as_datetimes(db: ConstellationDb) -> None:
    agent_q.create_agent(db, _agent())
    for naive in ("2026-01-01 10:00:00", "2026-01-01T10:00:00.000000", datetime(2026, 1, 1)):
        with pytest.raises(InvalidData, match=r"time zone|naive datetime"):
            coordination_q.get_recent_activity_since(db, naive, 5)  # type: ignore[arg-type]
        with pytest.raises(InvalidData, match=r"time zone|naive datetime"):
            memory_q.create_archival_entry(
                db,
                ArchivalEntry(agent_id="a1", content="x", created_at=naive),  # type: ignore[arg-type]
            )
    zoned = coordination_q.get_recent_activity_since(db, "2026-01-01T10:00:00+01:00", 5)
    assert zoned == []


@pytest.mark.parametrize(
    "bad",
    [{"x": float("nan")}, {"x": [1.0, float("inf")]}, {"x": {1, 2}}, {"x": frozenset()}],
)
def test_json_that_cannot_round_trip_is_refused(db: ConstellationDb, bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidData, match="JSON"):
        agent_q.create_agent(db, _agent(config=bad))
    agent_q.create_agent(db, _agent())
    with pytest.raises(InvalidData, match="JSON"):
        message_q.update_message_content(db, "m1", bad)
    assert agent_q.get_agent(db, "a1") == agent_q.get_agent(db, "a1")


def test_routing_counters_are_unsigned_as_in_rust() -> None:
    with pytest.raises(InvalidData, match="max_retries must be >= 0"):
        ModelRoutingConfig(max_retries=-1)
    with pytest.raises(InvalidData, match="min_tokens must be >= 0"):
        ContextLengthCondition(min_tokens=-5)
    with pytest.raises(InvalidData, match="end_hour must be between 0 and 23"):
        TimeWindowCondition(start_hour=1, end_hour=24)
    with pytest.raises(InvalidData, match="max_tokens_override"):
        ModelRoutingRule(condition=ContextLengthCondition(min_tokens=1), model="m",
                         max_tokens_override=-1)  # fmt: skip
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"max_retries": -1}, ModelRoutingConfig)
    assert ModelRoutingConfig(max_retries=0).max_retries == 0


# -- values the driver cannot bind (issue 8, item 8) --------------------------------------------

LONE = "a\ud800b"


def test_a_lone_surrogate_in_an_id_or_filter_is_invalid_data(db: ConstellationDb) -> None:
    vector.ensure_embeddings_table(db, 2)
    for call in (
        lambda: agent_q.get_agent(db, LONE),
        lambda: agent_q.create_agent(db, _agent(id=LONE)),
        lambda: message_q.get_messages(db, LONE),
        lambda: vector.knn_search(db, [1.0, 0.0], 3, agent_id=LONE),
        lambda: vector.insert_embedding(db, "message", LONE, [1.0, 0.0]),
        lambda: search(db).text("x").filter(ContentFilter.all(LONE)).execute(),
    ):
        with pytest.raises(InvalidData, match="lone surrogate"):
            call()
    # Search text is text the user typed: a lone surrogate is replaced, never an error.
    assert fts.search_all(db, LONE, "a1") == []


@pytest.mark.parametrize(
    "vec",
    [[[1.0, 0.0], [1.0]], [1.0, 10**400], [1.0, "x"], [[1.0, 0.0]], {"a": 1}],
    ids=["ragged", "huge int", "string", "nested", "dict"],
)
def test_a_malformed_vector_is_invalid_data(db: ConstellationDb, vec: object) -> None:
    vector.ensure_embeddings_table(db, 2)
    with pytest.raises(InvalidData):
        vector.insert_embedding(db, "message", "m1", vec)  # type: ignore[arg-type]
    with pytest.raises(InvalidData):
        vector.knn_search(db, vec, 3)  # type: ignore[arg-type]
    with pytest.raises(InvalidData):
        vector.insert_embeddings(db, "message", ["m1", "m2"], [vec, vec])  # type: ignore[list-item]
    assert vector.get_embedding_stats(db).total_embeddings == 0
    assert np.asarray([1.0, 0.0]).shape == (2,)


def test_an_integer_beyond_64_bits_is_invalid_data(db: ConstellationDb) -> None:
    agent_q.create_agent(db, _agent())
    with pytest.raises(InvalidData, match="64-bit"):
        memory_q.create_block(
            db, MemoryBlock(agent_id="a1", label="x", description="d", char_limit=2**70)
        )
    with pytest.raises(AlreadyExists):
        agent_q.create_agent(db, _agent())
