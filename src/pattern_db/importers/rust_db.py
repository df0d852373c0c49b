"""Copy a SQLite file written by the Rust `pattern_db` crate into a pattern-db constellation.

Design note. The source is opened with its own read-only apsw connection (`immutable=1` when
no `-wal` file exists, so SQLite creates no side files; `mode=ro` otherwise, so committed WAL
content is read) and is never written. Every table the crate's migrations 0001-0013 create is
copied row by row through this package's query functions inside one transaction, so each row
is validated by this schema's CHECKs. Values are converted by the target record's field types:
timestamps from either of the crate's text formats (RFC 3339 with `+00:00`, or SQL
`datetime('now')` text) or unix seconds to the canonical form; JSON columns that SQLite's
NUMERIC affinity turned into INTEGER/REAL back into JSON; enum strings normalised; message
positions re-padded to 20 digits. Rows that point at rows of the same table are written parents
first. A checkpoint's `up_to_seq` (which the crate did not store) is derived from the deltas
left after it. Vectors of a vec0 `embeddings` table are copied when sqlite-vec can read them.
Every transformation is counted per table and column in the audit.
"""

from __future__ import annotations

import enum
import json
import os
import re
import types
import typing
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import apsw
import msgspec

from pattern_db.connection import ConstellationDb, Transaction
from pattern_db.errors import DbError, ImportFailed, InvalidData
from pattern_db.importers._report import ImportReport, Progress, Recorder, run_import
from pattern_db.importers._rust_tables import SKIPPED_PREFIXES, SKIPPED_TABLES, TABLES, TableSpec
from pattern_db.importers._values import position_text, timestamp
from pattern_db.models.import_audit import IssueSeverity
from pattern_db.models.memory import MemoryBlock, MemoryPermission
from pattern_db.models.message import Message
from pattern_db.queries import memory as q_memory
from pattern_db.queries import message as q_message

__all__ = ["import_rust_db"]

_MESSAGE_BATCH = 5000
_POSITION_FIELDS = frozenset({"position", "start_position", "end_position"})
_OLD_ROLES = {"supervisor": "supervisor", "worker": "regular", "observer": "observer"}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T")
_VEC_DIMS = re.compile(r"float\[(\d+)\]", re.IGNORECASE)


def _open_source(path: Path) -> apsw.Connection:
    if not path.is_file():
        raise ImportFailed(f"no file at {path}")
    mode = "mode=ro" if Path(f"{path}-wal").exists() else "immutable=1"
    uri = f"file:{path.absolute().as_posix()}?{mode}"
    try:
        conn = apsw.Connection(uri, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    except apsw.Error as exc:
        raise ImportFailed(f"cannot open {path} read-only: {exc}") from exc
    try:
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    except apsw.Error as exc:
        conn.close()
        raise ImportFailed(f"{path} is not a SQLite database ({exc})") from exc
    return conn


def _tables(conn: apsw.Connection) -> dict[str, str]:
    rows = conn.execute("SELECT name, sql FROM sqlite_schema WHERE type = 'table'").fetchall()
    return {str(name): str(sql or "") for name, sql in rows}


def _columns(conn: apsw.Connection, table: str) -> dict[str, str]:
    # The table name comes from the spec whitelist (or sqlite_schema for the vec0 check).
    rows = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
    return {str(r[1]): str(r[2] or "").upper() for r in rows}


def _select_sql(table: str, columns: list[str], order: str | None) -> tuple[str, tuple[()]]:
    """Return the SELECT for a whitelisted table and its introspected columns."""
    names = ", ".join(f'"{c}"' for c in columns)
    suffix = f' ORDER BY "{order}"' if order else ""
    return f'SELECT {names} FROM "{table}"{suffix}', ()


# -- value conversion ---------------------------------------------------------------------------


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), True
    return annotation, False


