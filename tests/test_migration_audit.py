"""queries.import_audit (queries.migration): import audit records and their MigrationLog JSON."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pattern_db import ConstellationDb, errors
from pattern_db.connection import scalar
from pattern_db.models import (
    EntityImport,
    IssueSeverity,
    MigrationAudit,
    MigrationIssue,
    MigrationLog,
    MigrationStats,
)
from pattern_db.queries import migration as q

T0 = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)

LOG = MigrationLog(
    stats=MigrationStats(
        agents=2, memory_blocks=5, messages=1200, archival_entries=30, skipped=1, duration_ms=812
    ),
    entities=[
        EntityImport(entity_type="agent", source_id="old-1", target_id="a1"),
        EntityImport(
            entity_type="memory_block",
            source_id="mem-9",
            target_id="b9",
            transformed=True,
            transformation="label 'Persona' lower-cased",
        ),
    ],
    issues=[
        MigrationIssue(
            severity=IssueSeverity.WARNING,
            entity_type="message",
            entity_id="m7",
            description="position was 17 digits",
            resolution="re-padded to 20",
            auto_resolved=True,
        ),
        MigrationIssue(severity=IssueSeverity.CRITICAL, description="persona names another agent"),
    ],
)


def _audit(audit_id: str = "mig1", **fields: object) -> MigrationAudit:
    return MigrationAudit(
        id=audit_id,
        source_file=str(fields.pop("source_file", "export.car")),
        source_version=int(fields.pop("source_version", 3)),  # type: ignore[call-overload]
        **fields,  # type: ignore[arg-type]
    )


def test_create_and_get(db: ConstellationDb) -> None:
    audit = _audit(imported_at=T0, issues_found=2, issues_resolved=1, audit_log=LOG)
    q.create_migration_audit(db, audit)
    stored = q.get_migration_audit(db, "mig1")
    assert stored == audit
    assert q.get_migration_audit(db, "missing") is None


def test_log_round_trips_into_its_structs(db: ConstellationDb) -> None:
    q.create_migration_audit(db, _audit(audit_log=LOG))
    stored = q.get_migration_audit(db, "mig1")
    assert stored is not None
    log = stored.audit_log
    assert isinstance(log, MigrationLog)
    assert isinstance(log.stats, MigrationStats)
    assert all(isinstance(e, EntityImport) for e in log.entities)
    assert all(isinstance(i, MigrationIssue) for i in log.issues)
    assert [i.severity for i in log.issues] == [IssueSeverity.WARNING, IssueSeverity.CRITICAL]
    assert log.issues[0].severity is IssueSeverity.WARNING
    assert log == LOG
    with db.reader() as conn:
        text = scalar(conn, "SELECT audit_log FROM migration_audit WHERE id = 'mig1'")
    assert json.loads(text)["issues"][1] == {
        "severity": "critical",
        "entity_type": None,
        "entity_id": None,
        "description": "persona names another agent",
        "resolution": None,
        "auto_resolved": False,
    }


def test_log_written_by_the_reference_decodes(db: ConstellationDb) -> None:
    # serde_json's shape for the Rust MigrationLog (snake_case severity, every field present).
    rust_log = {
        "stats": {"agents": 1, "memory_blocks": 0, "messages": 3, "archival_entries": 0,
                  "skipped": 0, "duration_ms": 15},
        "entities": [{"entity_type": "agent", "source_id": "s", "target_id": "t",
                      "transformed": False, "transformation": None}],
        "issues": [{"severity": "error", "entity_type": None, "entity_id": None,
                    "description": "orphaned message", "resolution": None,
                    "auto_resolved": False}],
    }  # fmt: skip
    with db.writer() as conn:
        conn.execute(
            "INSERT INTO migration_audit VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("r1", "2026-03-04T05:06:07.890123Z", "old.car", 1, 1, 0, json.dumps(rust_log)),
        )
    assert q.get_migration_audit(db, "r1") == MigrationAudit(
        id="r1",
        imported_at=T0,
        source_file="old.car",
        source_version=1,
        issues_found=1,
        issues_resolved=0,
        audit_log=MigrationLog(
            stats=MigrationStats(agents=1, messages=3, duration_ms=15),
            entities=[EntityImport(entity_type="agent", source_id="s", target_id="t")],
            issues=[MigrationIssue(severity=IssueSeverity.ERROR, description="orphaned message")],
        ),
    )


def test_create_errors(db: ConstellationDb) -> None:
    q.create_migration_audit(db, _audit("mig1"))
    with pytest.raises(errors.AlreadyExists, match="migration audit already exists: mig1"):
        q.create_migration_audit(db, _audit("mig1"))
    with pytest.raises(errors.InvalidData, match=r"MigrationAudit.issues_found must be"):
        q.create_migration_audit(db, _audit("mig2", issues_found=-1))
    assert q.count_migration_audits(db) == 1


def test_list_is_newest_first_with_a_limit(db: ConstellationDb) -> None:
    assert q.list_migration_audits(db) == []
    for audit_id, minutes in [("m-a", 0), ("m-b", 20), ("m-c", 10), ("m-d", 20)]:
        q.create_migration_audit(db, _audit(audit_id, imported_at=T0 + timedelta(minutes=minutes)))
    assert [a.id for a in q.list_migration_audits(db)] == ["m-d", "m-b", "m-c", "m-a"]
    assert [a.id for a in q.list_migration_audits(db, limit=2)] == ["m-d", "m-b"]
    assert [a.id for a in q.list_migration_audits(db, 10)] == ["m-d", "m-b", "m-c", "m-a"]
    assert q.list_migration_audits(db, limit=0) == []
    with pytest.raises(errors.InvalidData, match="limit must be an integer >= 0"):
        q.list_migration_audits(db, limit=-1)


def test_count(db: ConstellationDb) -> None:
    assert q.count_migration_audits(db) == 0
    for i in range(3):
        q.create_migration_audit(db, _audit(f"m{i}"))
    assert q.count_migration_audits(db) == 3


def test_audit_written_in_an_import_transaction_rolls_back_with_it(db: ConstellationDb) -> None:
    class Abort(Exception):
        pass

    with contextlib.suppress(Abort), db.transaction() as tx:
        q.create_migration_audit(tx, _audit("mig1"))
        assert q.count_migration_audits(tx) == 1
        assert [a.id for a in q.list_migration_audits(tx)] == ["mig1"]
        raise Abort
    assert q.count_migration_audits(db) == 0
    assert q.get_migration_audit(db, "mig1") is None


# -- round trip --------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_int64 = st.integers(-(2**63), 2**63 - 1)
_count64 = st.integers(0, 2**63 - 1)
_when = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
)
_logs = st.builds(
    MigrationLog,
    stats=st.builds(
        MigrationStats,
        agents=_int64,
        memory_blocks=_int64,
        messages=_int64,
        archival_entries=_int64,
        skipped=_int64,
        duration_ms=_int64,
    ),
    entities=st.lists(
        st.builds(
            EntityImport,
            entity_type=_text,
            source_id=_text,
            target_id=_text,
            transformed=st.booleans(),
            transformation=st.none() | _text,
        ),
        max_size=3,
    ),
    issues=st.lists(
        st.builds(
            MigrationIssue,
            severity=st.sampled_from(IssueSeverity),
            entity_type=st.none() | _text,
            entity_id=st.none() | _text,
            description=_text,
            resolution=st.none() | _text,
            auto_resolved=st.booleans(),
        ),
        max_size=3,
    ),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    audit=st.builds(
        MigrationAudit,
        id=_text,
        imported_at=_when,
        source_file=_text,
        source_version=_int64,
        issues_found=_count64,
        issues_resolved=_count64,
        audit_log=_logs,
    )
)
def test_round_trip(db: ConstellationDb, audit: MigrationAudit) -> None:
    with db.writer() as conn:
        conn.execute("DELETE FROM migration_audit")
    q.create_migration_audit(db, audit)
    assert q.get_migration_audit(db, audit.id) == audit
    assert q.list_migration_audits(db, limit=1) == [audit]
