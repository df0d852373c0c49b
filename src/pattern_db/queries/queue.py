"""The agent-to-agent message queue: enqueue, read pending, mark processed, purge old."""

from __future__ import annotations

from datetime import datetime, timedelta

from pattern_db import _validate
from pattern_db.codec import codec_for, ts_text
from pattern_db.connection import Executor, scalar
from pattern_db.errors import InvalidData, NotFound, translate_errors
from pattern_db.models.message import QueuedMessage
from pattern_db.queries._rows import fetch_all, fetch_one
from pattern_db.timeutil import now, now_ts

__all__ = [
    "create_queued_message",
    "delete_old_processed",
    "get_pending_messages",
    "get_queued_message",
    "mark_message_processed",
]

_QUEUED = codec_for(QueuedMessage)

_SELECT_QUEUED = f"SELECT {_QUEUED.column_list} FROM queued_messages"
_INSERT_QUEUED = _QUEUED.insert_sql("queued_messages")
_GET_PENDING = f"""{_SELECT_QUEUED}
WHERE target_agent_id = ? AND processed_at IS NULL
ORDER BY priority DESC, created_at ASC, id ASC LIMIT ?"""
_MARK_PROCESSED = """
UPDATE queued_messages SET processed_at = ? WHERE id = ? AND processed_at IS NULL"""
_EXISTS = "SELECT 1 FROM queued_messages WHERE id = ?"
_DELETE_OLD_PROCESSED = """
DELETE FROM queued_messages WHERE processed_at IS NOT NULL AND processed_at < ?"""


def create_queued_message(db: Executor, message: QueuedMessage) -> None:
    """Enqueue a message, every column taken from the record (created_at included).

    Deleting the target agent deletes its queued messages (the schema cascades; the reference's
    plain foreign key made that delete fail instead).

    Raises:
        AlreadyExists: a queued message with this id exists.
        ConstraintViolation: the target agent does not exist, or a `*_json` field is not JSON.
    """
    with db.writer() as conn, translate_errors("queued message", message.id, record=message):
        conn.execute(_INSERT_QUEUED, _QUEUED.encode(message))


def get_queued_message(db: Executor, message_id: str) -> QueuedMessage | None:
    """Return the queued message with this id (pending or processed), or None."""
    return fetch_one(db, _QUEUED, f"{_SELECT_QUEUED} WHERE id = ?", (message_id,))


def get_pending_messages(db: Executor, agent_id: str, limit: int = 50) -> list[QueuedMessage]:
    """Return an agent's unprocessed messages: highest priority first, then oldest first.

    Raises:
        InvalidData: `limit` is negative.
    """
    _validate.limit(limit)
    return fetch_all(db, _QUEUED, _GET_PENDING, (agent_id, limit))


def mark_message_processed(
    db: Executor, message_id: str, *, processed_at: datetime | None = None
) -> None:
    """Set a queued message's processed_at (now by default, bound from Python in canonical text).

    Marking an already processed message again keeps its first processed_at, so the retention
    window of `delete_old_processed` counts from when it was really processed. (The reference
    wrote SQL `datetime('now')` text, overwrote it on every call and ignored missing ids.)

    Raises:
        NotFound: no queued message has this id.
        InvalidData: `processed_at` is a naive datetime.
    """
    stamp = now_ts() if processed_at is None else ts_text(processed_at)
    with db.writer() as conn, translate_errors("queued message", message_id):
        conn.execute(_MARK_PROCESSED, (stamp, message_id))
        if conn.changes() == 0 and scalar(conn, _EXISTS, (message_id,)) is None:
            raise NotFound("queued message", message_id)


def delete_old_processed(db: Executor, hours: float) -> int:
    """Delete messages processed more than `hours` ago; return how many were deleted.

    The cutoff is computed in Python and compared as canonical text (the reference compared
    SQLite's `datetime('now')` format with RFC 3339 text, which is wrong within a day).
    Pending messages are never deleted.

    Raises:
        InvalidData: `hours` is negative.
    """
    if hours < 0:
        raise InvalidData(f"hours must be >= 0, got {hours}")
    cutoff = ts_text(now() - timedelta(hours=hours))
    with db.writer() as conn:
        conn.execute(_DELETE_OLD_PROCESSED, (cutoff,))
        return conn.changes()