class _Converter:
    """Converts the rows of one table to its record type, noting every transformation."""

    def __init__(self, spec: TableSpec, columns: dict[str, str], rec: Recorder) -> None:
        self.spec = spec
        self.columns = columns
        self.rec = rec
        self.fields = {f.name: f for f in msgspec.structs.fields(spec.model)}
        hints = typing.get_type_hints(spec.model)
        self.kinds = {name: _unwrap(hints[name]) for name in self.fields}
        self.used = [c for c in columns if c in self.fields]
        for column in columns:
            if column not in self.fields and column not in ("importance_rank", "priority_rank"):
                rec.issue(
                    IssueSeverity.WARNING,
                    f"column {spec.table}.{column} has no place in this schema",
                    entity_type=spec.table,
                    resolution="dropped",
                )

    def row(self, values: tuple[Any, ...]) -> Any:
        table = self.spec.table
        row = dict(zip(self.used, values, strict=True))
        key = str(row.get(self.spec.id_column, "?"))
        out: dict[str, Any] = {}
        for name, value in row.items():
            out[name] = self.value(name, value, key)
        if table == "group_members":
            out["role"] = self.role(row.get("role"), key)
        if table == "memory_block_updates" and isinstance(out.get("update_blob"), bytes):
            size = len(out["update_blob"])
            if out.get("byte_size") != size:
                self.rec.transformed(table, "byte_size", "recomputed from update_blob", key)
                out["byte_size"] = size
        try:
            return msgspec.convert(out, self.spec.model, strict=False)
        except msgspec.ValidationError as exc:
            raise ImportFailed(f"{table} row {key}: {exc}") from exc

    def value(self, name: str, value: Any, key: str) -> Any:
        table = self.spec.table
        kind, _optional = self.kinds[name]
        declared = self.columns.get(name, "")
        if value is None:
            if name in ("chunk_index", "messages_covered"):
                self.rec.transformed(table, name, "NULL read as 0", key)
                return 0
            return None
        if name in _POSITION_FIELDS and table in ("messages", "archive_summaries"):
            return self.position(name, value, key)
        if kind is datetime:
            if isinstance(value, str) and not _RFC3339.match(value):
                self.rec.transformed(table, name, "SQL datetime text -> canonical UTC", key)
            elif isinstance(value, int):
                self.rec.transformed(table, name, "unix seconds -> canonical UTC", key)
            else:
                self.rec.transformed(table, name, "RFC 3339 -> canonical UTC", key)
            return timestamp(value, f"{table} row {key}.{name}")
        if declared == "JSON":
            return self.json(name, value, key, text=kind is str)
        if kind is bool:
            return bool(value)
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return self.enum(name, kind, value, key)
        return value

    def json(self, name: str, value: Any, key: str, *, text: bool) -> Any:
        table = self.spec.table
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, int | float):
            # NUMERIC affinity stored the JSON text `5` or `1.50` as a number.
            self.rec.transformed(table, name, "JSON number stored as INTEGER/REAL", key)
            return json.dumps(value) if text else value
        if text:
            return value
        try:
            return json.loads(value)
        except ValueError:
            self.rec.transformed(table, name, "not valid JSON: kept as a JSON string", key)
            return value

    def enum(self, name: str, kind: type[enum.Enum], value: Any, key: str) -> Any:
        text = str(value)
        if kind is MemoryPermission:
            try:
                return MemoryPermission.parse(text)
            except ValueError:
                pass
        normal = text.strip().lower().replace("-", "_").replace(" ", "_")
        if normal in {m.value for m in kind}:
            if normal != text:
                self.rec.transformed(self.spec.table, name, "enum spelling normalised", key)
            return normal
        default = self.fields[name].default
        if default is msgspec.NODEFAULT or default is None:
            if self.kinds[name][1]:
                return self.unknown(name, text, key, None)
            raise ImportFailed(f"{self.spec.table} row {key}.{name}: unknown value {text!r}")
        return self.unknown(name, text, key, default)

    def unknown(self, name: str, text: str, key: str, default: Any) -> Any:
        self.rec.issue(
            IssueSeverity.WARNING,
            f"{self.spec.table} row {key}.{name} holds {text!r}, which this schema does not know",
            entity_type=self.spec.table,
            entity_id=key,
            resolution=f"set to {default!s}" if default is not None else "set to NULL",
        )
        return default

    def position(self, name: str, value: Any, key: str) -> str:
        try:
            text = position_text(value)
        except InvalidData:
            self.rec.issue(
                IssueSeverity.WARNING,
                f"{self.spec.table} row {key}.{name} {value!r} is not a snowflake position",
                entity_type=self.spec.table,
                entity_id=key,
                resolution="set to 0",
            )
            return "0" * 20
        if text != value:
            self.rec.transformed(self.spec.table, name, "re-padded to 20 digits", key)
        return text

    def role(self, value: Any, key: str) -> Any:
        if value is None:
            return None
        parsed: Any = value
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = value
        if isinstance(parsed, str):
            mapped = _OLD_ROLES.get(parsed.lower(), "regular")
            self.rec.transformed("group_members", "role", "old TEXT role -> tagged JSON", key)
            return {"type": mapped}
        return parsed


# -- copying ------------------------------------------------------------------------------------


