"""Constellation statistics: live row counts and the most active agents."""

from __future__ import annotations

from pattern_db import _validate
from pattern_db.codec import codec_for
from pattern_db.connection import Executor
from pattern_db.models.stats import AgentActivity, ConstellationStats
from pattern_db.queries._rows import fetch_all

__all__ = ["get_most_active_agents", "get_stats"]

_ACTIVITY = codec_for(AgentActivity)
_STATS = codec_for(ConstellationStats)

# One statement, so the five counts come from the same snapshot.
_GET_STATS = """
SELECT
    (SELECT count(*) FROM agents),
    (SELECT count(*) FROM agent_groups),
    (SELECT count(*) FROM messages WHERE is_deleted = 0),
    (SELECT count(*) FROM memory_blocks WHERE is_active = 1),
    (SELECT count(*) FROM archival_entries)
"""
_MOST_ACTIVE = """
SELECT a.id, a.name, count(m.id) AS message_count
FROM agents a LEFT JOIN messages m ON m.agent_id = a.id AND m.is_deleted = 0
GROUP BY a.id
ORDER BY message_count DESC, a.name ASC
LIMIT ?
"""


def get_stats(db: Executor) -> ConstellationStats:
    """Return live counts: agents, groups, messages (tombstones excluded), active blocks, archival.

    The reference's `queries::stats::DbStats`; named ConstellationStats here because `DbStats`
    is the connection-level record (every row counted, file sizes): `ConstellationDb.stats()`.
    """
    with db.reader() as conn:
        row = conn.execute(_GET_STATS).fetchone()
    assert row is not None  # an aggregate without GROUP BY always yields one row
    return _STATS.decode(row)


def get_most_active_agents(db: Executor, limit: int = 10) -> list[AgentActivity]:
    """Return agents by message count (archived included, tombstoned excluded), most first.

    Agents without messages are listed with 0; ties are ordered by name.

    Raises:
        InvalidData: `limit` is negative.
    """
    _validate.limit(limit)
    return fetch_all(db, _ACTIVITY, _MOST_ACTIVE, (limit,))
