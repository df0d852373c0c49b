"""The shapes every query module repeats: read one record, read many, write exactly one row."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from pattern_db.codec import RecordCodec
from pattern_db.connection import Executor
from pattern_db.errors import NotFound, translate_errors

__all__ = ["fetch_all", "fetch_one", "write_one"]

R = TypeVar("R", bound=msgspec.Struct)


def fetch_one(db: Executor, codec: RecordCodec[R], sql: str, params: Any = ()) -> R | None:
    """Return the first row of a query as a record, or None when there is none."""
    with db.reader() as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else codec.decode(row)


def fetch_all(db: Executor, codec: RecordCodec[R], sql: str, params: Any = ()) -> list[R]:
    """Return every row of a query as records."""
    with db.reader() as conn:
        return codec.decode_all(conn.execute(sql, params).fetchall())


def write_one(
    db: Executor,
    sql: str,
    params: Any,
    entity: str,
    entity_id: object,
    *,
    record: object = None,
) -> None:
    """Run a write that must change a row; SQLite errors are translated for `entity`.

    Raises:
        NotFound: the statement changed no row.
    """
    with db.writer() as conn, translate_errors(entity, entity_id, record=record):
        conn.execute(sql, params)
        if conn.changes() == 0:
            raise NotFound(entity, entity_id)
