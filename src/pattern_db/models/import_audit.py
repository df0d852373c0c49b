"""Audit records of imports (legacy CAR exports, Letta agent files, Rust-crate databases).

The record types keep the Rust crate's `Migration*` names; `ImportAudit`, `ImportLog` and
`ImportIssue` name the same classes for what they are.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import msgspec

from pattern_db.models._base import Record, id_factory, utc_now

__all__ = [
    "EntityImport",
    "ImportAudit",
    "ImportIssue",
    "ImportLog",
    "IssueSeverity",
    "MigrationAudit",
    "MigrationIssue",
    "MigrationLog",
    "MigrationStats",
]


class IssueSeverity(StrEnum):
    """How serious an import issue is."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class MigrationStats(msgspec.Struct, kw_only=True):
    """Counts of what an import wrote."""

    agents: int = 0
    memory_blocks: int = 0
    messages: int = 0
    archival_entries: int = 0
    skipped: int = 0
    duration_ms: int = 0


class EntityImport(msgspec.Struct, kw_only=True):
    """One imported entity and how its id was mapped."""

    entity_type: str
    source_id: str
    target_id: str
    transformed: bool = False
    transformation: str | None = None


class MigrationIssue(msgspec.Struct, kw_only=True):
    """A problem found while importing, and what was done about it."""

    severity: IssueSeverity = IssueSeverity.INFO
    entity_type: str | None = None
    entity_id: str | None = None
    description: str
    resolution: str | None = None
    auto_resolved: bool = False


class MigrationLog(msgspec.Struct, kw_only=True):
    """The detailed log of one import, kept as JSON in `migration_audit.audit_log`."""

    stats: MigrationStats = msgspec.field(default_factory=MigrationStats)
    entities: list[EntityImport] = msgspec.field(default_factory=list)
    issues: list[MigrationIssue] = msgspec.field(default_factory=list)


class MigrationAudit(Record, kw_only=True):
    """One import run (row of `migration_audit`)."""

    id: str = id_factory("audit")
    imported_at: datetime = msgspec.field(default_factory=utc_now)
    source_file: str
    source_version: int
    issues_found: int = 0
    issues_resolved: int = 0
    audit_log: MigrationLog = msgspec.field(default_factory=MigrationLog)


ImportAudit = MigrationAudit
ImportLog = MigrationLog
ImportIssue = MigrationIssue
