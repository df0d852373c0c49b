"""Agents' ATProto identities (DIDs), one per agent and endpoint type.

Deliberate deviation from REFERENCE 10 (migration 0009): created_at and updated_at are stored as
canonical UTC text and read back as aware datetimes, like every other timestamp here, instead of
integer unix seconds; one format for every table keeps comparisons and sorting uniform, and keeps
microseconds. Importers turn legacy integer values into datetimes with `timeutil.parse_ts`, which
reads unix seconds. As in the reference, agent_id has no foreign key, so an endpoint outlives its
agent.
"""

from __future__ import annotations

from pattern_db.codec import codec_for
from pattern_db.connection import Executor
from pattern_db.errors import translate_errors
from pattern_db.models.agent import AgentAtprotoEndpoint
from pattern_db.queries._rows import fetch_all, fetch_one
from pattern_db.timeutil import now_ts

__all__ = [
    "delete_agent_atproto_endpoint",
    "get_agent_atproto_endpoint",
    "get_agent_atproto_endpoints",
    "list_all_agent_atproto_endpoints",
    "set_agent_atproto_endpoint",
]

_ENDPOINT = codec_for(AgentAtprotoEndpoint)

_SELECT = f"SELECT {_ENDPOINT.column_list} FROM agent_atproto_endpoints"
_GET = f"{_SELECT} WHERE agent_id = ? AND endpoint_type = ?"
_GET_FOR_AGENT = f"{_SELECT} WHERE agent_id = ? ORDER BY endpoint_type"
_LIST_ALL = f"{_SELECT} ORDER BY did, agent_id, endpoint_type"
_VALUES = ", ".join(f":{c}" for c in _ENDPOINT.columns)
# An update keeps created_at and stamps updated_at with the time of the write (:now).
_SET = f"""
INSERT INTO agent_atproto_endpoints ({_ENDPOINT.column_list}) VALUES ({_VALUES})
ON CONFLICT(agent_id, endpoint_type) DO UPDATE SET
    did = excluded.did, session_id = excluded.session_id, config = excluded.config,
    updated_at = :now
RETURNING {_ENDPOINT.column_list}
"""
_DELETE = "DELETE FROM agent_atproto_endpoints WHERE agent_id = ? AND endpoint_type = ?"


def get_agent_atproto_endpoint(
    db: Executor, agent_id: str, endpoint_type: str
) -> AgentAtprotoEndpoint | None:
    """Return an agent's endpoint of this type (e.g. "bluesky"), or None."""
    return fetch_one(db, _ENDPOINT, _GET, (agent_id, endpoint_type))


def get_agent_atproto_endpoints(db: Executor, agent_id: str) -> list[AgentAtprotoEndpoint]:
    """Return every endpoint of an agent ordered by endpoint type."""
    return fetch_all(db, _ENDPOINT, _GET_FOR_AGENT, (agent_id,))


def set_agent_atproto_endpoint(
    db: Executor, endpoint: AgentAtprotoEndpoint
) -> AgentAtprotoEndpoint:
    """Insert or update an agent's endpoint of a type; return the row as stored.

    A new row takes every column from the record (its timestamps default to now). An existing
    row (same agent_id and endpoint_type) takes did, session_id and config, keeps its created_at
    and gets updated_at = now. The reference stamped both timestamps with unix now on insert and
    ignored the record's; here an importer can keep the original times.

    Raises:
        ConstraintViolation: `config` is not valid JSON text.
    """
    params = _ENDPOINT.encode_named(endpoint)
    params["now"] = now_ts()
    key = f"{endpoint.agent_id}/{endpoint.endpoint_type}"
    with db.writer() as conn, translate_errors("atproto endpoint", key):
        rows = conn.execute(_SET, params).fetchall()
    return _ENDPOINT.decode(rows[0])


def delete_agent_atproto_endpoint(db: Executor, agent_id: str, endpoint_type: str) -> bool:
    """Delete an agent's endpoint of this type; return whether it existed."""
    with db.writer() as conn, translate_errors("atproto endpoint", f"{agent_id}/{endpoint_type}"):
        conn.execute(_DELETE, (agent_id, endpoint_type))
        return conn.changes() > 0


def list_all_agent_atproto_endpoints(db: Executor) -> list[AgentAtprotoEndpoint]:
    """Return every endpoint of every agent ordered by did, then agent id (then type)."""
    return fetch_all(db, _ENDPOINT, _LIST_ALL)
