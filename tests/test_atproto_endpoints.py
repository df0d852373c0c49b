"""queries.atproto_endpoints: agents' ATProto identities per endpoint type."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.connection import scalar
from pattern_db.models import Agent, AgentAtprotoEndpoint
from pattern_db.models.agent import ENDPOINT_TYPE_BLUESKY
from pattern_db.queries import agent as agent_q
from pattern_db.queries import atproto_endpoints as q
from pattern_db.timeutil import now

MakeAgent = Callable[..., Agent]
T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
T1 = datetime(2026, 3, 5, 0, 0, 0, 1, tzinfo=UTC)


def _endpoint(
    agent_id: str = "test-agent", endpoint_type: str = "bluesky_post", **fields: object
) -> AgentAtprotoEndpoint:
    return AgentAtprotoEndpoint(
        agent_id=agent_id,
        did=str(fields.pop("did", "did:plc:testuser123")),
        endpoint_type=endpoint_type,
        **fields,  # type: ignore[arg-type]
    )


def test_set_get_update_delete(db: ConstellationDb) -> None:
    endpoint = _endpoint(
        session_id="_constellation_",
        config='{"auto_reply": true}',
        created_at=T0,
        updated_at=T0,
    )
    assert q.set_agent_atproto_endpoint(db, endpoint) == endpoint
    assert q.get_agent_atproto_endpoint(db, "test-agent", "bluesky_post") == endpoint

    replacement = _endpoint(did="did:plc:newuser456", created_at=T1, updated_at=T1)
    before = now()
    stored = q.set_agent_atproto_endpoint(db, replacement)
    after = now()
    # The update takes did, session_id and config, keeps created_at, stamps updated_at now.
    assert before <= stored.updated_at <= after
    assert stored == msgspec.structs.replace(
        replacement, created_at=T0, updated_at=stored.updated_at
    )
    assert q.get_agent_atproto_endpoint(db, "test-agent", "bluesky_post") == stored

    assert q.delete_agent_atproto_endpoint(db, "test-agent", "bluesky_post") is True
    assert q.get_agent_atproto_endpoint(db, "test-agent", "bluesky_post") is None
    assert q.delete_agent_atproto_endpoint(db, "test-agent", "bluesky_post") is False


def test_new_endpoint_defaults_to_bluesky_and_now(db: ConstellationDb) -> None:
    before = now()
    stored = q.set_agent_atproto_endpoint(db, AgentAtprotoEndpoint(agent_id="a1", did="did:plc:x"))
    assert stored.endpoint_type == ENDPOINT_TYPE_BLUESKY == "bluesky"
    assert before <= stored.created_at <= stored.updated_at <= now()
    assert q.get_agent_atproto_endpoint(db, "a1", "bluesky") == stored


def test_multiple_endpoints_per_agent_are_ordered_by_type(db: ConstellationDb) -> None:
    q.set_agent_atproto_endpoint(db, _endpoint(endpoint_type="bluesky_post"))
    q.set_agent_atproto_endpoint(
        db, _endpoint(endpoint_type="bluesky_firehose", config='{"filter": "mentions"}')
    )
    q.set_agent_atproto_endpoint(db, _endpoint("other-agent", endpoint_type="bluesky_post"))
    assert [e.endpoint_type for e in q.get_agent_atproto_endpoints(db, "test-agent")] == [
        "bluesky_firehose",
        "bluesky_post",
    ]
    assert q.get_agent_atproto_endpoints(db, "nobody") == []


def test_list_all_is_ordered_by_did_then_agent(db: ConstellationDb) -> None:
    q.set_agent_atproto_endpoint(db, _endpoint("b", "post", did="did:plc:2"))
    q.set_agent_atproto_endpoint(db, _endpoint("a", "post", did="did:plc:2"))
    q.set_agent_atproto_endpoint(db, _endpoint("c", "post", did="did:plc:1"))
    q.set_agent_atproto_endpoint(db, _endpoint("a", "firehose", did="did:plc:2"))
    assert [
        (e.did, e.agent_id, e.endpoint_type) for e in q.list_all_agent_atproto_endpoints(db)
    ] == [
        ("did:plc:1", "c", "post"),
        ("did:plc:2", "a", "firehose"),
        ("did:plc:2", "a", "post"),
        ("did:plc:2", "b", "post"),
    ]


def test_config_is_kept_as_raw_json_text(db: ConstellationDb) -> None:
    raw = '{ "b": 1.50,\n  "a": [1, "2"] }'
    q.set_agent_atproto_endpoint(db, _endpoint(config=raw))
    stored = q.get_agent_atproto_endpoint(db, "test-agent", "bluesky_post")
    assert stored is not None
    assert stored.config == raw
    q.set_agent_atproto_endpoint(db, _endpoint(config="5"))
    stored = q.get_agent_atproto_endpoint(db, "test-agent", "bluesky_post")
    assert stored is not None
    assert stored.config == "5"
    with pytest.raises(errors.ConstraintViolation):
        q.set_agent_atproto_endpoint(db, _endpoint(config="{not json"))
    assert stored == q.get_agent_atproto_endpoint(db, "test-agent", "bluesky_post")


def test_timestamps_are_stored_as_canonical_text(db: ConstellationDb) -> None:
    q.set_agent_atproto_endpoint(db, _endpoint(created_at=T0, updated_at=T1))
    with db.reader() as conn:
        row = conn.execute(
            "SELECT created_at, updated_at, typeof(created_at) FROM agent_atproto_endpoints"
        ).fetchone()
    assert tuple(row) == ("2026-03-04T05:06:07.890123Z", "2026-03-05T00:00:00.000001Z", "text")


def test_endpoints_have_no_agent_foreign_key(db: ConstellationDb, make_agent: MakeAgent) -> None:
    # As in the reference (REFERENCE 1.6): no FK, so an endpoint may name any agent id and
    # outlives the agent's deletion.
    q.set_agent_atproto_endpoint(db, _endpoint("not-an-agent"))
    make_agent("a1")
    q.set_agent_atproto_endpoint(db, _endpoint("a1"))
    assert agent_q.delete_agent(db, "a1") is True
    assert q.get_agent_atproto_endpoint(db, "a1", "bluesky_post") is not None
    assert q.get_agent_atproto_endpoint(db, "not-an-agent", "bluesky_post") is not None


def test_set_in_a_transaction_rolls_back(db: ConstellationDb) -> None:
    class Abort(Exception):
        pass

    with contextlib.suppress(Abort), db.transaction() as tx:
        q.set_agent_atproto_endpoint(tx, _endpoint())
        assert len(q.get_agent_atproto_endpoints(tx, "test-agent")) == 1
        raise Abort
    assert q.list_all_agent_atproto_endpoints(db) == []


# -- round trips -------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=10,
)  # fmt: skip
_json_text = st.builds(
    lambda value, indent, ascii_only: json.dumps(value, indent=indent, ensure_ascii=ascii_only),
    _json,
    st.none() | st.integers(0, 3),
    st.booleans(),
)
_when = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    endpoint=st.builds(
        AgentAtprotoEndpoint,
        agent_id=_text,
        did=_text,
        endpoint_type=_text,
        session_id=st.none() | _text,
        config=st.none() | _json_text,
        created_at=_when,
        updated_at=_when,
    )
)
def test_round_trip(db: ConstellationDb, endpoint: AgentAtprotoEndpoint) -> None:
    with db.writer() as conn:
        conn.execute("DELETE FROM agent_atproto_endpoints")
    assert q.set_agent_atproto_endpoint(db, endpoint) == endpoint
    assert q.get_agent_atproto_endpoint(db, endpoint.agent_id, endpoint.endpoint_type) == endpoint
    assert q.get_agent_atproto_endpoints(db, endpoint.agent_id) == [endpoint]
    assert q.list_all_agent_atproto_endpoints(db) == [endpoint]
    with db.reader() as conn:
        assert scalar(conn, "SELECT count(*) FROM agent_atproto_endpoints") == 1
