"""queries.queue: the agent-to-agent message queue."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.codec import json_text
from pattern_db.ids import new_id
from pattern_db.models import Agent, MessageRole, QueuedMessage
from pattern_db.queries import queue as q
from pattern_db.queries.agent import delete_agent
from pattern_db.timeutil import now

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


@pytest.fixture
def agents(make_agent: MakeAgent) -> None:
    make_agent("a1")
    make_agent("a2")


def queued(message_id: str, **fields: object) -> QueuedMessage:
    fields.setdefault("target_agent_id", "a1")
    fields.setdefault("content", f"hello from {message_id}")
    fields.setdefault("created_at", T0)
    return QueuedMessage(id=message_id, **fields)  # type: ignore[arg-type]


def ids(messages: list[QueuedMessage]) -> list[str]:
    return [m.id for m in messages]


def test_create_and_get_every_column(db: ConstellationDb, agents: None) -> None:
    message = QueuedMessage(
        id="q1",
        target_agent_id="a1",
        source_agent_id="a2",
        content="please summarise",
        origin_json='{"type":"agent","id":"a2"}',
        metadata_json='{"price":1.50}',
        priority=7,
        created_at=T0,
        processed_at=T0 + timedelta(seconds=1),
        content_json='{"type":"text","text":"please summarise"}',
        metadata_json_full='{"trace":[1,2]}',
        batch_id="b1",
        role=MessageRole.ASSISTANT,
    )
    q.create_queued_message(db, message)
    assert q.get_queued_message(db, "q1") == message
    assert q.get_queued_message(db, "missing") is None
    with db.reader() as conn:
        stored = conn.execute(
            "SELECT metadata_json, created_at, processed_at FROM queued_messages"
        ).fetchall()
    # JSON text kept exactly as given; timestamps in the canonical format.
    assert stored == [
        ('{"price":1.50}', "2026-03-04T05:06:07.890123Z", "2026-03-04T05:06:08.890123Z")
    ]


def test_create_errors(db: ConstellationDb, agents: None) -> None:
    q.create_queued_message(db, queued("q1"))
    with pytest.raises(errors.AlreadyExists, match="queued message already exists: q1"):
        q.create_queued_message(db, queued("q1"))
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.create_queued_message(db, queued("q2", target_agent_id="ghost"))
    with pytest.raises(errors.ConstraintViolation):
        q.create_queued_message(db, queued("q3", origin_json="{not json"))
    with pytest.raises(errors.InvalidData, match="naive"):
        q.create_queued_message(db, queued("q4", created_at=datetime(2026, 1, 1)))


def test_pending_by_priority_then_age(db: ConstellationDb, agents: None) -> None:
    q.create_queued_message(db, queued("low-old", priority=0, created_at=T0))
    q.create_queued_message(db, queued("high-new", priority=5, created_at=T0 + timedelta(hours=1)))
    q.create_queued_message(db, queued("high-old", priority=5, created_at=T0))
    q.create_queued_message(db, queued("neg", priority=-3, created_at=T0 - timedelta(days=1)))
    q.create_queued_message(db, queued("done", priority=9, processed_at=T0))
    q.create_queued_message(db, queued("other", target_agent_id="a2", priority=9))
    assert ids(q.get_pending_messages(db, "a1")) == ["high-old", "high-new", "low-old", "neg"]
    assert ids(q.get_pending_messages(db, "a1", 2)) == ["high-old", "high-new"]
    assert ids(q.get_pending_messages(db, "a2")) == ["other"]
    assert q.get_pending_messages(db, "nobody") == []
    with pytest.raises(errors.InvalidData, match="limit"):
        q.get_pending_messages(db, "a1", -1)


def test_mark_processed(db: ConstellationDb, agents: None) -> None:
    q.create_queued_message(db, queued("q1"))
    q.create_queued_message(db, queued("q2"))
    before = now()
    q.mark_message_processed(db, "q1")
    after = now()
    first = q.get_queued_message(db, "q1")
    assert first is not None
    assert first.processed_at is not None
    assert before <= first.processed_at <= after
    assert ids(q.get_pending_messages(db, "a1")) == ["q2"]
    # Marking again keeps the first time.
    q.mark_message_processed(db, "q1", processed_at=after + timedelta(days=1))
    assert q.get_queued_message(db, "q1") == first
    q.mark_message_processed(db, "q2", processed_at=datetime(2026, 5, 1, 12, tzinfo=UTC))
    assert q.get_queued_message(db, "q2").processed_at == datetime(2026, 5, 1, 12, tzinfo=UTC)  # type: ignore[union-attr]
    with pytest.raises(errors.NotFound, match="queued message not found: missing"):
        q.mark_message_processed(db, "missing")
    with pytest.raises(errors.InvalidData, match="naive"):
        q.mark_message_processed(db, "q1", processed_at=datetime(2026, 1, 1))


def test_delete_old_processed_compares_to_the_minute(db: ConstellationDb, agents: None) -> None:
    current = now()
    q.create_queued_message(db, queued("3h", processed_at=current - timedelta(hours=3)))
    q.create_queued_message(db, queued("61m", processed_at=current - timedelta(minutes=61)))
    q.create_queued_message(db, queued("59m", processed_at=current - timedelta(minutes=59)))
    q.create_queued_message(db, queued("pending-old", created_at=current - timedelta(days=30)))
    assert q.delete_old_processed(db, 1) == 2
    assert q.get_queued_message(db, "3h") is None
    assert q.get_queued_message(db, "61m") is None
    assert q.get_queued_message(db, "59m") is not None
    # Pending messages are never purged, however old.
    assert q.delete_old_processed(db, 0) == 1
    assert ids(q.get_pending_messages(db, "a1")) == ["pending-old"]
    assert q.delete_old_processed(db, 0.5) == 0
    with pytest.raises(errors.InvalidData, match="hours"):
        q.delete_old_processed(db, -1)


def test_deleting_an_agent_cascades_its_queue(db: ConstellationDb, agents: None) -> None:
    # The reference's plain FK made this delete fail; ours cascades (schema comment in 0001).
    q.create_queued_message(db, queued("to-a1"))
    q.create_queued_message(db, queued("to-a2", target_agent_id="a2", source_agent_id="a1"))
    assert delete_agent(db, "a1") is True
    assert q.get_queued_message(db, "to-a1") is None
    # source_agent_id is not a foreign key: a message a1 sent stays queued for a2.
    assert ids(q.get_pending_messages(db, "a2")) == ["to-a2"]


def test_queue_calls_inside_a_transaction(db: ConstellationDb, agents: None) -> None:
    with db.transaction() as tx:
        q.create_queued_message(tx, queued("q1"))
        assert ids(q.get_pending_messages(tx, "a1")) == ["q1"]
        q.mark_message_processed(tx, "q1")
    assert q.get_pending_messages(db, "a1") == []


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10,
)  # fmt: skip
_json_text = st.none() | _json.map(json_text)
_when = st.datetimes(timezones=st.just(UTC))


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    message=st.builds(
        QueuedMessage,
        target_agent_id=st.just("a1"),
        source_agent_id=st.none() | _text,
        content=_text,
        origin_json=_json_text,
        metadata_json=_json_text,
        priority=st.integers(-(2**63), 2**63 - 1),
        created_at=_when,
        processed_at=st.none() | _when,
        content_json=_json_text,
        metadata_json_full=_json_text,
        batch_id=st.none() | _text,
        role=st.sampled_from(MessageRole),
    )
)
def test_round_trip(db: ConstellationDb, make_agent: MakeAgent, message: QueuedMessage) -> None:
    with db.reader() as conn:
        if conn.execute("SELECT 1 FROM agents WHERE id = 'a1'").fetchone() is None:
            make_agent("a1")
    message = msgspec.structs.replace(message, id=new_id("queue"))
    q.create_queued_message(db, message)
    assert q.get_queued_message(db, message.id) == message