def _parents_first(records: list[Any], parent: str, id_field: str) -> list[Any]:
    by_id = {getattr(r, id_field): r for r in records}
    done: set[Any] = set()
    ordered: list[Any] = []
    for record in records:
        chain: list[Any] = []
        current = record
        while current is not None and getattr(current, id_field) not in done:
            if any(current is c for c in chain):
                break
            chain.append(current)
            link = getattr(current, parent)
            current = by_id.get(link) if link else None
        for found in reversed(chain):
            done.add(getattr(found, id_field))
            ordered.append(found)
    return ordered


class _Copy:
    def __init__(self, src: apsw.Connection, tx: Transaction, rec: Recorder) -> None:
        self.src = src
        self.tx = tx
        self.rec = rec
        self.tables = _tables(src)
        self.blocks: dict[str, MemoryBlock] = {}
        self.owner: dict[tuple[str, str], str | None] = {}
        self.update_seqs: dict[str, list[tuple[datetime, int]]] = {}

    def rows(self, spec: TableSpec) -> Iterator[Any]:
        columns = _columns(self.src, spec.table)
        conv = _Converter(spec, columns, self.rec)
        sql, params = _select_sql(spec.table, conv.used, None)
        for values in self.src.execute(sql, params):
            yield conv.row(values)

    def run(self) -> None:
        for name in sorted(self.tables):
            known = {s.table for s in TABLES}
            if name in known or name in SKIPPED_TABLES or name.startswith(SKIPPED_PREFIXES):
                continue
            self.rec.issue(
                IssueSeverity.WARNING,
                f"table {name} is not part of the Rust crate's schema",
                entity_type=name,
                resolution="not copied",
            )
        self.prepare_checkpoints()
        for i, spec in enumerate(TABLES):
            if spec.table in self.tables:
                self.copy(spec)
            self.rec.progress("tables", i + 1, len(TABLES))
        for block_id in self.update_seqs:
            block = self.blocks.get(block_id)
            if block is not None:
                # create_update stamps the block's updated_at; put the source's value back.
                q_memory.upsert_block(self.tx, block)

    def prepare_checkpoints(self) -> None:
        if "memory_block_updates" not in self.tables:
            return
        sql = "SELECT block_id, seq, created_at FROM memory_block_updates"
        for block_id, seq, created in self.src.execute(sql):
            when = timestamp(created, f"memory_block_updates {block_id}/{seq}.created_at")
            self.update_seqs.setdefault(str(block_id), []).append((when, int(seq)))

    def copy(self, spec: TableSpec) -> None:
        records = list(self.rows(spec)) if spec.parent_column else None
        source: Any = (
            _parents_first(records, spec.parent_column, spec.id_column)
            if records is not None and spec.parent_column
            else self.rows(spec)
        )
        batch: list[Message] = []
        n = 0
        for record in source:
            n += 1
            self.remember(spec.table, record)
            if spec.table == "messages":
                batch.append(record)
                if len(batch) >= _MESSAGE_BATCH:
                    q_message.create_messages(self.tx, batch)
                    batch = []
                    self.rec.progress("messages", n, None)
                continue
            if spec.table == "memory_block_checkpoints":
                record = msgspec.structs.replace(record, up_to_seq=self.up_to_seq(record))
            if spec.table == "events":
                self.write_event(spec, record)
                continue
            spec.write(self.tx, record)
        if batch:
            q_message.create_messages(self.tx, batch)
        if n:
            self.rec.count(spec.table, n)

    def remember(self, table: str, record: Any) -> None:
        if table == "memory_blocks":
            self.blocks[record.id] = record
            self.owner[("memory_block", record.id)] = record.agent_id
        elif table == "messages":
            self.owner[("message", record.id)] = record.agent_id
        elif table == "archival_entries":
            self.owner[("archival_entry", record.id)] = record.agent_id

    def up_to_seq(self, checkpoint: Any) -> int:
        later = [
            seq
            for when, seq in self.update_seqs.get(checkpoint.block_id, [])
            if when > checkpoint.created_at
        ]
        block = self.blocks.get(checkpoint.block_id)
        derived = min(later) - 1 if later else (block.last_seq if block else 0)
        self.rec.transformed(
            "memory_block_checkpoints",
            "up_to_seq",
            "derived: the seq before the first delta written after the checkpoint",
            str(checkpoint.id),
        )
        return max(derived, 0)

    def write_event(self, spec: TableSpec, event: Any) -> None:
        try:
            with self.tx.writer():
                spec.write(self.tx, event)
        except InvalidData as exc:
            self.rec.issue(
                IssueSeverity.WARNING,
                f"event {event.id} has an invalid RRULE {event.rrule!r} ({exc})",
                entity_type="event",
                entity_id=event.id,
                resolution="imported without the rule (the rule text is kept here)",
            )
            spec.write(self.tx, msgspec.structs.replace(event, rrule=None))

    # -- vectors ---------------------------------------------------------------------------------

    def embeddings(self) -> None:
        ddl = self.tables.get("embeddings")
        if not ddl or "vec0" not in ddl.lower():
            return
        dims = _VEC_DIMS.search(ddl)
        try:
            found: Any = self.src.execute("SELECT count(*) FROM embeddings_rowids").fetchall()
            count = int(found[0][0])
        except apsw.Error:
            count = -1
        if dims is None:
            self.drop_vectors(count, "the DDL of `embeddings` has no float[N] column")
            return
        try:
            rows = self.read_vectors()
        except (apsw.Error, ImportFailed) as exc:
            self.drop_vectors(count, f"sqlite-vec cannot read them here ({exc})")
            return
        try:
            self.write_vectors(int(dims.group(1)), rows)
        except DbError as exc:
            self.drop_vectors(len(rows), f"this constellation's vector index refused them ({exc})")

    def read_vectors(self) -> list[tuple[Any, ...]]:
        import sqlite_vec

        self.src.enable_load_extension(True)
        self.src.load_extension(sqlite_vec.loadable_path())
        sql = (
            "SELECT rowid, embedding, content_type, content_id, chunk_index, content_hash "
            "FROM embeddings ORDER BY rowid"
        )
        return list(self.src.execute(sql).fetchall())

    def write_vectors(self, dims: int, rows: list[tuple[Any, ...]]) -> None:
        import numpy as np

        from pattern_db import vector

        # The crate searched with vec0's default metric, L2; keep it so distances mean the same.
        vector.ensure_embeddings_table(self.tx, dims, metric="l2")
        by_type: dict[str, list[tuple[Any, ...]]] = {}
        for row in rows:
            by_type.setdefault(str(row[2]), []).append(row)
        for content_type, items in by_type.items():
            try:
                vector.ContentType(content_type)
            except ValueError:
                self.drop_vectors(len(items), f"unknown content type {content_type!r}")
                continue
            matrix = np.stack([np.frombuffer(bytes(r[1]), dtype="<f4") for r in items])
            vector.insert_embeddings(
                self.tx,
                content_type,
                [str(r[3]) for r in items],
                matrix,
                chunk_indexes=[r[4] for r in items],
                content_hashes=[r[5] for r in items],
                agent_ids=[self.owner.get((content_type, str(r[3]))) for r in items],
            )
            self.rec.count("embeddings", len(items))

    def drop_vectors(self, count: int, why: str) -> None:
        what = f"{count} embedding(s)" if count >= 0 else "the embeddings"
        self.rec.issue(
            IssueSeverity.WARNING,
            f"{what} of the vec0 table were not copied: {why}",
            entity_type="embedding",
            resolution="dropped; regenerate them with the indexer",
        )
        if count > 0:
            self.rec.count("skipped", count)


