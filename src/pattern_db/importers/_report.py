"""Import and export reports, the audit trail of an import, and the one-transaction runner.

Every import runs inside one `db.transaction()`: its rows and its `migration_audit` row commit
together or not at all. A dry run does the same work and then raises a private exception inside
the transaction, so it rolls back and returns exactly the report a real run would have written.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from pattern_db.connection import ConstellationDb, Transaction
from pattern_db.errors import DbError, ImportFailed
from pattern_db.ids import new_id
from pattern_db.models.import_audit import (
    EntityImport,
    IssueSeverity,
    MigrationAudit,
    MigrationIssue,
    MigrationLog,
    MigrationStats,
)
from pattern_db.queries.import_audit import create_import_audit
from pattern_db.timeutil import now

__all__ = ["ExportReport", "ImportReport", "Progress", "Recorder", "run_import"]

# progress(stage, done, total): total is None when unknown. Called from the importing thread.
Progress = Callable[[str, int, int | None], None]


class ImportReport(msgspec.Struct, kw_only=True):
    """What an import wrote (or, for a dry run, would have written) and everything it changed."""

    source_file: str
    format: str
    source_version: int
    dry_run: bool
    audit_id: str
    counts: dict[str, int]
    entities: list[EntityImport]
    issues: list[MigrationIssue]
    duration_ms: int

    @property
    def stats(self) -> MigrationStats:
        """The counts in the audit's MigrationStats shape."""
        return _stats(self.counts, self.duration_ms)


class ExportReport(msgspec.Struct, kw_only=True):
    """What an export wrote: the CAR file, its root, counts and anything left out."""

    path: str
    export_type: str
    version: int
    root_cid: str
    counts: dict[str, int]
    blocks: int
    bytes: int
    issues: list[MigrationIssue]


def _stats(counts: dict[str, int], duration_ms: int) -> MigrationStats:
    return MigrationStats(
        agents=counts.get("agents", 0),
        memory_blocks=counts.get("memory_blocks", 0),
        messages=counts.get("messages", 0),
        archival_entries=counts.get("archival_entries", 0),
        skipped=counts.get("skipped", 0),
        duration_ms=duration_ms,
    )


class Recorder:
    """Collects counts, mapped entities and issues while an import runs.

    Dropped and transformed fields are aggregated per (record type, field), so a field dropped
    from 100,000 messages is one issue that says how many records it affected.
    """

    def __init__(self, progress: Progress | None = None) -> None:
        self.counts: dict[str, int] = {}
        self.entities: list[EntityImport] = []
        self.issues: list[MigrationIssue] = []
        self._fields: dict[tuple[str, str, str, str], list[Any]] = {}
        self._progress = progress

    def count(self, name: str, n: int = 1) -> None:
        """Add `n` to the count called `name`."""
        self.counts[name] = self.counts.get(name, 0) + n

    def entity(
        self, entity_type: str, source_id: str, target_id: str, transformation: str | None = None
    ) -> None:
        """Record one imported entity and how its id was mapped."""
        self.entities.append(
            EntityImport(
                entity_type=entity_type,
                source_id=source_id,
                target_id=target_id,
                transformed=transformation is not None or source_id != target_id,
                transformation=transformation,
            )
        )

    def issue(
        self,
        severity: IssueSeverity,
        description: str,
        *,
        entity_type: str | None = None,
        entity_id: str | None = None,
        resolution: str | None = None,
    ) -> None:
        """Record a problem and, when one was applied, its automatic resolution."""
        self.issues.append(
            MigrationIssue(
                severity=severity,
                entity_type=entity_type,
                entity_id=entity_id,
                description=description,
                resolution=resolution,
                auto_resolved=resolution is not None,
            )
        )

    def dropped(self, record: str, field: str, why: str, entity_id: str | None = None) -> None:
        """Note that `field` of a `record` was not imported (aggregated per record and field)."""
        self._fields.setdefault(("dropped", record, field, why), [why, 0, entity_id])[1] += 1

    def transformed(self, record: str, field: str, how: str, entity_id: str | None = None) -> None:
        """Note that `field` of a `record` was stored changed (aggregated per record and field)."""
        self._fields.setdefault(("transformed", record, field, how), [how, 0, entity_id])[1] += 1

    def progress(self, stage: str, done: int, total: int | None = None) -> None:
        """Report progress to the caller's callback, if any."""
        if self._progress is not None:
            self._progress(stage, done, total)

    def field_issues(self) -> list[MigrationIssue]:
        """Return one issue per dropped or transformed field, in the order first seen."""
        found = []
        for (kind, record, field, _), (text, n, example) in self._fields.items():
            records = f"{n} {record} record{'s' if n != 1 else ''}"
            found.append(
                MigrationIssue(
                    severity=IssueSeverity.INFO,
                    entity_type=record,
                    entity_id=example if n == 1 else None,
                    description=f"field `{field}` {kind} in {records}: {text}",
                    resolution="dropped" if kind == "dropped" else "transformed",
                    auto_resolved=True,
                )
            )
        return found


class _DryRun(Exception):
    def __init__(self, report: ImportReport) -> None:
        self.report = report


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the duration of a bulk import.

    An import allocates hundreds of thousands of small objects that live until it ends (records,
    audit entries); the collector would rescan them over and over (measured: a 100,000-message
    import spent about 40% of its time there). Nothing an import makes forms reference cycles,
    and the collector is restored (and run by Python as usual) as soon as the import returns.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_import(
    db: ConstellationDb,
    *,
    source_file: str,
    dry_run: bool,
    recorder: Recorder,
    body: Callable[[Transaction, Recorder], tuple[str, int]],
) -> ImportReport:
    """Run `body` (which returns the format name and source version) in one transaction.

    Writes the audit row in the same transaction; with `dry_run` rolls everything back and
    returns the same report.

    Raises:
        ImportFailed: the input is bad or clashes with the database; nothing was written.
    """
    started = time.monotonic()
    audit_id = new_id("audit")
    try:
        with _collector_paused(), db.transaction() as tx:
            fmt, version = body(tx, recorder)
            issues = recorder.issues + recorder.field_issues()
            duration_ms = int((time.monotonic() - started) * 1000)
            report = ImportReport(
                source_file=source_file,
                format=fmt,
                source_version=version,
                dry_run=dry_run,
                audit_id=audit_id,
                counts=dict(sorted(recorder.counts.items())),
                entities=recorder.entities,
                issues=issues,
                duration_ms=duration_ms,
            )
            create_import_audit(
                tx,
                MigrationAudit(
                    id=audit_id,
                    imported_at=now(),
                    source_file=source_file,
                    source_version=version,
                    issues_found=len(issues),
                    issues_resolved=sum(1 for i in issues if i.auto_resolved),
                    audit_log=MigrationLog(
                        stats=_stats(recorder.counts, duration_ms),
                        entities=recorder.entities,
                        issues=issues,
                    ),
                ),
            )
            if dry_run:
                raise _DryRun(report)
    except _DryRun as done:
        return done.report
    except ImportFailed:
        raise
    except DbError as exc:
        raise ImportFailed(
            f"{source_file}: import refused by the database ({exc}); nothing was written"
        ) from exc
    return report


def severity(name: str) -> IssueSeverity:
    """Return the IssueSeverity of a name (shorthand for the importers)."""
    return IssueSeverity(name)
