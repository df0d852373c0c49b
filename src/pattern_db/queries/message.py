"""Messages and archive summaries: write, page through by position, archive, tombstone, count.

Positions are 20-digit zero-padded snowflakes, so comparing them as text (as every query here
does, straight off the `(agent_id, position)` indexes) is comparing them as numbers. Position
arguments are validated and re-padded with `ids.normalize_position` semantics; a malformed one
raises `InvalidData` instead of silently comparing wrong. Tombstoned messages (`is_deleted`) are
hidden from every read unless the function offers `include_deleted=True`. Every write writes
every column of its record; a message without `content_preview` gets one derived from its
content JSON (`queries.preview`), so search finds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import apsw

from pattern_db import _validate
from pattern_db.codec import codec_for, json_text
from pattern_db.connection import Executor, scalar
from pattern_db.errors import InvalidData, translate_errors
from pattern_db.ids import normalize_position
from pattern_db.models.message import ArchiveSummary, Message, MessageSummary
from pattern_db.queries._bulk import insert_many
from pattern_db.queries._rows import fetch_all, fetch_one, write_one
from pattern_db.queries.preview import preview_of

__all__ = [
    "archive_messages",
    "count_all_messages",
    "count_messages",
    "create_archive_summary",
    "create_message",
    "create_messages",
    "delete_archive_summary",
    "delete_message",
    "delete_messages",
    "get_archive_summaries",
    "get_archive_summary",
    "get_batch_messages",
    "get_message",
    "get_message_summaries",
    "get_messages",
    "get_messages_after",
    "get_messages_with_archived",
    "update_message_content",
    "upsert_archive_summary",
    "upsert_message",
]

_MESSAGE = codec_for(Message)
_SUMMARY = codec_for(MessageSummary)
_ARCHIVE = codec_for(ArchiveSummary)
_KEEP = ("id", "created_at")

# Index of `position` in a Message's encoded params (it is re-padded there when needed).
_POSITION_INDEX = _MESSAGE.columns.index("position")
_PREVIEW_INDEX = _MESSAGE.columns.index("content_preview")
_ARCHIVE_POSITION_INDEXES = tuple(
    _ARCHIVE.columns.index(name) for name in ("start_position", "end_position")
)
_MAX_POSITION_TEXT = f"{(1 << 64) - 1:020d}"

# The live conversation filters are literals, never bound values: SQLite uses the partial index
# idx_messages_live (WHERE is_archived = 0 AND is_deleted = 0) only when the query's WHERE
# visibly implies the index's, so `is_archived = ?` would fall back to a filtered scan.
_LIVE = "is_archived = 0 AND is_deleted = 0"

_SELECT_MESSAGE = f"SELECT {_MESSAGE.column_list} FROM messages"
_GET_MESSAGE = f"{_SELECT_MESSAGE} WHERE id = ? AND is_deleted = 0"
_GET_MESSAGE_ANY = f"{_SELECT_MESSAGE} WHERE id = ?"
_GET_MESSAGES = f"""{_SELECT_MESSAGE}
WHERE agent_id = ? AND {_LIVE} ORDER BY position DESC LIMIT ?"""
_GET_MESSAGES_WITH_ARCHIVED = f"""{_SELECT_MESSAGE}
WHERE agent_id = ? AND is_deleted = 0 ORDER BY position DESC LIMIT ?"""
_GET_MESSAGES_WITH_DELETED = f"""{_SELECT_MESSAGE}
WHERE agent_id = ? ORDER BY position DESC LIMIT ?"""
_GET_MESSAGES_AFTER = f"""{_SELECT_MESSAGE}
WHERE agent_id = ? AND position > ? AND {_LIVE} ORDER BY position ASC LIMIT ?"""
_INSERT_MESSAGE = _MESSAGE.insert_sql("messages")
_INSERT_MESSAGES = f"INSERT INTO messages ({_MESSAGE.column_list})"
_UPSERT_MESSAGE = f"""{_INSERT_MESSAGE}
ON CONFLICT(id) DO UPDATE SET {_MESSAGE.excluded_assignments(exclude=_KEEP)}"""
_ARCHIVE_MESSAGES = f"""
UPDATE messages SET is_archived = 1
WHERE agent_id = ? AND position < ? AND {_LIVE}"""
_DELETE_MESSAGES = """
UPDATE messages SET is_deleted = 1 WHERE agent_id = ? AND position < ? AND is_deleted = 0"""
_DELETE_MESSAGE = "UPDATE messages SET is_deleted = 1 WHERE id = ? AND is_deleted = 0"
_UPDATE_CONTENT = """
UPDATE messages SET content_json = ?, content_preview = ? WHERE id = ? AND is_deleted = 0"""
_COUNT_MESSAGES = f"SELECT count(*) FROM messages WHERE agent_id = ? AND {_LIVE}"
_COUNT_ALL_MESSAGES = "SELECT count(*) FROM messages WHERE agent_id = ? AND is_deleted = 0"
_GET_SUMMARIES = f"""SELECT {_SUMMARY.column_list} FROM messages
WHERE agent_id = ? AND {_LIVE} ORDER BY position DESC LIMIT ?"""

_SELECT_ARCHIVE = f"SELECT {_ARCHIVE.column_list} FROM archive_summaries"
_INSERT_ARCHIVE = _ARCHIVE.insert_sql("archive_summaries")
_UPSERT_ARCHIVE = f"""{_INSERT_ARCHIVE}
ON CONFLICT(id) DO UPDATE SET {_ARCHIVE.excluded_assignments(exclude=_KEEP)}"""


# -- reading -----------------------------------------------------------------------------------


def get_message(db: Executor, message_id: str, *, include_deleted: bool = False) -> Message | None:
    """Return the message with this id, or None (also None when tombstoned, unless asked)."""
    sql = _GET_MESSAGE_ANY if include_deleted else _GET_MESSAGE
    return fetch_one(db, _MESSAGE, sql, (message_id,))


def get_messages(db: Executor, agent_id: str, limit: int = 50) -> list[Message]:
    """Return an agent's newest live messages (not archived, not tombstoned), newest first.

    Reads straight off the partial index idx_messages_live, in reverse position order.

    Raises:
        InvalidData: `limit` is negative.
    """
    return fetch_all(db, _MESSAGE, _GET_MESSAGES, (agent_id, _validate.limit(limit)))


def get_messages_with_archived(
    db: Executor, agent_id: str, limit: int = 50, *, include_deleted: bool = False
) -> list[Message]:
    """Return an agent's newest messages, archived ones included, newest first.

    Tombstoned messages are left out unless `include_deleted` is True (for exports and audits).

    Raises:
        InvalidData: `limit` is negative.
    """
    sql = _GET_MESSAGES_WITH_DELETED if include_deleted else _GET_MESSAGES_WITH_ARCHIVED
    return fetch_all(db, _MESSAGE, sql, (agent_id, _validate.limit(limit)))


def get_messages_after(
    db: Executor, agent_id: str, after_position: str | int, limit: int = 50
) -> list[Message]:
    """Return an agent's live messages positioned strictly after `after_position`, oldest first.

    Example: page forward with `get_messages_after(db, "a1", page[-1].position)`.

    Raises:
        InvalidData: `after_position` is not a position, or `limit` is negative.
    """
    params = (agent_id, _position(after_position), _validate.limit(limit))
    return fetch_all(db, _MESSAGE, _GET_MESSAGES_AFTER, params)


def _batch_messages_sql(
    batch_id: str, *, agent_id: str | None = None, include_deleted: bool = False
) -> tuple[str, tuple[Any, ...]]:
    """Return the SQL and parameters of `get_batch_messages` (no I/O)."""
    where = ["batch_id = ?"]
    params: list[Any] = [batch_id]
    if agent_id is not None:
        where.append("agent_id = ?")
        params.append(agent_id)
    if not include_deleted:
        where.append("is_deleted = 0")
    # NULL sequence numbers sort first (SQLite's ascending order), position breaks ties.
    sql = f"{_SELECT_MESSAGE} WHERE {' AND '.join(where)} ORDER BY sequence_in_batch, position"
    return sql, tuple(params)


def get_batch_messages(
    db: Executor, batch_id: str, *, agent_id: str | None = None, include_deleted: bool = False
) -> list[Message]:
    """Return the messages of a batch ordered by sequence_in_batch (NULLs first), then position.

    Archived messages are included (a batch is returned whole); tombstoned ones are not unless
    asked. `agent_id` scopes the batch to one agent, so an agent never reads another agent's
    messages that happen to share a batch id.
    """
    sql, params = _batch_messages_sql(batch_id, agent_id=agent_id, include_deleted=include_deleted)
    return fetch_all(db, _MESSAGE, sql, params)


def get_message_summaries(db: Executor, agent_id: str, limit: int = 50) -> list[MessageSummary]:
    """Return light projections of an agent's newest live messages, newest first.

    Raises:
        InvalidData: `limit` is negative.
    """
    return fetch_all(db, _SUMMARY, _GET_SUMMARIES, (agent_id, _validate.limit(limit)))


def count_messages(db: Executor, agent_id: str) -> int:
    """Return how many live messages (not archived, not tombstoned) an agent has."""
    with db.reader() as conn:
        return int(scalar(conn, _COUNT_MESSAGES, (agent_id,)))


def count_all_messages(db: Executor, agent_id: str) -> int:
    """Return how many messages an agent has, archived included, tombstoned excluded."""
    with db.reader() as conn:
        return int(scalar(conn, _COUNT_ALL_MESSAGES, (agent_id,)))


# -- writing -----------------------------------------------------------------------------------


def create_message(db: Executor, message: Message) -> None:
    """Insert a message, every column taken from the record (position re-padded to 20 digits).

    Raises:
        AlreadyExists: a message with this id exists.
        ConstraintViolation: the agent does not exist, or a field breaks a CHECK.
        InvalidData: the position is not a non-negative 64-bit integer.
    """
    params = _message_params(message)
    with db.writer() as conn, translate_errors("message", message.id, record=message):
        conn.execute(_INSERT_MESSAGE, params)


def create_messages(db: Executor, messages: Iterable[Message]) -> None:
    """Insert many messages in one transaction with multi-row statements (all or nothing).

    Every record is validated and encoded before anything is written; if any row is refused
    (duplicate id, unknown agent, bad position) nothing is written and the error names the row.
    With vectors: `pattern_db.ingest.create_messages`.

    Raises:
        AlreadyExists: a message id exists already or repeats in `messages`.
        ConstraintViolation: an agent does not exist, or a field breaks a CHECK.
        InvalidData: a position is not a non-negative 64-bit integer.
    """
    records = messages if isinstance(messages, list | tuple) else list(messages)
    if not records:
        return
    rows = encode_messages(records)
    with db.writer() as conn:
        insert_message_rows(conn, records, rows)


def encode_messages(messages: Sequence[Message]) -> list[tuple[Any, ...]]:
    """Return every message's bound parameters (positions re-padded, previews derived)."""
    return [_message_params(m) for m in messages]


