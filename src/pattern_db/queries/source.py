"""Data sources (external event feeds) and agents' subscriptions to them."""

from __future__ import annotations

from pattern_db.codec import codec_for
from pattern_db.connection import Executor
from pattern_db.errors import translate_errors
from pattern_db.models.source import AgentDataSource, DataSource
from pattern_db.queries._rows import fetch_all, fetch_one, write_one
from pattern_db.timeutil import now_ts

__all__ = [
    "create_data_source",
    "delete_data_source",
    "get_agent_subscriptions",
    "get_data_source",
    "get_data_source_by_name",
    "get_source_subscribers",
    "list_data_sources",
    "list_enabled_data_sources",
    "set_data_source_enabled",
    "subscribe_agent_to_source",
    "unsubscribe_agent_from_source",
    "update_data_source",
    "update_sync_state",
]

_SOURCE = codec_for(DataSource)
_SUBSCRIPTION = codec_for(AgentDataSource)

_SELECT_SOURCE = f"SELECT {_SOURCE.column_list} FROM data_sources"
_INSERT_SOURCE = _SOURCE.insert_sql("data_sources")
_UPDATE_SOURCE = (
    f"UPDATE data_sources SET {_SOURCE.assignments(exclude=('id', 'created_at'))} WHERE id = :id"
)
_UPDATE_SYNC_STATE = """
UPDATE data_sources SET last_sync_at = :now, sync_cursor = :cursor, updated_at = :now
WHERE id = :id
"""
_SET_ENABLED = "UPDATE data_sources SET enabled = ?, updated_at = ? WHERE id = ?"

_SELECT_SUBSCRIPTION = f"SELECT {_SUBSCRIPTION.column_list} FROM agent_data_sources"
_SUBSCRIBE = f"""{_SUBSCRIPTION.insert_sql("agent_data_sources")}
ON CONFLICT(agent_id, source_id) DO UPDATE SET
    notification_template = excluded.notification_template"""


# -- data sources ------------------------------------------------------------------------------


def create_data_source(db: Executor, source: DataSource) -> None:
    """Insert a new data source, every column (sync state included) taken from the record.

    Raises:
        AlreadyExists: a data source with this id or name exists.
        ConstraintViolation: `source_type` is not one of the known types.
    """
    with db.writer() as conn, translate_errors("data source", source.id, record=source):
        conn.execute(_INSERT_SOURCE, _SOURCE.encode(source))


def get_data_source(db: Executor, source_id: str) -> DataSource | None:
    """Return the data source with this id, or None."""
    return fetch_one(db, _SOURCE, f"{_SELECT_SOURCE} WHERE id = ?", (source_id,))


def get_data_source_by_name(db: Executor, name: str) -> DataSource | None:
    """Return the data source with this (unique) name, or None."""
    return fetch_one(db, _SOURCE, f"{_SELECT_SOURCE} WHERE name = ?", (name,))


def list_data_sources(db: Executor) -> list[DataSource]:
    """Return every data source ordered by name."""
    return fetch_all(db, _SOURCE, f"{_SELECT_SOURCE} ORDER BY name")


def list_enabled_data_sources(db: Executor) -> list[DataSource]:
    """Return the enabled data sources ordered by name."""
    with db.reader() as conn:
        rows = conn.execute(f"{_SELECT_SOURCE} WHERE enabled = 1 ORDER BY name")
        return _SOURCE.decode_all(rows.fetchall())


def update_data_source(db: Executor, source: DataSource) -> None:
    """Write every column of an existing source except id and created_at; updated_at becomes now.

    Unlike the reference, the sync fields (last_sync_at, sync_cursor) are written too, so the
    record read back equals the record written (apart from updated_at), and updated_at is the
    time of the write rather than the record's value.

    Raises:
        NotFound: no data source has this id (the reference returned False instead).
        AlreadyExists: another data source already has the new name.
    """
    params = _SOURCE.encode_named(source)
    params["updated_at"] = now_ts()
    write_one(db, _UPDATE_SOURCE, params, "data source", source.id, record=source)


def update_sync_state(db: Executor, source_id: str, cursor: str | None) -> None:
    """Record a sync: last_sync_at and updated_at become now, sync_cursor becomes `cursor`.

    None clears the cursor.

    Raises:
        NotFound: no data source has this id (the reference returned False instead).
    """
    params = {"now": now_ts(), "cursor": cursor, "id": source_id}
    write_one(db, _UPDATE_SYNC_STATE, params, "data source", source_id)


def set_data_source_enabled(db: Executor, source_id: str, enabled: bool) -> None:
    """Enable or disable a data source (updated_at becomes now).

    Raises:
        NotFound: no data source has this id (the reference returned False instead).
    """
    write_one(
        db, _SET_ENABLED, (1 if enabled else 0, now_ts(), source_id), "data source", source_id
    )


def delete_data_source(db: Executor, source_id: str) -> bool:
    """Delete a data source; return whether it existed. Its subscriptions go with it."""
    with db.writer() as conn, translate_errors("data source", source_id):
        conn.execute("DELETE FROM data_sources WHERE id = ?", (source_id,))
        return conn.changes() > 0


# -- subscriptions -----------------------------------------------------------------------------


def subscribe_agent_to_source(
    db: Executor, agent_id: str, source_id: str, notification_template: str | None = None
) -> None:
    """Subscribe an agent to a source, or replace the template of an existing subscription.

    `notification_template` is mustache-style (`{{content}}`, `{{source}}`, `{{timestamp}}`);
    None leaves the choice of a per-type default to the application (and clears a template
    set earlier).

    Raises:
        ConstraintViolation: the agent or the source does not exist.
    """
    with db.writer() as conn, translate_errors("subscription", f"{agent_id}/{source_id}"):
        conn.execute(_SUBSCRIBE, (agent_id, source_id, notification_template))


def unsubscribe_agent_from_source(db: Executor, agent_id: str, source_id: str) -> bool:
    """Remove an agent's subscription to a source; return whether it was subscribed."""
    with db.writer() as conn, translate_errors("subscription", f"{agent_id}/{source_id}"):
        conn.execute(
            "DELETE FROM agent_data_sources WHERE agent_id = ? AND source_id = ?",
            (agent_id, source_id),
        )
        return conn.changes() > 0


def get_agent_subscriptions(db: Executor, agent_id: str) -> list[AgentDataSource]:
    """Return an agent's subscriptions ordered by source id."""
    with db.reader() as conn:
        rows = conn.execute(
            f"{_SELECT_SUBSCRIPTION} WHERE agent_id = ? ORDER BY source_id", (agent_id,)
        )
        return _SUBSCRIPTION.decode_all(rows.fetchall())


def get_source_subscribers(db: Executor, source_id: str) -> list[AgentDataSource]:
    """Return the subscriptions to a source ordered by agent id."""
    with db.reader() as conn:
        rows = conn.execute(
            f"{_SELECT_SUBSCRIPTION} WHERE source_id = ? ORDER BY agent_id", (source_id,)
        )
        return _SUBSCRIPTION.decode_all(rows.fetchall())
