"""Importing Pattern CAR exports of every layout (v0-v3), built here from FORMATS.md."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import libipld
import pytest

from pattern_db import ConstellationDb
from pattern_db.errors import ImportFailed
from pattern_db.importers import import_car
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import MemoryPermission
from pattern_db.queries import agent as q_agent
from pattern_db.queries import memory as q_memory
from pattern_db.queries import message as q_message
from pattern_db.queries import migration as q_migration
from tests import car_support as cs
from tests.test_cli import run

ALL = 1 << 40

LAYOUTS = [
    # (version, export type) -> agents, groups, members, blocks, archival, messages,
    # summaries, shared attachments
    ((0, "Agent"), (1, 0, 0, 2, 1, 5, 2, 0)),
    ((0, "Group"), (2, 1, 2, 5, 2, 10, 4, 1)),
    ((0, "Constellation"), (3, 1, 2, 6, 3, 15, 6, 0)),
    ((1, "Agent"), (1, 0, 0, 2, 1, 5, 2, 0)),
    ((2, "Agent"), (1, 0, 0, 2, 1, 5, 2, 0)),
    ((1, "Group"), (2, 1, 2, 5, 2, 10, 4, 1)),
    ((2, "Group"), (2, 1, 2, 5, 2, 10, 4, 1)),
    ((1, "Constellation"), (3, 1, 2, 6, 3, 15, 6, 0)),
    ((2, "Constellation"), (3, 1, 2, 6, 3, 15, 6, 0)),
    ((3, "Agent"), (1, 0, 0, 1, 2, 5, 2, 0)),
    ((3, "Group"), (2, 1, 2, 2, 4, 10, 4, 1)),
    ((3, "Constellation"), (3, 1, 2, 3, 6, 15, 6, 1)),
]
COUNT_SQL = [
    "SELECT count(*) FROM agents",
    "SELECT count(*) FROM agent_groups",
    "SELECT count(*) FROM group_members",
    "SELECT count(*) FROM memory_blocks",
    "SELECT count(*) FROM archival_entries",
    "SELECT count(*) FROM messages",
    "SELECT count(*) FROM archive_summaries",
    "SELECT count(*) FROM shared_block_agents",
]


def _build(tmp: Path, version: int, export_type: str, **kw: object) -> Path:
    if version == 3:
        return cs.build_v3(tmp, export_type, **kw)  # type: ignore[arg-type]
    return cs.build_legacy(tmp, version, export_type, **kw)  # type: ignore[arg-type]


def _counts(db: ConstellationDb) -> tuple[int, ...]:
    with db.reader() as conn:
        return tuple(int(conn.execute(sql).fetchall()[0][0]) for sql in COUNT_SQL)


@pytest.mark.parametrize(("layout", "expected"), LAYOUTS, ids=lambda x: str(x))
def test_every_layout_imports(db: ConstellationDb, tmp_path: Path, layout, expected) -> None:
    version, export_type = layout
    report = import_car(db, _build(tmp_path, version, export_type))
    assert report.source_version == version
    assert report.format == f"car v{version} ({export_type})"
    assert _counts(db) == expected
    assert report.counts["messages"] == expected[5]
    assert q_migration.count_migration_audits(db) == 1


def test_v2_agent_fields_text_and_order(db: ConstellationDb, tmp_path: Path) -> None:
    report = import_car(db, cs.build_legacy(tmp_path, 2, "Agent", n_messages=12))
    agent = q_agent.get_agent(db, cs.A1)
    assert agent is not None
    assert (agent.name, agent.model_provider, agent.model_name) == (
        "Pattern",
        "anthropic",
        "claude-3-5-sonnet",
    )
    assert agent.system_prompt == "You are Pattern."
    assert agent.config["max_messages"] == 50
    assert agent.config["compression_strategy"] == {"type": "truncate", "keep_recent": 10}
    assert agent.config["model_config"] == {"temperature": 0.5}
    assert agent.config["legacy"]["total_messages"] == 3
    assert agent.tool_rules == [
        {"tool_name": "send_message", "rule_type": {"type": "ExitLoop"}, "priority": 5}
    ]
    assert agent.created_at.isoformat() == "2025-08-01T00:00:00.123456+00:00"

    persona = q_memory.get_block_by_label(db, cs.A1, "persona")
    assert persona is not None
    assert persona.id == cs.A1  # legacy ids kept, never `mem:`-prefixed
    assert persona.permission is MemoryPermission.READ_WRITE
    assert persona.pinned is True
    assert persona.description == "The persona block"
    assert MemoryDocs(db).read_text(persona.id) == cs.MEMORY_TEXT
    archival = q_memory.list_archival_entries(db, cs.A1)
    assert [e.content for e in archival] == ["an old fact"]

    messages = q_message.get_messages_with_archived(db, cs.A1, ALL)
    messages.reverse()
    assert [m.id for m in messages] == [f"msg_{cs.A1}_{i:05d}" for i in range(12)]
    assert [m.position for m in messages] == sorted(m.position for m in messages)
    assert messages[0].position == f"{int(cs.snowflake(cs.BASE_MS, 0)):020d}"
    assert [m.is_archived for m in messages[:3]] == [True, True, False]
    assert messages[0].content_json == {"Text": f"message 0 from {cs.A1}"}
    assert messages[0].content_preview == f"message 0 from {cs.A1}"
    assert messages[4].content_json == {
        "ToolCalls": [{"call_id": "c4", "fn_name": "search", "fn_arguments": {"q": "x4", "n": 1.5}}]
    }
    assert messages[3].content_preview == "result 3"
    assert messages[5].batch_id == cs.snowflake(cs.BASE_MS + 40)
    assert messages[0].source_metadata == {"channel_id": "c1"}
    summaries = q_message.get_archive_summaries(db, cs.A1)
    assert [s.summary for s in summaries] == ["First summary.", "Second summary."]
    assert summaries[1].previous_summary_id == summaries[0].id

    described = {i.description for i in report.issues}
    assert (
        "field `embedding` dropped in 3 memory records: vectors are not imported; run the indexer"
        in described
    )
    assert "field `word_count` dropped in 12 message records: derived from the content" in described


def test_chunked_messages_keep_snowflake_order(db: ConstellationDb, tmp_path: Path) -> None:
    path = cs.build_legacy(tmp_path, 2, "Agent", n_messages=2500)
    _header, blocks = libipld.decode_car(path.read_bytes())
    chunks = [
        b for b in blocks.values() if isinstance(b, dict) and "messages" in b and "chunk_id" in b
    ]
    assert len(chunks) == 3
    report = import_car(db, path)
    assert report.counts["messages"] == 2500
    messages = q_message.get_messages_with_archived(db, cs.A1, ALL)
    assert len(messages) == 2500
    assert [m.id for m in reversed(messages)] == [f"msg_{cs.A1}_{i:05d}" for i in range(2500)]


def test_group_roles_and_shared_memory(db: ConstellationDb, tmp_path: Path) -> None:
    report = import_car(db, cs.build_legacy(tmp_path, 2, "Group"))
    group = q_agent.get_group(db, cs.GROUP)
    assert group is not None
    assert group.pattern_type.value == "round_robin"
    assert group.pattern_config == {
        "type": "round_robin",
        "current_index": 0,
        "skip_unavailable": True,
    }
    members = {m.agent_id: m for m in q_agent.get_group_members(db, cs.GROUP)}
    assert members[cs.A1].role is not None
    assert members[cs.A1].role.__class__.__name__ == "SupervisorRole"
    assert getattr(members[cs.A2].role, "domain", None) == "tasks"
    assert members[cs.A2].capabilities == ["planning"]
    shared = q_memory.get_block(db, cs.SHARED_MEMORY)
    assert shared is not None
    assert shared.agent_id == cs.A1
    attachments = q_memory.list_block_shared_agents(db, cs.SHARED_MEMORY)
    assert [(a.agent_id, a.permission) for a in attachments] == [
        (cs.A2, MemoryPermission.READ_ONLY)
    ]
    assert any("shared by several agents" in i.description for i in report.issues)
    assert any("`state` dropped" in i.description for i in report.issues)


def test_v1_group_without_memberships(db: ConstellationDb, tmp_path: Path) -> None:
    report = import_car(db, cs.build_legacy(tmp_path, 1, "Group"))
    roles = {type(m.role).__name__ for m in q_agent.get_group_members(db, cs.GROUP)}
    assert roles == {"RegularRole"}
    assert any("no member_memberships" in i.description for i in report.issues)
    # v1 memories without a permission default to append; these carry read_write explicitly.
    assert q_memory.get_block(db, "b" * 32) is not None


def test_v3_keeps_links_and_timestamps(db: ConstellationDb, tmp_path: Path) -> None:
    import_car(db, cs.build_v3(tmp_path, "Group"))
    child = q_memory.get_archival_entry(db, f"arch_{cs.A1}_c")
    assert child is not None
    assert child.parent_entry_id == f"arch_{cs.A1}_p"
    second = q_message.get_archive_summary(db, f"sum_{cs.A1}_2")
    assert second is not None
    assert second.previous_summary_id == f"sum_{cs.A1}_1"
    block = q_memory.get_block(db, f"mem_{cs.A1}")
    assert block is not None
    assert (block.last_seq, block.frontier, block.created_at.isoformat()) == (
        4,
        bytes([1, 2, 3]),
        "2025-08-01T00:00:01.123456+00:00",
    )
    assert MemoryDocs(db).read_text(block.id) == cs.MEMORY_TEXT
    shared = q_memory.list_block_shared_agents(db, block.id)
    assert [(a.agent_id, a.permission) for a in shared] == [(cs.A2, MemoryPermission.READ_ONLY)]


def test_sha256_cids_are_verified_too(db: ConstellationDb, tmp_path: Path) -> None:
    report = import_car(db, cs.build_legacy(tmp_path, 2, "Agent", hash_name="sha256"))
    assert report.counts["agents"] == 1


def test_audit_row_records_entities_and_issues(db: ConstellationDb, tmp_path: Path) -> None:
    report = import_car(db, cs.build_legacy(tmp_path, 2, "Group"))
    audits = q_migration.list_migration_audits(db)
    assert len(audits) == 1
    audit = audits[0]
    assert (audit.id, audit.source_version, audit.source_file) == (
        report.audit_id,
        2,
        str(tmp_path / "v2-group.car"),
    )
    log = audit.audit_log
    assert log.stats.messages == 10
    assert log.stats.agents == 2
    assert log.stats.memory_blocks == 5
    assert len(log.entities) == len(report.entities)
    kinds = {e.entity_type for e in log.entities}
    assert kinds == {
        "agent",
        "memory_block",
        "archival_entry",
        "message",
        "archive_summary",
        "group",
    }
    assert audit.issues_found == len(report.issues)
    assert audit.issues_resolved == sum(1 for i in report.issues if i.auto_resolved)


def test_dry_run_reports_the_same_and_writes_nothing(db: ConstellationDb, tmp_path: Path) -> None:
    path = cs.build_legacy(tmp_path, 2, "Constellation")
    dry = import_car(db, path, dry_run=True)
    assert dry.dry_run is True
    assert _counts(db) == (0,) * 8
    assert q_migration.count_migration_audits(db) == 0
    real = import_car(db, path)
    assert dry.counts == real.counts
    assert [i.description for i in dry.issues] == [i.description for i in real.issues]
    assert [(e.entity_type, e.source_id) for e in dry.entities] == [
        (e.entity_type, e.source_id) for e in real.entities
    ]


def test_reimport_needs_new_ids(db: ConstellationDb, tmp_path: Path) -> None:
    path = cs.build_legacy(tmp_path, 2, "Group")
    import_car(db, path)
    before = _counts(db)
    with pytest.raises(ImportFailed, match=r"already exists.*preserve_ids=False"):
        import_car(db, path)
    assert _counts(db) == before
    report = import_car(db, path, preserve_ids=False)
    assert _counts(db) == tuple(2 * n for n in before)
    assert {a.name for a in q_agent.list_agents(db)} == {
        "Pattern",
        "Entropy",
        "Pattern-2",
        "Entropy-2",
    }
    new_shared = next(e.target_id for e in report.entities if e.source_id == cs.SHARED_MEMORY)
    assert new_shared != cs.SHARED_MEMORY
    assert len(q_memory.list_block_shared_agents(db, new_shared)) == 1
    assert any(i.resolution == "imported as 'Pattern-2'" for i in report.issues)


# -- bad and hostile input --------------------------------------------------------------------


def _hostile_cases(tmp: Path) -> dict[str, tuple[bytes, str]]:
    good = cs.build_legacy(tmp, 2, "Agent").read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF
    car = cs.Car()
    manifest = car.put(
        {
            "version": 9,
            "exported_at": cs.ts(0),
            "export_type": "Agent",
            "stats": {},
            "data_cid": cs.cid_for(b"x"),
        }
    )
    wrong_version = car.to_bytes(manifest)
    header = libipld.encode_dag_cbor({"version": 1, "roots": [manifest]})
    huge = (
        cs.varint(len(header))
        + header
        + cs.varint(2 * 1024**3)
        + b"\x01\x71\x1e\x20"
        + b"\x00" * 64
    )
    deep_data = b"\x81" * 100_000 + b"\x01"
    deep = cs.Car()
    deep_root = deep.put_raw(cs.cid_for(deep_data), deep_data)
    missing = cs.Car()
    missing_root = missing.put(
        {
            "version": 2,
            "exported_at": cs.ts(0),
            "export_type": "Agent",
            "stats": {},
            "data_cid": cs.cid_for(b"absent"),
        }
    )
    carv2 = libipld.encode_dag_cbor({"version": 2})
    bad_record = cs.Car()
    bad_agent = bad_record.put(
        {
            "agent_cid": bad_record.put({"id": 7, "name": "x"}),
            "message_chunk_cids": [],
            "memory_chunk_cids": [],
        }
    )
    unknown_hash = cs.Car()
    data = libipld.encode_dag_cbor({"a": 1})
    unknown_root = unknown_hash.put_raw(bytes([0x01, 0x71, 0x14, 0x04]) + b"abcd", data)
    # A "cycle" can only be forged: its CIDs cannot match the blocks' hashes.
    forged = cs.Car()
    fake_a, fake_b = cs.cid_for(b"A"), cs.cid_for(b"B")
    forged.put_raw(
        fake_a,
        libipld.encode_dag_cbor(
            {
                "version": 2,
                "exported_at": "",
                "export_type": "Agent",
                "stats": {},
                "data_cid": fake_b,
            }
        ),
    )
    forged.put_raw(
        fake_b,
        libipld.encode_dag_cbor(
            {"agent_cid": fake_a, "message_chunk_cids": [], "memory_chunk_cids": []}
        ),
    )
    return {
        "truncated": (good[:-10], r"truncated at offset \d+: the section declares"),
        "flipped": (bytes(flipped), r"offset \d+: block bafyr4i\w+ does not match its CID"),
        "wrong version": (wrong_version, "manifest version 9 is not a Pattern export version"),
        "2 GB length": (huge, r"truncated at offset \d+: the section declares 2147483648 bytes"),
        "deep nesting": (
            deep.to_bytes(deep_root),
            r"block at offset \d+ \(the CAR root\) is nested too deeply",
        ),
        "missing block": (
            missing.to_bytes(missing_root),
            "linked from manifest.data_cid is missing",
        ),
        "CARv2": (cs.varint(len(carv2)) + carv2, "CARv2 container"),
        "bad field": (
            bad_record.to_bytes(
                bad_record.put(
                    {
                        "version": 2,
                        "exported_at": "",
                        "export_type": "Agent",
                        "stats": {},
                        "data_cid": bad_agent,
                    }
                )
            ),
            r"Expected `str`, got `int` - at `\$.id`",
        ),
        "unknown hash": (
            unknown_hash.to_bytes(unknown_root),
            "hash function 0x14, which this reader cannot verify",
        ),
        "forged cycle": (forged.to_bytes(fake_a), "does not match its CID"),
        "not a CAR": (b"hello, this is a text file\n" * 10, "not a CAR file, or truncated|header"),
        "empty": (b"", "the file is empty"),
    }


def test_hostile_files_fail_cleanly_and_change_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "c.db"
    with ConstellationDb.open(db_path) as db:
        import_car(db, cs.build_v3(tmp_path, "Agent"))
    digest = hashlib.sha256(db_path.read_bytes()).hexdigest()
    for name, (data, message) in _hostile_cases(tmp_path).items():
        path = tmp_path / f"{name}.car"
        path.write_bytes(data)
        tracemalloc.start()
        with ConstellationDb.open(db_path) as db, pytest.raises(ImportFailed, match=message):
            import_car(db, path)
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 32 * 1024 * 1024, name
        assert hashlib.sha256(db_path.read_bytes()).hexdigest() == digest, name


def test_walk_refuses_a_cycle(tmp_path: Path) -> None:
    from pattern_db.importers.car.reader import open_car

    # Built with verification off (the only way a cycle can exist): A -> B -> A.
    forged = cs.Car()
    fake_a, fake_b = cs.cid_for(b"A"), cs.cid_for(b"B")
    forged.put_raw(fake_a, libipld.encode_dag_cbor({"next": fake_b}))
    forged.put_raw(fake_b, libipld.encode_dag_cbor({"next": fake_a}))
    path = forged.write(tmp_path / "cycle.car", fake_a)
    with open_car(path, verify=False) as car:

        def walk(cid: bytes, where: str) -> None:
            block = car.load(cid, where)
            with car.visit(cid, where):
                walk(block["next"], f"{where}.next")

        with pytest.raises(ImportFailed, match=r"block graph cycle: root\.next\.next links back"):
            walk(fake_a, "root")


def test_cli_import_car(tmp_path: Path) -> None:
    path = cs.build_legacy(tmp_path, 1, "Agent")
    db_path = tmp_path / "new" / "c.db"
    code, output = run("import", "car", str(path), str(db_path), "--dry-run", "--json")
    assert code == 0, output
    assert '"dry_run": true' in output
    code, output = run("import", "car", str(path), str(db_path))
    assert code == 0, output
    assert "imported" in output
    assert "messages" in output
    code, output = run("import", "car", str(path), str(db_path))
    assert code == 1
    assert output.startswith("error: agent " + cs.A1 + " already exists")
    code, output = run("import", "car", str(path), str(db_path), "--no-preserve-ids", "--json")
    assert code == 0, output
    bad = tmp_path / "bad.car"
    bad.write_bytes(b"\x05abc")
    fresh = tmp_path / "fresh.db"
    code, output = run("import", "car", str(bad), str(fresh))
    assert code == 1
    assert "error:" in output
    assert "Traceback" not in output
    assert not fresh.exists()


def test_console_script_import_and_export(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    script = Path(sys.executable).with_name("pattern-db")
    car = cs.build_legacy(tmp_path, 2, "Group")
    db_path = tmp_path / "c.db"
    done = subprocess.run(
        [str(script), "import", "car", str(car), str(db_path), "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["messages"] == 10
    done = subprocess.run(
        [str(script), "export", "car", str(db_path), str(tmp_path / "out.car")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Constellation" in done.stdout
    hostile = tmp_path / "hostile.car"
    hostile.write_bytes(car.read_bytes()[:-7])
    done = subprocess.run(
        [str(script), "import", "car", str(hostile), str(db_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: ")
    assert "truncated at offset" in done.stderr
    assert "Traceback" not in done.stderr