def insert_message_rows(
    conn: apsw.Connection, messages: Sequence[Message], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Write encoded messages inside the caller's write transaction."""
    insert_many(
        conn,
        _INSERT_MESSAGES,
        len(_MESSAGE.columns),
        rows,
        entity="message",
        name_of=lambda i: messages[i].id,
        record_of=lambda i: messages[i],
    )


def upsert_message(db: Executor, message: Message) -> None:
    """Insert the message, or update every column but id and created_at if the id exists.

    Every column means the flags too: upserting a record with `is_deleted=False` revives a
    tombstoned message, as writing the whole record should.

    Raises:
        ConstraintViolation: the agent does not exist, or a field breaks a CHECK.
        InvalidData: the position is not a non-negative 64-bit integer.
    """
    params = _message_params(message)
    with db.writer() as conn, translate_errors("message", message.id, record=message):
        conn.execute(_UPSERT_MESSAGE, params)


def archive_messages(db: Executor, agent_id: str, before_position: str | int) -> int:
    """Mark an agent's live messages strictly before `before_position` archived; return how many.

    Archived messages are kept (get_messages_with_archived, batches) but leave the live view.

    Raises:
        InvalidData: `before_position` is not a position.
    """
    params = (agent_id, _position(before_position))
    with db.writer() as conn:
        conn.execute(_ARCHIVE_MESSAGES, params)
        return conn.changes()


def delete_messages(db: Executor, agent_id: str, before_position: str | int) -> int:
    """Tombstone an agent's messages strictly before `before_position`; return how many.

    A soft delete (`is_deleted = 1`): rows stay for audits and exports but every read hides them.

    Raises:
        InvalidData: `before_position` is not a position.
    """
    params = (agent_id, _position(before_position))
    with db.writer() as conn:
        conn.execute(_DELETE_MESSAGES, params)
        return conn.changes()


def delete_message(db: Executor, message_id: str) -> bool:
    """Tombstone one message; return True if it existed and was not already tombstoned."""
    with db.writer() as conn:
        conn.execute(_DELETE_MESSAGE, (message_id,))
        return conn.changes() > 0


def update_message_content(
    db: Executor, message_id: str, content_json: Any, content_preview: str | None = None
) -> None:
    """Replace a message's content (any JSON value) and its preview.

    A preview of None is derived from the content (`queries.preview`); pass "" for none. The FTS
    index follows the preview through its trigger.

    Raises:
        NotFound: no live-or-archived message has this id (tombstoned ones count as missing).
    """
    if content_preview is None:
        content_preview = preview_of(content_json)
    params = (json_text(content_json, "content_json"), content_preview, message_id)
    write_one(db, _UPDATE_CONTENT, params, "message", message_id)


# -- archive summaries -------------------------------------------------------------------------


def get_archive_summary(db: Executor, summary_id: str) -> ArchiveSummary | None:
    """Return the archive summary with this id, or None."""
    return fetch_one(db, _ARCHIVE, f"{_SELECT_ARCHIVE} WHERE id = ?", (summary_id,))


def get_archive_summaries(db: Executor, agent_id: str) -> list[ArchiveSummary]:
    """Return an agent's archive summaries ordered by start position (then id)."""
    sql = f"{_SELECT_ARCHIVE} WHERE agent_id = ? ORDER BY start_position, id"
    return fetch_all(db, _ARCHIVE, sql, (agent_id,))


def create_archive_summary(db: Executor, summary: ArchiveSummary) -> None:
    """Insert an archive summary, every column taken from the record (positions re-padded).

    Raises:
        AlreadyExists: a summary with this id exists.
        ConstraintViolation: the agent or the previous summary does not exist.
        InvalidData: a position is not a non-negative 64-bit integer.
    """
    params = _archive_params(summary)
    with db.writer() as conn, translate_errors("archive summary", summary.id, record=summary):
        conn.execute(_INSERT_ARCHIVE, params)


def upsert_archive_summary(db: Executor, summary: ArchiveSummary) -> None:
    """Insert the summary, or update every column but id and created_at if the id exists.

    Raises:
        ConstraintViolation: the agent or the previous summary does not exist.
        InvalidData: a position is not a non-negative 64-bit integer.
    """
    params = _archive_params(summary)
    with db.writer() as conn, translate_errors("archive summary", summary.id, record=summary):
        conn.execute(_UPSERT_ARCHIVE, params)


def delete_archive_summary(db: Executor, summary_id: str) -> bool:
    """Delete an archive summary; return whether it existed.

    Summaries that folded it in keep existing with `previous_summary_id` set to NULL.
    """
    with db.writer() as conn:
        conn.execute("DELETE FROM archive_summaries WHERE id = ?", (summary_id,))
        return conn.changes() > 0


# -- helpers -----------------------------------------------------------------------------------


def _position(value: str | int) -> str:
    """Return a position as canonical 20-digit text (cheap when it already is)."""
    if (
        type(value) is str
        and len(value) == 20
        and value.isdigit()
        and value.isascii()
        and value <= _MAX_POSITION_TEXT
    ):
        return value
    return normalize_position(value)


def _message_params(message: Message) -> tuple[Any, ...]:
    try:
        params = _MESSAGE.encode(message)
    except InvalidData as exc:  # a naive datetime: say which record
        exc.add_note(f"in record {message.id}")
        raise
    position = params[_POSITION_INDEX]
    canonical = _position_of(message.id, position)
    if canonical is not position:
        params = (*params[:_POSITION_INDEX], canonical, *params[_POSITION_INDEX + 1 :])
    if message.content_preview is None:
        # Without a preview the message would have no full-text entry: take its text.
        derived = preview_of(message.content_json)
        if derived is not None:
            params = (*params[:_PREVIEW_INDEX], derived, *params[_PREVIEW_INDEX + 1 :])
    return params


def _archive_params(summary: ArchiveSummary) -> tuple[Any, ...]:
    params = list(_ARCHIVE.encode(summary))
    for index in _ARCHIVE_POSITION_INDEXES:
        params[index] = _position_of(summary.id, params[index])
    return tuple(params)


def _position_of(record_id: str, value: str | int) -> str:
    try:
        return _position(value)
    except InvalidData as exc:
        exc.add_note(f"in record {record_id}")
        raise
