"""queries.source: data sources, sync state, subscriptions, and what deleting them removes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.connection import scalar
from pattern_db.models import Agent, AgentDataSource, DataSource, SourceType
from pattern_db.queries import agent as agent_q
from pattern_db.queries import source as q
from pattern_db.timeutil import now

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
T1 = datetime(2026, 3, 5, 0, 0, 0, 1, tzinfo=UTC)


def _source(source_id: str = "src1", **fields: object) -> DataSource:
    return DataSource(
        id=source_id,
        name=str(fields.pop("name", source_id)),
        source_type=fields.pop("source_type", SourceType.BLUESKY),  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )


# -- data sources ------------------------------------------------------------------------------


def test_create_get_and_lookups(db: ConstellationDb) -> None:
    source = _source(
        "src1",
        name="bsky-mentions",
        config={"handle": "me.bsky.social", "interval": "1.50", "limits": [1.5, 2, None]},
        last_sync_at=T1,
        sync_cursor="cursor-42",
        enabled=False,
        created_at=T0,
        updated_at=T1,
    )
    q.create_data_source(db, source)
    assert q.get_data_source(db, "src1") == source
    assert q.get_data_source_by_name(db, "bsky-mentions") == source
    assert q.get_data_source(db, "missing") is None
    assert q.get_data_source_by_name(db, "missing") is None
    with db.reader() as conn:
        stored = scalar(conn, "SELECT config FROM data_sources WHERE id = 'src1'")
    # JSON stays text: the string "1.50" is not turned into the number 1.5.
    assert stored == ('{"handle":"me.bsky.social","interval":"1.50","limits":[1.5,2,null]}')


def test_source_duplicates_and_bad_type(db: ConstellationDb) -> None:
    q.create_data_source(db, _source("src1", name="same"))
    with pytest.raises(errors.AlreadyExists, match="data source already exists: src1"):
        q.create_data_source(db, _source("src1", name="other"))
    with pytest.raises(errors.AlreadyExists, match="data source named 'same' already exists"):
        q.create_data_source(db, _source("src2", name="same"))
    with pytest.raises(
        errors.InvalidData, match=r"unknown DataSource.source_type 'carrier_pigeon'"
    ):
        q.create_data_source(db, _source("src3", source_type="carrier_pigeon"))


def test_lists_are_ordered_by_name(db: ConstellationDb) -> None:
    q.create_data_source(db, _source("s1", name="zed", source_type=SourceType.EMAIL))
    q.create_data_source(db, _source("s2", name="amy", enabled=False))
    q.create_data_source(db, _source("s3", name="mo", source_type=SourceType.CODE_HOST))
    assert [s.id for s in q.list_data_sources(db)] == ["s2", "s3", "s1"]
    assert [s.id for s in q.list_enabled_data_sources(db)] == ["s3", "s1"]


def test_update_data_source_writes_every_column_and_stamps_updated_at(
    db: ConstellationDb,
) -> None:
    q.create_data_source(db, _source("src1", created_at=T0, updated_at=T0))
    q.create_data_source(db, _source("src2", name="taken"))
    changed = DataSource(
        id="src1",
        name="renamed",
        source_type=SourceType.WEBHOOK,
        config={"url": "https://example.org/hook"},
        last_sync_at=T1,
        sync_cursor="c-9",
        enabled=False,
        created_at=T1,
        updated_at=T1,
    )
    before = now()
    q.update_data_source(db, changed)
    stored = q.get_data_source(db, "src1")
    assert stored is not None
    assert before <= stored.updated_at <= now()
    assert stored == msgspec.structs.replace(changed, created_at=T0, updated_at=stored.updated_at)
    # The sync fields are written too (the reference dropped them), also back to NULL.
    q.update_data_source(db, msgspec.structs.replace(changed, last_sync_at=None, sync_cursor=None))
    stored = q.get_data_source(db, "src1")
    assert stored is not None
    assert (stored.last_sync_at, stored.sync_cursor) == (None, None)

    with pytest.raises(errors.NotFound, match="data source not found: nope"):
        q.update_data_source(db, _source("nope"))
    with pytest.raises(errors.AlreadyExists, match=r"data source named .taken. already exists"):
        q.update_data_source(db, msgspec.structs.replace(changed, name="taken"))


def test_update_sync_state(db: ConstellationDb) -> None:
    q.create_data_source(db, _source("src1", created_at=T0, updated_at=T0))
    before = now()
    q.update_sync_state(db, "src1", "cursor-1")
    after = now()
    stored = q.get_data_source(db, "src1")
    assert stored is not None
    assert stored.sync_cursor == "cursor-1"
    assert stored.last_sync_at is not None
    assert before <= stored.last_sync_at <= after
    assert stored.updated_at == stored.last_sync_at
    assert stored.created_at == T0

    q.update_sync_state(db, "src1", None)
    stored = q.get_data_source(db, "src1")
    assert stored is not None
    assert stored.sync_cursor is None
    assert stored.last_sync_at is not None
    assert stored.last_sync_at >= after
    with pytest.raises(errors.NotFound, match="data source not found: nope"):
        q.update_sync_state(db, "nope", "c")


def test_set_data_source_enabled(db: ConstellationDb) -> None:
    q.create_data_source(db, _source("src1", updated_at=T0))
    q.set_data_source_enabled(db, "src1", False)
    stored = q.get_data_source(db, "src1")
    assert stored is not None
    assert stored.enabled is False
    assert stored.updated_at > T0
    assert q.list_enabled_data_sources(db) == []
    q.set_data_source_enabled(db, "src1", True)
    assert [s.id for s in q.list_enabled_data_sources(db)] == ["src1"]
    with pytest.raises(errors.NotFound, match="data source not found: nope"):
        q.set_data_source_enabled(db, "nope", True)


def test_delete_data_source_cascades_to_subscriptions(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    q.create_data_source(db, _source("src1"))
    q.create_data_source(db, _source("src2"))
    q.subscribe_agent_to_source(db, "a1", "src1")
    q.subscribe_agent_to_source(db, "a1", "src2")
    assert q.delete_data_source(db, "src1") is True
    assert q.delete_data_source(db, "src1") is False
    assert q.get_source_subscribers(db, "src1") == []
    assert [s.source_id for s in q.get_agent_subscriptions(db, "a1")] == ["src2"]
    assert agent_q.get_agent(db, "a1") is not None


# -- subscriptions -----------------------------------------------------------------------------


def test_subscribe_upserts_the_template(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_data_source(db, _source("src1"))
    q.subscribe_agent_to_source(db, "a1", "src1", "New post: {{content}}")
    assert q.get_agent_subscriptions(db, "a1") == [
        AgentDataSource(
            agent_id="a1", source_id="src1", notification_template="New post: {{content}}"
        )
    ]
    q.subscribe_agent_to_source(db, "a1", "src1", "{{source}} at {{timestamp}}")
    assert q.get_source_subscribers(db, "src1") == [
        AgentDataSource(
            agent_id="a1", source_id="src1", notification_template="{{source}} at {{timestamp}}"
        )
    ]
    q.subscribe_agent_to_source(db, "a1", "src1")
    assert q.get_source_subscribers(db, "src1") == [
        AgentDataSource(agent_id="a1", source_id="src1")
    ]


def test_subscription_lists_and_unsubscribe(db: ConstellationDb, make_agent: MakeAgent) -> None:
    for agent_id in ("a2", "a1"):
        make_agent(agent_id)
    for source_id in ("s2", "s1"):
        q.create_data_source(db, _source(source_id))
    q.subscribe_agent_to_source(db, "a2", "s2")
    q.subscribe_agent_to_source(db, "a1", "s2")
    q.subscribe_agent_to_source(db, "a1", "s1")
    assert [s.source_id for s in q.get_agent_subscriptions(db, "a1")] == ["s1", "s2"]
    assert [s.agent_id for s in q.get_source_subscribers(db, "s2")] == ["a1", "a2"]
    assert q.unsubscribe_agent_from_source(db, "a1", "s2") is True
    assert q.unsubscribe_agent_from_source(db, "a1", "s2") is False
    assert [s.agent_id for s in q.get_source_subscribers(db, "s2")] == ["a2"]
    assert q.get_agent_subscriptions(db, "nobody") == []


def test_subscribe_errors(db: ConstellationDb, make_agent: MakeAgent) -> None:
    make_agent("a1")
    q.create_data_source(db, _source("src1"))
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.subscribe_agent_to_source(db, "no-such-agent", "src1")
    with pytest.raises(errors.ConstraintViolation, match="foreign key"):
        q.subscribe_agent_to_source(db, "a1", "no-such-source")
    assert q.get_source_subscribers(db, "src1") == []


def test_deleting_an_agent_removes_its_subscriptions_only(
    db: ConstellationDb, make_agent: MakeAgent
) -> None:
    make_agent("a1")
    make_agent("a2")
    q.create_data_source(db, _source("src1"))
    q.subscribe_agent_to_source(db, "a1", "src1")
    q.subscribe_agent_to_source(db, "a2", "src1")
    assert agent_q.delete_agent(db, "a1") is True
    assert q.get_agent_subscriptions(db, "a1") == []
    assert [s.agent_id for s in q.get_source_subscribers(db, "src1")] == ["a2"]
    assert q.get_data_source(db, "src1") is not None


# -- round trips -------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_name = _text.filter(lambda t: bool(t.strip()))  # required non-blank
_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False,
        allow_infinity=False) | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10,
)  # fmt: skip
_when = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    source=st.builds(
        DataSource,
        id=_text,
        name=_name,
        source_type=st.sampled_from(SourceType),
        config=st.dictionaries(_text, _json, max_size=4),
        last_sync_at=st.none() | _when,
        sync_cursor=st.none() | _text,
        enabled=st.booleans(),
        created_at=_when,
        updated_at=_when,
    ),
    agent_id=_text,
    template=st.none() | _text,
)
def test_round_trips(
    db: ConstellationDb, source: DataSource, agent_id: str, template: str | None
) -> None:
    with db.writer() as conn:
        conn.execute("DELETE FROM data_sources")
        conn.execute("DELETE FROM agents")
    agent_q.create_agent(
        db,
        Agent(id=agent_id, name="n", model_provider="p", model_name="m", system_prompt="s"),
    )
    q.create_data_source(db, source)
    q.subscribe_agent_to_source(db, agent_id, source.id, template)
    assert q.get_data_source(db, source.id) == source
    subscription = AgentDataSource(
        agent_id=agent_id, source_id=source.id, notification_template=template
    )
    assert q.get_agent_subscriptions(db, agent_id) == [subscription]
    assert q.get_source_subscribers(db, source.id) == [subscription]