def _migrations(src: apsw.Connection, path: Path) -> list[int]:
    try:
        rows = src.execute(
            "SELECT version, success FROM _sqlx_migrations ORDER BY version"
        ).fetchall()
    except apsw.SQLError as exc:
        raise ImportFailed(
            f"{path} is not a file of the Rust pattern_db crate (it has no _sqlx_migrations table)"
        ) from exc
    versions = [int(str(v)) for v, ok in rows if ok]
    if not versions:
        raise ImportFailed(f"{path}: the Rust crate's migrations never completed; nothing to copy")
    return versions


def import_rust_db(
    src_path: str | os.PathLike[str],
    db: ConstellationDb,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Copy every row of a Rust `pattern_db` file (migrations 0001-0013) into `db`.

    The source is opened read-only and never changed. Example:
    `import_rust_db("old/constellation.db", ConstellationDb.open("new.db"))`.

    Raises:
        ImportFailed: the source is not such a file, or a row cannot be stored (the message
            names the table and row); `db` is left unchanged.
    """
    path = Path(src_path)
    src = _open_source(path)
    try:
        versions = _migrations(src, path)
        recorder = Recorder(progress)

        def body(tx: Transaction, rec: Recorder) -> tuple[str, int]:
            rec.issue(
                IssueSeverity.INFO,
                "source migrations applied: " + ", ".join(f"{v:04d}" for v in versions),
            )
            copy = _Copy(src, tx, rec)
            copy.run()
            copy.embeddings()
            return f"rust pattern_db (migrations {versions[0]:04d}-{versions[-1]:04d})", versions[
                -1
            ]

        return run_import(db, source_file=str(path), dry_run=dry_run, recorder=recorder, body=body)
    finally:
        src.close()
