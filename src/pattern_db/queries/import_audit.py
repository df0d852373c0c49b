"""Import audit records (table `migration_audit`): one row per import run, with its log.

"Migration" in the Rust crate's names means moving data in from an older system; the functions
are named for the import audit they record, with the crate's names kept as aliases.
"""

from __future__ import annotations

from pattern_db import _validate
from pattern_db.codec import codec_for
from pattern_db.connection import Executor, scalar
from pattern_db.errors import translate_errors
from pattern_db.models.import_audit import MigrationAudit
from pattern_db.queries._rows import fetch_all, fetch_one

__all__ = [
    "count_import_audits",
    "count_migration_audits",
    "create_import_audit",
    "create_migration_audit",
    "get_import_audit",
    "get_migration_audit",
    "list_import_audits",
    "list_migration_audits",
]

_AUDIT = codec_for(MigrationAudit)

_SELECT = f"SELECT {_AUDIT.column_list} FROM migration_audit"
_INSERT = _AUDIT.insert_sql("migration_audit")
# LIMIT -1 is SQLite's "no limit"; id breaks ties between runs recorded in the same microsecond.
_LIST = f"{_SELECT} ORDER BY imported_at DESC, id DESC LIMIT ?"


def create_import_audit(db: Executor, audit: MigrationAudit) -> None:
    """Insert an import's audit record, its MigrationLog stored as JSON.

    Raises:
        AlreadyExists: an audit record with this id exists.
        ConstraintViolation: issues_found or issues_resolved is negative.
    """
    with db.writer() as conn, translate_errors("migration audit", audit.id, record=audit):
        conn.execute(_INSERT, _AUDIT.encode(audit))


def get_import_audit(db: Executor, audit_id: str) -> MigrationAudit | None:
    """Return the audit record with this id (its log decoded into Structs), or None."""
    return fetch_one(db, _AUDIT, f"{_SELECT} WHERE id = ?", (audit_id,))


def list_import_audits(db: Executor, limit: int | None = None) -> list[MigrationAudit]:
    """Return audit records newest first (by imported_at), at most `limit` (None: all).

    Raises:
        InvalidData: `limit` is negative.
    """
    if limit is not None:
        _validate.limit(limit)
    return fetch_all(db, _AUDIT, _LIST, (-1 if limit is None else limit,))


def count_import_audits(db: Executor) -> int:
    """Return the number of audit records."""
    with db.reader() as conn:
        return int(scalar(conn, "SELECT count(*) FROM migration_audit"))


# The Rust crate's names.
create_migration_audit = create_import_audit
get_migration_audit = get_import_audit
list_migration_audits = list_import_audits
count_migration_audits = count_import_audits
