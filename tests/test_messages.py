"""queries.message: messages, batches, archiving, tombstones, archive summaries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.codec import codec_for
from pattern_db.ids import new_id
from pattern_db.models import (
    Agent,
    ArchiveSummary,
    BatchType,
    Message,
    MessageRole,
    MessageSummary,
)
from pattern_db.queries import message as q
from pattern_db.queries.agent import delete_agent
from pattern_db.queries.preview import preview_of

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


def pos(n: int) -> str:
    return f"{n:020d}"


def msg(message_id: str, n: int, agent_id: str = "a1", **fields: object) -> Message:
    """A message at position n, its text naming it."""
    fields.setdefault("content_json", {"type": "text", "text": f"message {message_id}"})
    fields.setdefault("content_preview", f"message {message_id}")
    fields.setdefault("created_at", T0)
    return Message(id=message_id, agent_id=agent_id, position=pos(n), **fields)  # type: ignore[arg-type]


def ids(messages: list[Message]) -> list[str]:
    return [m.id for m in messages]


@pytest.fixture
def a1(make_agent: MakeAgent) -> Agent:
    return make_agent("a1")


def column(db: ConstellationDb, sql: str, *params: object) -> list[tuple[object, ...]]:
    with db.reader() as conn:
        return conn.execute(sql, params).fetchall()


# -- create / get ------------------------------------------------------------------------------


def test_create_and_get_every_column(db: ConstellationDb, a1: Agent) -> None:
    message = Message(
        id="m1",
        agent_id="a1",
        position=pos(42),
        batch_id="b1",
        sequence_in_batch=3,
        role=MessageRole.TOOL,
        content_json={"type": "tool_response", "score": 1.50, "ok": True, "items": [1, None]},
        content_preview="the tool answered",
        batch_type=BatchType.AGENT_TO_AGENT,
        source="discord",
        source_metadata={"channel": "general", "price": "1.50"},
        is_archived=True,
        is_deleted=False,
        created_at=T0,
    )
    q.create_message(db, message)
    assert q.get_message(db, "m1") == message
    assert q.get_message(db, "missing") is None
    # The record holds Python values; the column holds msgspec's JSON text, kept as TEXT.
    assert column(
        db, "SELECT content_json, typeof(content_json), created_at FROM messages WHERE id = 'm1'"
    ) == [
        (
            '{"type":"tool_response","score":1.5,"ok":true,"items":[1,null]}',
            "text",
            "2026-03-04T05:06:07.890123Z",
        )
    ]


def test_json_text_stays_exactly_as_written(db: ConstellationDb, a1: Agent) -> None:
    params = codec_for(Message).encode_named(msg("m1", 1))
    params["content_json"] = '{"price": 1.50, "n": 5}'
    with db.writer() as conn:
        conn.execute(
            f"INSERT INTO messages ({', '.join(params)}) "
            f"VALUES ({', '.join(':' + c for c in params)})",
            params,
        )
    got = q.get_message(db, "m1")
    assert got is not None
    assert got.content_json == {"price": 1.5, "n": 5}
    assert column(db, "SELECT content_json FROM messages") == [('{"price": 1.50, "n": 5}',)]


def test_scalar_json_content(db: ConstellationDb, a1: Agent) -> None:
    q.create_message(db, msg("m1", 1, content_json="just text"))
    q.create_message(db, msg("m2", 2, content_json=None))
    assert q.get_message(db, "m1").content_json == "just text"  # type: ignore[union-attr]
    assert q.get_message(db, "m2").content_json is None  # type: ignore[union-attr]
    assert column(db, "SELECT content_json FROM messages ORDER BY id") == [
        ('"just text"',),
        ("null",),
    ]


def test_create_errors(db: ConstellationDb, a1: Agent) -> None:
    q.create_message(db, msg("m1", 1))
    with pytest.raises(errors.AlreadyExists, match="message already exists: m1"):
        q.create_message(db, msg("m1", 2))
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.create_message(db, msg("m2", 2, agent_id="ghost"))
    fullwidth_digits = "\uff11\uff12"
    for bad in ("12x", "", "-1", "1" * 21, str(1 << 64), fullwidth_digits):
        with pytest.raises(errors.InvalidData, match="position"):
            q.create_message(db, Message(id="m3", agent_id="a1", position=bad, content_json=1))
    assert ids(q.get_messages(db, "a1")) == ["m1"]


def test_unpadded_positions_are_repadded(db: ConstellationDb, a1: Agent) -> None:
    q.create_message(db, Message(id="m1", agent_id="a1", position="123", content_json=1))
    q.create_message(db, Message(id="m2", agent_id="a1", position=2**64 - 1, content_json=1))  # type: ignore[arg-type]
    assert column(db, "SELECT position FROM messages ORDER BY position") == [
        ("00000000000000000123",),
        ("18446744073709551615",),
    ]


# -- reading in position order -----------------------------------------------------------------


def test_get_messages_newest_first(db: ConstellationDb, a1: Agent, make_agent: MakeAgent) -> None:
    make_agent("a2")
    # Inserted out of order, and with positions whose unpadded text would sort wrongly.
    for message_id, n in (("m9", 9), ("m10", 10), ("m100", 100), ("m2", 2)):
        q.create_message(db, msg(message_id, n))
    q.create_message(db, msg("other", 1000, agent_id="a2"))
    assert ids(q.get_messages(db, "a1")) == ["m100", "m10", "m9", "m2"]
    assert ids(q.get_messages(db, "a1", 2)) == ["m100", "m10"]
    assert q.get_messages(db, "a1", 0) == []
    assert q.get_messages(db, "nobody") == []
    with pytest.raises(errors.InvalidData, match="limit"):
        q.get_messages(db, "a1", -1)


def test_message_archived_before_position_is_not_returned(db: ConstellationDb, a1: Agent) -> None:
    for n in range(1, 6):
        q.create_message(db, msg(f"m{n}", n))
    # Strict: the message at the boundary stays live.
    assert q.archive_messages(db, "a1", pos(3)) == 2
    assert q.archive_messages(db, "a1", pos(3)) == 0
    assert ids(q.get_messages(db, "a1")) == ["m5", "m4", "m3"]
    assert ids(q.get_messages_with_archived(db, "a1")) == ["m5", "m4", "m3", "m2", "m1"]
    assert q.get_message(db, "m1").is_archived is True  # type: ignore[union-attr]
    assert q.count_messages(db, "a1") == 3
    assert q.count_all_messages(db, "a1") == 5
    assert ids(q.get_messages_after(db, "a1", pos(0))) == ["m3", "m4", "m5"]
    assert [s.id for s in q.get_message_summaries(db, "a1")] == ["m5", "m4", "m3"]
    # Unpadded and integer positions mean the same place.
    assert q.archive_messages(db, "a1", 4) == 1
    assert q.archive_messages(db, "a1", "5") == 1
    assert ids(q.get_messages(db, "a1")) == ["m5"]
    with pytest.raises(errors.InvalidData):
        q.archive_messages(db, "a1", "five")


def test_get_messages_after_is_ascending_and_strict(db: ConstellationDb, a1: Agent) -> None:
    for n in (5, 7, 10, 11, 300):
        q.create_message(db, msg(f"m{n}", n))
    assert ids(q.get_messages_after(db, "a1", pos(7))) == ["m10", "m11", "m300"]
    assert ids(q.get_messages_after(db, "a1", 7, limit=2)) == ["m10", "m11"]
    assert ids(q.get_messages_after(db, "a1", "0")) == ["m5", "m7", "m10", "m11", "m300"]
    assert q.get_messages_after(db, "a1", pos(300)) == []
    with pytest.raises(errors.InvalidData, match="position"):
        q.get_messages_after(db, "a1", "7 OR 1=1")
    with pytest.raises(errors.InvalidData, match="limit"):
        q.get_messages_after(db, "a1", 0, limit=-5)


def test_message_summaries(db: ConstellationDb, a1: Agent) -> None:
    q.create_message(db, msg("m1", 1, source="cli"))
    q.create_message(db, msg("m2", 2, role=MessageRole.ASSISTANT, content_preview=None))
    assert q.get_message_summaries(db, "a1") == [
        # Stored without a preview: it gets the text of its content.
        MessageSummary(
            id="m2",
            position=pos(2),
            role=MessageRole.ASSISTANT,
            content_preview="message m2",
            created_at=T0,
        ),
        MessageSummary(
            id="m1",
            position=pos(1),
            role=MessageRole.USER,
            content_preview="message m1",
            source="cli",
            created_at=T0,
        ),
    ]
    assert ids(q.get_message_summaries(db, "a1", 1)) == ["m2"]  # type: ignore[arg-type]


def test_live_reads_use_the_partial_index(db: ConstellationDb) -> None:
    plans = {}
    with db.reader() as conn:
        for name, sql, params in (
            ("get_messages", q._GET_MESSAGES, ("a1", 50)),
            ("count_messages", q._COUNT_MESSAGES, ("a1",)),
            ("get_messages_after", q._GET_MESSAGES_AFTER, ("a1", pos(1), 50)),
            ("get_message_summaries", q._GET_SUMMARIES, ("a1", 50)),
            ("archive_messages", q._ARCHIVE_MESSAGES, ("a1", pos(1))),
        ):
            rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall()
            plans[name] = " | ".join(row[3] for row in rows)
    for name, plan in plans.items():
        assert "idx_messages_live" in plan, (name, plan)
        # Read straight off the index in position order: no sort step.
        assert "TEMP B-TREE" not in plan, (name, plan)
    assert "COVERING INDEX idx_messages_live" in plans["count_messages"]


# -- batches -----------------------------------------------------------------------------------


def test_batch_messages_ordered_and_scoped_to_agent(
    db: ConstellationDb, a1: Agent, make_agent: MakeAgent
) -> None:
    make_agent("a2")
    q.create_message(db, msg("m1", 1, batch_id="b", sequence_in_batch=2))
    q.create_message(db, msg("m2", 2, batch_id="b", sequence_in_batch=1))
    q.create_message(db, msg("m3", 3, batch_id="b", sequence_in_batch=None))
    q.create_message(db, msg("m4", 4, batch_id="b", sequence_in_batch=1))
    q.create_message(db, msg("x1", 5, agent_id="a2", batch_id="b", sequence_in_batch=0))
    q.create_message(db, msg("m5", 6, batch_id="other", sequence_in_batch=0))
    # NULL sequence first, then by sequence, ties by position.
    assert ids(q.get_batch_messages(db, "b")) == ["m3", "x1", "m2", "m4", "m1"]
    assert ids(q.get_batch_messages(db, "b", agent_id="a1")) == ["m3", "m2", "m4", "m1"]
    assert ids(q.get_batch_messages(db, "b", agent_id="a2")) == ["x1"]
    assert q.get_batch_messages(db, "missing") == []
    # A batch is returned whole: archived members included, tombstoned ones only when asked.
    q.archive_messages(db, "a1", pos(3))
    q.delete_message(db, "m4")
    assert ids(q.get_batch_messages(db, "b", agent_id="a1")) == ["m3", "m2", "m1"]
    assert ids(q.get_batch_messages(db, "b", agent_id="a1", include_deleted=True)) == [
        "m3",
        "m2",
        "m4",
        "m1",
    ]


def test_batch_messages_sql_binds_every_value() -> None:
    sql, params = q._batch_messages_sql("b'; DROP TABLE messages", agent_id="a1")
    assert params == ("b'; DROP TABLE messages", "a1")
    assert "DROP" not in sql
    assert sql.endswith(
        "WHERE batch_id = ? AND agent_id = ? AND is_deleted = 0 "
        "ORDER BY sequence_in_batch, position"
    )
    assert q._batch_messages_sql("b", include_deleted=True)[1] == ("b",)


# -- batch insert ------------------------------------------------------------------------------


def test_create_messages_inserts_all(db: ConstellationDb, a1: Agent) -> None:
    batch = [msg(f"m{n}", n) for n in range(1, 101)]
    q.create_messages(db, batch)
    got = q.get_messages(db, "a1", 200)
    assert got == batch[::-1]
    q.create_messages(db, [])
    q.create_messages(db, (msg(f"g{n}", 1000 + n) for n in range(3)))  # any iterable
    assert q.count_messages(db, "a1") == 103
    with db.reader() as conn:
        hits = conn.execute(
            "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'm57'"
        ).fetchone()
    assert hits == (1,)


def test_create_messages_is_atomic(db: ConstellationDb, a1: Agent) -> None:
    q.create_message(db, msg("taken", 500))
    batch = [msg("m1", 1), msg("m2", 2), msg("taken", 3), msg("m4", 4)]
    with pytest.raises(errors.AlreadyExists, match="message already exists: taken") as info:
        q.create_messages(db, batch)
    assert "row 3 of 4" in "\n".join(info.value.__notes__)
    assert ids(q.get_messages(db, "a1")) == ["taken"]

    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.create_messages(db, [msg("m1", 1), msg("m2", 2, agent_id="ghost")])
    with pytest.raises(errors.AlreadyExists, match="message already exists: dup"):
        q.create_messages(db, [msg("dup", 1), msg("dup", 2)])
    with pytest.raises(errors.InvalidData, match="position") as bad:
        q.create_messages(
            db, [msg("m1", 1), Message(id="m9", agent_id="a1", position="x", content_json=1)]
        )
    assert "in record m9" in bad.value.__notes__
    with pytest.raises(errors.DbError):
        q.create_messages(db, [msg("m1", 1), msg("m2", 2, role="narrator")])
    assert q.count_all_messages(db, "a1") == 1
    assert column(db, "SELECT count(*) FROM messages_fts") == [(1,)]


def test_create_messages_inside_a_transaction(db: ConstellationDb, a1: Agent) -> None:
    with db.transaction() as tx:
        q.create_message(tx, msg("m1", 1))
        with pytest.raises(errors.AlreadyExists):
            q.create_messages(tx, [msg("m2", 2), msg("m1", 3)])
        # Only the failed batch rolled back; the transaction goes on.
        q.create_messages(tx, [msg("m3", 3)])
    assert ids(q.get_messages(db, "a1")) == ["m3", "m1"]


# -- upsert and updates ------------------------------------------------------------------------


def test_upsert_message_writes_every_column_but_created_at(db: ConstellationDb, a1: Agent) -> None:
    original = msg("m1", 1)
    q.upsert_message(db, original)
    assert q.get_message(db, "m1") == original
    later = datetime(2027, 1, 1, tzinfo=UTC)
    changed = Message(
        id="m1",
        agent_id="a1",
        position=pos(9),
        batch_id="b2",
        sequence_in_batch=4,
        role=MessageRole.SYSTEM,
        content_json=[1, 2],
        content_preview="new",
        batch_type=BatchType.CONTINUATION,
        source="api",
        source_metadata={"k": "v"},
        is_archived=True,
        is_deleted=False,
        created_at=later,
    )
    q.upsert_message(db, changed)
    assert q.get_message(db, "m1") == msgspec.structs.replace(changed, created_at=T0)
    # Writing the whole record revives a tombstone.
    q.delete_message(db, "m1")
    assert q.get_message(db, "m1") is None
    q.upsert_message(db, changed)
    assert q.get_message(db, "m1") is not None
    with pytest.raises(errors.ConstraintViolation):
        q.upsert_message(db, msg("m2", 2, agent_id="ghost"))
    with pytest.raises(errors.InvalidData):
        q.upsert_message(db, Message(id="m2", agent_id="a1", position="p", content_json=1))


def test_update_message_content(db: ConstellationDb, a1: Agent) -> None:
    q.create_message(db, msg("m1", 1, content_preview="walrus"))
    q.update_message_content(db, "m1", {"type": "text", "text": "narwhal"}, "narwhal")
    got = q.get_message(db, "m1")
    assert got is not None
    assert (got.content_json, got.content_preview) == (
        {"type": "text", "text": "narwhal"},
        "narwhal",
    )
    fts = "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?"
    assert column(db, fts, "narwhal") == [(1,)]
    assert column(db, fts, "walrus") == [(0,)]
    q.update_message_content(db, "m1", "plain")
    got = q.get_message(db, "m1")
    assert (got.content_json, got.content_preview) == ("plain", "plain")  # type: ignore[union-attr]
    q.update_message_content(db, "m1", "plain", "")
    assert q.get_message(db, "m1").content_preview == ""  # type: ignore[union-attr]
    with pytest.raises(errors.NotFound, match="message not found: missing"):
        q.update_message_content(db, "missing", "x")
    q.delete_message(db, "m1")
    with pytest.raises(errors.NotFound):
        q.update_message_content(db, "m1", "x")


# -- tombstones --------------------------------------------------------------------------------


def test_tombstones_are_hidden_everywhere_unless_asked(db: ConstellationDb, a1: Agent) -> None:
    for n in range(1, 5):
        q.create_message(db, msg(f"m{n}", n, batch_id="b", sequence_in_batch=n))
    assert q.delete_message(db, "m4") is True
    assert q.delete_message(db, "m4") is False
    assert q.delete_message(db, "missing") is False
    assert q.get_message(db, "m4") is None
    tombstone = q.get_message(db, "m4", include_deleted=True)
    assert tombstone is not None
    assert tombstone.is_deleted is True
    assert ids(q.get_messages(db, "a1")) == ["m3", "m2", "m1"]
    assert ids(q.get_messages_with_archived(db, "a1")) == ["m3", "m2", "m1"]
    assert ids(q.get_messages_with_archived(db, "a1", include_deleted=True)) == [
        "m4",
        "m3",
        "m2",
        "m1",
    ]
    assert ids(q.get_messages_after(db, "a1", pos(0))) == ["m1", "m2", "m3"]
    assert ids(q.get_batch_messages(db, "b")) == ["m1", "m2", "m3"]
    assert ids(q.get_message_summaries(db, "a1")) == ["m3", "m2", "m1"]  # type: ignore[arg-type]
    assert (q.count_messages(db, "a1"), q.count_all_messages(db, "a1")) == (3, 3)

    # delete_messages: strict bound, counts only what it tombstones now.
    assert q.delete_messages(db, "a1", pos(2)) == 1
    assert q.delete_messages(db, "a1", pos(100)) == 2
    assert q.delete_messages(db, "a1", pos(100)) == 0
    assert q.get_messages(db, "a1") == []
    assert q.count_all_messages(db, "a1") == 0
    # Tombstoned rows are kept (for audits), and archiving leaves them alone.
    assert q.archive_messages(db, "a1", pos(100)) == 0
    assert column(db, "SELECT count(*), sum(is_deleted) FROM messages") == [(4, 4)]
    with pytest.raises(errors.InvalidData):
        q.delete_messages(db, "a1", "1e5")


# -- archive summaries -------------------------------------------------------------------------


def summary(summary_id: str, start: int, end: int, **fields: object) -> ArchiveSummary:
    return ArchiveSummary(
        id=summary_id,
        agent_id=str(fields.pop("agent_id", "a1")),
        summary=f"summary {summary_id}",
        start_position=pos(start),
        end_position=pos(end),
        message_count=end - start + 1,
        created_at=T0,
        **fields,  # type: ignore[arg-type]
    )


def test_archive_summaries_create_get_list(db: ConstellationDb, a1: Agent) -> None:
    s2 = summary("s2", 11, 20)
    s1 = summary("s1", 1, 10)
    q.create_archive_summary(db, s2)
    q.create_archive_summary(db, s1)
    assert q.get_archive_summary(db, "s1") == s1
    assert q.get_archive_summary(db, "missing") is None
    assert q.get_archive_summaries(db, "a1") == [s1, s2]
    assert q.get_archive_summaries(db, "nobody") == []
    with pytest.raises(errors.AlreadyExists, match="archive summary already exists: s1"):
        q.create_archive_summary(db, s1)
    with pytest.raises(errors.ConstraintViolation):
        q.create_archive_summary(db, summary("s3", 1, 2, agent_id="ghost"))
    with pytest.raises(errors.ConstraintViolation):
        q.create_archive_summary(db, summary("s3", 1, 2, previous_summary_id="ghost"))
    with pytest.raises(errors.InvalidData, match="position"):
        q.create_archive_summary(db, msgspec.structs.replace(s1, id="s4", end_position="end"))
    q.create_archive_summary(db, msgspec.structs.replace(s1, id="s5", start_position="7"))
    assert q.get_archive_summary(db, "s5").start_position == pos(7)  # type: ignore[union-attr]


def test_upsert_archive_summary(db: ConstellationDb, a1: Agent) -> None:
    s1 = summary("s1", 1, 10)
    q.upsert_archive_summary(db, s1)
    q.create_archive_summary(db, summary("s0", 0, 0))
    changed = ArchiveSummary(
        id="s1",
        agent_id="a1",
        summary="rewritten",
        start_position=pos(1),
        end_position=pos(30),
        message_count=30,
        previous_summary_id="s0",
        depth=1,
        created_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    q.upsert_archive_summary(db, changed)
    assert q.get_archive_summary(db, "s1") == msgspec.structs.replace(changed, created_at=T0)


def test_summary_chain_survives_deleting_a_link(db: ConstellationDb, a1: Agent) -> None:
    q.create_archive_summary(db, summary("s1", 1, 10))
    q.create_archive_summary(db, summary("s2", 11, 20, previous_summary_id="s1"))
    q.create_archive_summary(db, summary("s3", 1, 20, previous_summary_id="s2", depth=1))
    assert q.delete_archive_summary(db, "s2") is True
    assert q.delete_archive_summary(db, "s2") is False
    # ON DELETE SET NULL: the later summary stays, its link is cleared; others are untouched.
    assert q.get_archive_summary(db, "s3").previous_summary_id is None  # type: ignore[union-attr]
    assert [s.id for s in q.get_archive_summaries(db, "a1")] == ["s1", "s3"]


# -- cascades ----------------------------------------------------------------------------------


def test_deleting_an_agent_cascades_messages_and_summaries(
    db: ConstellationDb, a1: Agent, make_agent: MakeAgent
) -> None:
    make_agent("a2")
    q.create_messages(db, [msg("m1", 1), msg("m2", 2), msg("x1", 3, agent_id="a2")])
    q.delete_message(db, "m2")
    q.create_archive_summary(db, summary("s1", 1, 2))
    assert delete_agent(db, "a1") is True
    assert column(db, "SELECT id FROM messages") == [("x1",)]
    assert column(db, "SELECT count(*) FROM archive_summaries") == [(0,)]
    # The FTS index followed the cascade.
    assert column(db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'm1'") == [(0,)]


# -- decoding ----------------------------------------------------------------------------------


def test_legacy_timestamps_decode_like_parse_ts() -> None:
    codec = codec_for(Message)
    base = codec.encode(msg("m1", 1))
    index = codec.columns.index("created_at")

    def row(created: object) -> tuple[object, ...]:
        return (*base[:index], created, *base[index + 1 :])

    legacy = {
        "2026-03-04 05:06:07": datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC),
        "2026-03-04T05:06:07.890123+00:00": T0,
        "2026-03-04T07:06:07.890123+02:00": T0,
        "2026-03-04T05:06:07.890123456Z": T0,
        "2026-03-04T05:06:07.890123Z": T0,
    }
    for text, expected in legacy.items():
        assert codec.decode(row(text)).created_at == expected, text
        assert codec.decode_all([row(text)])[0].created_at == expected, text
    # Canonical-looking but invalid text is reported as parse_ts reports it, on both paths.
    for bad in ("2026-13-04T05:06:07.890123Z", "not a time", "2026-02-30T05:06:07.890123Z"):
        with pytest.raises(errors.InvalidData):
            codec.decode(row(bad))
        with pytest.raises(errors.InvalidData):
            codec.decode_all([row(bad)])
    with pytest.raises(KeyError):
        codec.decode_all([(*base[:5], "narrator", *base[6:])])


# -- round trips -------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1.50, 0.1, -0.0, 1e300])
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)  # fmt: skip
_when = st.datetimes(timezones=st.just(UTC))
_position = st.integers(0, 2**64 - 1).map(pos)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    message=st.builds(
        Message,
        agent_id=st.just("a1"),
        position=_position,
        batch_id=st.none() | _text,
        sequence_in_batch=st.none() | st.integers(-(2**63), 2**63 - 1),
        role=st.sampled_from(MessageRole),
        content_json=_json,
        content_preview=st.none() | _text,
        batch_type=st.none() | st.sampled_from(BatchType),
        source=st.none() | _text,
        source_metadata=_json,
        is_archived=st.booleans(),
        is_deleted=st.booleans(),
        created_at=_when,
    ),
    archive=st.builds(
        ArchiveSummary,
        agent_id=st.just("a1"),
        summary=_text,
        start_position=_position,
        end_position=_position,
        message_count=st.integers(0, 2**63 - 1),
        depth=st.integers(0, 2**63 - 1),
        created_at=_when,
    ),
)
def test_round_trips(
    db: ConstellationDb, make_agent: MakeAgent, message: Message, archive: ArchiveSummary
) -> None:
    if not column(db, "SELECT 1 FROM agents WHERE id = 'a1'"):
        make_agent("a1")
    message = msgspec.structs.replace(message, id=new_id("msg"))
    q.create_message(db, message)
    if message.content_preview is None:  # stored with the preview its content gives
        message = msgspec.structs.replace(message, content_preview=preview_of(message.content_json))
    assert q.get_message(db, message.id, include_deleted=True) == message
    archive = msgspec.structs.replace(archive, id=new_id("sum"))
    q.create_archive_summary(db, archive)
    assert q.get_archive_summary(db, archive.id) == archive
