"""Keeping a constellation file sound: verify, vacuum, checkpoint, and the full-text indexes.

The one copy of each maintenance operation; `ConstellationDb.verify/vacuum/checkpoint`,
`fts.rebuild_*` and `pattern-db verify|vacuum|checkpoint` call these. The full-text indexes are
found in the schema (every FTS5 table), so this module needs no knowledge of the search layer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import apsw
import msgspec

from pattern_db import migrate as migrations
from pattern_db.errors import DbError

if TYPE_CHECKING:
    from pattern_db.connection import ConstellationDb, Executor

__all__ = [
    "Check",
    "Progress",
    "check_fts",
    "checkpoint",
    "fts_tables",
    "integrity_check",
    "misowned_vectors",
    "optimize_fts",
    "orphan_vectors",
    "purge_orphan_vectors",
    "rebuild_fts",
    "vacuum",
    "verify",
    "verify_checks",
    "wrong_size_vectors",
]

# progress(stage, done, total): `total` None while the size of a stage is unknown.
Progress = Callable[[str, int, "int | None"], None]

_FTS_TABLES = """
SELECT name FROM sqlite_schema
WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE % USING fts5(%' ORDER BY name
"""
# Vectors whose content row is gone: content deleted through pattern-db takes its vectors along
# (migration 0003's triggers), so only writes around it, or vectors stored for ids that were never
# stored, leave these.
_ORPHAN = """NOT CASE e.content_type
    WHEN 'message' THEN EXISTS (SELECT 1 FROM messages AS m WHERE m.id = e.content_id)
    WHEN 'memory_block' THEN EXISTS (SELECT 1 FROM memory_blocks AS b WHERE b.id = e.content_id)
    WHEN 'archival_entry'
        THEN EXISTS (SELECT 1 FROM archival_entries AS a WHERE a.id = e.content_id)
    ELSE EXISTS (SELECT 1 FROM file_passages AS p WHERE p.id = e.content_id)
END"""
_ORPHANS = f"""
SELECT e.content_type, count(*) FROM embeddings AS e WHERE {_ORPHAN}
GROUP BY e.content_type ORDER BY e.content_type
"""
_DELETE_ORPHANS = f"DELETE FROM embeddings AS e WHERE {_ORPHAN}"
# Vectors whose recorded owner is not their content's (or of a tombstoned message): migration
# 0003's triggers keep the owner in step, so these too come only from writes around pattern-db,
# and scoped vector search would show them to the wrong agent.
_MISOWNED = """
SELECT e.content_type, count(*) FROM embeddings AS e WHERE CASE e.content_type
    WHEN 'message' THEN EXISTS (SELECT 1 FROM messages AS m WHERE m.id = e.content_id
        AND (m.agent_id IS NOT e.agent_id OR e.folder_id IS NOT NULL OR m.is_deleted = 1))
    WHEN 'memory_block' THEN EXISTS (SELECT 1 FROM memory_blocks AS b WHERE b.id = e.content_id
        AND (b.agent_id IS NOT e.agent_id OR e.folder_id IS NOT NULL))
    WHEN 'archival_entry' THEN EXISTS (SELECT 1 FROM archival_entries AS a
        WHERE a.id = e.content_id AND (a.agent_id IS NOT e.agent_id OR e.folder_id IS NOT NULL))
    ELSE EXISTS (SELECT 1 FROM file_passages AS p JOIN folder_files AS f ON f.id = p.file_id
        WHERE p.id = e.content_id AND (e.agent_id IS NOT NULL OR e.folder_id IS NOT f.folder_id))
END
GROUP BY e.content_type ORDER BY e.content_type
"""
_INDEX_DIMENSIONS = "SELECT dimensions FROM embedding_meta WHERE id = 1"
# float32 vectors: 4 bytes a dimension. Without a settings row every vector is unreadable.
_WRONG_SIZE = """
SELECT count(*) FROM embeddings
WHERE length(embedding) IS NOT (SELECT dimensions * 4 FROM embedding_meta WHERE id = 1)
"""
_BUMP_GENERATION = "UPDATE embedding_meta SET generation = generation + 1 WHERE id = 1"


def integrity_check(conn: apsw.Connection) -> list[str]:
    """Return SQLite's integrity_check messages (empty when the file is sound)."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    return [] if rows == ["ok"] else rows


def fts_tables(db: Executor) -> list[str]:
    """Return the names of the database's FTS5 indexes."""
    with db.reader() as conn:
        return [str(row[0]) for row in conn.execute(_FTS_TABLES)]


def _fts_command(
    db: Executor,
    command: str,
    tables: Iterable[str] | None,
    progress: Progress | None = None,
    stage: str = "",
) -> None:
    names = fts_tables(db) if tables is None else list(tables)
    known = set(fts_tables(db))
    with db.writer() as conn:
        for done, name in enumerate(names):
            if name not in known:  # names come from callers: only ever an existing FTS5 table
                raise DbError(f"no full-text index named {name!r}")
            if progress is not None:
                progress(stage, done, len(names))
            conn.execute(f"INSERT INTO {name}({name}) VALUES ('{command}')")
        if progress is not None:
            progress(stage, len(names), len(names))


def rebuild_fts(
    db: Executor, tables: Iterable[str] | None = None, *, progress: Progress | None = None
) -> None:
    """Rebuild full-text indexes from their content tables (all of them by default), one write.

    `progress(stage, done, total)` is told after each index.
    """
    _fts_command(db, "rebuild", tables, progress, "rebuilding full-text indexes")


def optimize_fts(db: Executor, tables: Iterable[str] | None = None) -> None:
    """Merge each full-text index's segments into one (faster queries after large imports)."""
    _fts_command(db, "optimize", tables)


def check_fts(db: Executor, tables: Iterable[str] | None = None) -> list[str]:
    """Return the FTS indexes that disagree with their content table ([] when all agree).

    FTS5's `integrity-check` with rank 1 compares every index entry with the content table; it
    reads everything, so it is a maintenance call, not a probe.
    """
    bad = []
    for name in fts_tables(db) if tables is None else list(tables):
        try:
            with db.writer() as conn:
                conn.execute(f"INSERT INTO {name}({name}, rank) VALUES ('integrity-check', 1)")
        except DbError:
            bad.append(name)
    return bad


def orphan_vectors(db: Executor) -> dict[str, int]:
    """Return how many vectors, per content type, embed content that is not stored."""
    with db.reader() as conn:
        rows: list[Any] = conn.execute(_ORPHANS).fetchall()
    return {str(t): int(n) for t, n in rows}


def misowned_vectors(db: Executor) -> dict[str, int]:
    """Return how many vectors, per content type, have another owner than their content.

    The owner is the agent, or the folder for a file passage; a deleted message's vectors count.
    """
    with db.reader() as conn:
        rows: list[Any] = conn.execute(_MISOWNED).fetchall()
    return {str(t): int(n) for t, n in rows}


def wrong_size_vectors(db: Executor) -> tuple[int | None, int]:
    """Return (the index's dimensions or None, how many vectors are not of that size)."""
    with db.reader() as conn:
        row: Any = conn.execute(_INDEX_DIMENSIONS).fetchone()
        wrong: Any = conn.execute(_WRONG_SIZE).fetchone()
    return (None if row is None else int(row[0])), int(wrong[0])


def purge_orphan_vectors(db: Executor) -> int:
    """Delete every vector whose content is not stored; return how many went."""
    with db.writer() as conn:
        conn.execute(_DELETE_ORPHANS)
        gone = conn.changes()
        if gone:
            # Every in-process vector cache, this handle's too, reads the change next query.
            conn.execute(_BUMP_GENERATION)
    return gone


def vacuum(db: ConstellationDb, *, progress: Progress | None = None) -> None:
    """Rebuild the file compactly, then rebuild the FTS indexes.

    VACUUM may renumber the implicit rowids the external-content FTS tables point at, so the
    indexes are rebuilt from their content tables afterwards. `progress(stage, done, total)`
    hears of both stages (VACUUM itself with total None: SQLite gives no measure of it).
    """
    if progress is not None:
        progress("vacuuming", 0, None)
    with db.exclusive() as conn:
        conn.execute("VACUUM")
    if progress is not None:
        progress("vacuuming", 1, 1)
    rebuild_fts(db, progress=progress)


def checkpoint(db: ConstellationDb) -> tuple[int, int, int]:
    """Run `wal_checkpoint(TRUNCATE)`; return (busy, wal pages, pages checkpointed)."""
    with db.exclusive() as conn:
        row: Any = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


class Check(msgspec.Struct, kw_only=True):
    """One check of `verify_checks`: its name, what it covered, and the problems it found."""

    name: str
    detail: str
    problems: list[str] = msgspec.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the check found nothing wrong."""
        return not self.problems


def verify_checks(db: ConstellationDb) -> list[Check]:
    """Run every check of the file and return each one's findings, one line per problem.

    SQLite's integrity_check and foreign_key_check, the migration history, FTS5's integrity
    check of each full-text index against its content table, and the vectors against their
    content: stored, under the same owner, of the index's size.
    """
    with db.reader() as conn:
        pages = Check(name="integrity", detail="PRAGMA integrity_check")
        pages.problems += [f"integrity: {p}" for p in integrity_check(conn)]
        keys = Check(name="foreign keys", detail="PRAGMA foreign_key_check")
        for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall():
            keys.problems.append(f"foreign key: {table} row {rowid} refers to a missing {parent}")
        history = Check(name="migrations", detail="applied migrations against this version's")
        try:
            pending = migrations.pending_migrations(conn)
        except DbError as exc:
            history.problems.append(f"migrations: {exc}")
        else:
            history.problems += [
                f"migrations: {m.version:04d}_{m.name} not applied" for m in pending
            ]
    names = fts_tables(db)
    fts = Check(name="full-text indexes", detail=f"{len(names)} FTS5 indexes against their tables")
    fts.problems += [
        f"full-text index {name} disagrees with its table; run `pattern-db vacuum` to rebuild it"
        for name in check_fts(db, names)
    ]
    return [pages, keys, history, fts, _vector_check(db)]


def _vector_check(db: ConstellationDb) -> Check:
    dimensions, wrong_size = wrong_size_vectors(db)
    detail = (
        "no vector index"
        if dimensions is None
        else f"content stored, owner, size ({dimensions} dimensions)"
    )
    check = Check(name="vectors", detail=detail)
    for content_type, count in orphan_vectors(db).items():
        check.problems.append(
            f"vectors: {count} {content_type} vector(s) embed content that is not stored; "
            "remove them with vector.purge_orphans (or keep them as constellation-wide)"
        )
    for content_type, count in misowned_vectors(db).items():
        check.problems.append(
            f"vectors: {count} {content_type} vector(s) are recorded under another owner than "
            "their content's (or embed a deleted message); re-embed with "
            "`pattern-db index --reembed`"
        )
    if wrong_size:
        size = "no index settings" if dimensions is None else f"not {dimensions} dimensions"
        check.problems.append(
            f"vectors: {wrong_size} vector(s) have {size}; re-embed with "
            "`pattern-db index --reembed`"
        )
    return check


def verify(db: ConstellationDb) -> list[str]:
    """Return every problem `verify_checks` finds (empty when sound), each one line."""
    return [problem for check in verify_checks(db) for problem in check.problems]
