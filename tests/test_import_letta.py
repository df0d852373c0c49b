"""Importing Letta agent files: the four real files in shared/data/letta, and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from pattern_db import ConstellationDb
from pattern_db.errors import ImportFailed
from pattern_db.importers import MAX_AF_BYTES, import_letta
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import MemoryPermission
from pattern_db.queries import agent as q_agent
from pattern_db.queries import memory as q_memory
from pattern_db.queries import message as q_message
from pattern_db.queries import migration as q_migration
from tests.test_cli import run

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "letta"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/letta")
FILES = sorted(p.name for p in DATA.glob("*.af"))
ALL = 1 << 40


def _document(name: str) -> dict[str, Any]:
    value = json.loads((DATA / name).read_text())
    return json.loads(value) if isinstance(value, str) else value


def _expected(doc: dict[str, Any]) -> dict[str, int]:
    """Count what the file holds, straight from its JSON."""
    agents = doc.get("agents") or [doc]
    blocks = {b for a in agents for b in a.get("block_ids") or []}
    inline = sum(len(a.get("core_memory") or a.get("memory_blocks") or []) for a in agents)
    tools = {t for a in agents for t in a.get("tool_ids") or []} | {
        t["name"] for a in agents for t in a.get("tools") or [] if isinstance(t, dict)
    }
    return {
        "agents": len(agents),
        "memory_blocks": len(blocks) + inline,
        "messages": sum(len(a.get("messages") or []) for a in agents),
        "tools": len(tools),
        "tool_rules": sum(len(a.get("tool_rules") or []) for a in agents),
        "groups": len(doc.get("groups") or []),
    }


def _rows(db: ConstellationDb, table: str) -> int:
    with db.reader() as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_the_four_real_files_are_there() -> None:
    assert FILES == [
        "evie.af",
        "loop.af",
        "memgpt_agent.double-encoded.af",
        "memgpt_agent_with_convo.v0.6.43.af",
    ]


@pytest.mark.parametrize("name", FILES)
def test_real_file_counts_match_the_file(db: ConstellationDb, name: str) -> None:
    doc = _document(name)
    expected = _expected(doc)
    report = import_letta(db, DATA / name)
    for key, n in expected.items():
        assert report.counts.get(key, 0) == n, key
    assert _rows(db, "agents") == expected["agents"]
    assert _rows(db, "memory_blocks") == expected["memory_blocks"]
    assert _rows(db, "messages") == expected["messages"]
    assert _rows(db, "agent_groups") == expected["groups"]
    assert q_migration.count_migration_audits(db) == 1
    docs = MemoryDocs(db)
    agents = doc.get("agents") or [doc]
    by_id = {b["id"]: b for b in doc.get("blocks") or []}
    for agent, stored in zip(agents, _agents_in_file_order(db, report), strict=True):
        files_blocks = [by_id[i] for i in agent.get("block_ids") or []] + list(
            agent.get("core_memory") or []
        )
        for block in files_blocks:
            found = q_memory.get_block_by_label(db, stored, block["label"])
            if found is None:  # a block the file shares: owned by the agent that listed it first
                shared = list(q_memory.list_agent_shared_blocks(db, stored))
                assert shared, block["label"]
                continue
            assert docs.read_text(found.id) == block["value"]
            assert found.char_limit == max(block["limit"], len(block["value"]))
            read_only = block.get("read_only", False)
            assert found.permission is (
                MemoryPermission.READ_ONLY if read_only else MemoryPermission.READ_WRITE
            )


def _agents_in_file_order(db: ConstellationDb, report: Any) -> list[str]:
    return [e.target_id for e in report.entities if e.entity_type == "agent"]


def test_old_layout_conversation(db: ConstellationDb) -> None:
    name = "memgpt_agent_with_convo.v0.6.43.af"
    doc = _document(name)
    report = import_letta(db, DATA / name)
    assert report.format == "letta single-agent"
    assert report.source_version == 1
    (agent,) = q_agent.list_agents(db)
    assert agent.name == doc["name"]
    assert agent.system_prompt == doc["system"]
    assert (agent.model_provider, agent.model_name) == ("openai", "gpt-4.5-preview")
    assert agent.config["context_window"] == 32000
    assert agent.config["temperature"] == 0.7
    assert agent.config["llm_config"] == doc["llm_config"]
    assert agent.config["embedding_config"] == doc["embedding_config"]
    assert agent.enabled_tools == ["context", "recall", "search", "send_message", "file", "source"]
    assert agent.tool_rules == [
        {
            "tool_name": "archival_memory_insert",
            "conditions": [],
            "priority": 5,
            "rule_type": {"type": "ContinueLoop"},
        },
        {
            "tool_name": "send_message",
            "conditions": [],
            "priority": 5,
            "rule_type": {"type": "ExitLoop"},
        },
        {
            "tool_name": "conversation_search",
            "conditions": [],
            "priority": 5,
            "rule_type": {"type": "ContinueLoop"},
        },
        {
            "tool_name": "archival_memory_search",
            "conditions": [],
            "priority": 5,
            "rule_type": {"type": "ContinueLoop"},
        },
    ]
    assert agent.config["letta"]["tool_rules"][1] == {
        "tool_name": "send_message",
        "type": "exit_loop",
        **dict.fromkeys(
            (
                "children",
                "max_count_limit",
                "default_child",
                "child_output_mapping",
                "require_output_mapping",
                "prompt_template",
            )
        ),
    }
    messages = list(reversed(q_message.get_messages_with_archived(db, agent.id, ALL)))
    assert len(messages) == 83
    # File order is kept even where the file's timestamps go backwards.
    assert [m.position for m in messages] == sorted(m.position for m in messages)
    assert len({m.position for m in messages}) == 83
    in_context = sum(1 for m in doc["messages"] if m["in_context"])
    assert sum(1 for m in messages if not m.is_archived) == in_context == 76
    first = doc["messages"][0]
    assert messages[0].role.value == "tool"
    assert messages[0].content_json == {
        "ToolResponses": [
            {"call_id": first["tool_call_id"], "content": first["content"][0]["text"]}
        ]
    }
    calling = next(i for i, m in enumerate(doc["messages"]) if m["tool_calls"])
    call = doc["messages"][calling]["tool_calls"][0]
    assert messages[calling].content_json == {
        "Blocks": [
            {"Text": {"text": doc["messages"][calling]["content"][0]["text"]}},
            {
                "ToolUse": {
                    "id": call["id"],
                    "name": "send_message",
                    "input": json.loads(call["function"]["arguments"]),
                }
            },
        ]
    }
    assert messages[calling].content_preview == doc["messages"][calling]["content"][0]["text"]
    assert messages[calling].source == "letta"
    assert messages[calling].source_metadata["letta"]["model"] == "gpt-4.5-preview"


def test_new_layout_group_and_shared_blocks(db: ConstellationDb) -> None:
    doc = _document("evie.af")
    report = import_letta(db, DATA / "evie.af")
    assert report.format == "letta multi-entity"
    assert report.source_version == 2
    (group,) = q_agent.list_groups(db)
    assert group.pattern_type.value == "sleeptime"
    assert group.name == "sleeptime group of Evie"
    members = q_agent.get_group_members(db, group.id)
    names = {q_agent.get_agent(db, m.agent_id).name: type(m.role).__name__ for m in members}  # type: ignore[union-attr]
    assert names == {"Evie": "SupervisorRole", "companion-sleeptime_copy": "RegularRole"}
    assert group.pattern_config["sleeptime_agent_frequency"] == 5
    evie = q_agent.get_agent_by_name(db, "Evie")
    assert evie is not None
    assert group.pattern_config["manager_agent_id"] == evie.id
    companion = q_agent.get_agent_by_name(db, "companion-sleeptime_copy")
    assert companion is not None
    shared = q_memory.list_agent_shared_blocks(db, companion.id)
    assert (
        len(shared)
        == len(set(doc["agents"][0]["block_ids"]) & set(doc["agents"][1]["block_ids"]))
        == 12
    )
    assert (evie.model_provider, evie.model_name) == ("anthropic", "claude-opus-4-5-20251101")


def test_double_encoded_file(db: ConstellationDb) -> None:
    raw = json.loads((DATA / "memgpt_agent.double-encoded.af").read_text())
    assert isinstance(raw, str)
    report = import_letta(db, DATA / "memgpt_agent.double-encoded.af")
    assert report.counts["agents"] == 1


def _write(tmp: Path, name: str, value: Any) -> Path:
    path = tmp / name
    path.write_text(json.dumps(value))
    return path


def test_passages_in_context_indices_and_class_name_rules(
    db: ConstellationDb, tmp_path: Path
) -> None:
    doc = _document("memgpt_agent_with_convo.v0.6.43.af")
    doc["in_context_message_indices"] = [0, 2, 1]
    doc["tool_rules"] = [
        {"tool_name": "send_message", "type": "TerminalToolRule"},
        {"tool_name": "search", "type": "max_count_per_step", "max_count_limit": 3},
        {"tool_name": "plan", "type": "constrain_child_tools", "children": ["a", "b"]},
        {"tool_name": "x", "type": "conditional", "default_child": "y"},
    ]
    doc["passages"] = [{"text": "a fact", "created_at": "2025-03-24T02:59:06+00:00", "tags": ["t"]}]
    report = import_letta(db, _write(tmp_path, "old.af", doc))
    (agent,) = q_agent.list_agents(db)
    assert [r["rule_type"] for r in agent.tool_rules] == [
        {"type": "ExitLoop"},
        {"type": "MaxCalls", "value": 3},
        {"type": "RequiresFollowingTools"},
    ]
    assert agent.tool_rules[2]["conditions"] == ["a", "b"]
    assert any("'conditional'" in i.description for i in report.issues)
    (entry,) = q_memory.list_archival_entries(db, agent.id)
    assert (entry.content, entry.metadata) == ("a fact", {"tags": ["t"]})
    messages = list(reversed(q_message.get_messages_with_archived(db, agent.id, ALL)))
    assert [m.is_archived for m in messages[:4]] == [False, False, False, True]
    # Message 2 comes before message 1 in the context order, so it is placed first.
    order = [m.source_metadata["letta"]["id"] for m in messages[:4]]
    assert order == ["message-0", "message-2", "message-1", "message-3"]
    assert any("in-context message order differs" in i.description for i in report.issues)


def test_importing_twice_renames(db: ConstellationDb) -> None:
    import_letta(db, DATA / "loop.af")
    report = import_letta(db, DATA / "loop.af")
    assert sorted(a.name for a in q_agent.list_agents(db)) == ["Loop", "Loop-2"]
    assert any(i.resolution == "imported as 'Loop-2'" for i in report.issues)


def test_dry_run(db: ConstellationDb) -> None:
    report = import_letta(db, DATA / "evie.af", dry_run=True)
    assert report.counts["memory_blocks"] == 13
    assert _rows(db, "agents") == 0
    assert _rows(db, "migration_audit") == 0


def test_bad_files_fail_cleanly_and_change_nothing(tmp_path: Path) -> None:
    db_path = tmp_path / "c.db"
    with ConstellationDb.open(db_path) as db:
        import_letta(db, DATA / "loop.af")
    digest = hashlib.sha256(db_path.read_bytes()).hexdigest()
    big = tmp_path / "big.af"
    with big.open("wb") as out:
        out.write(b'"')
        chunk = b"x" * (1024 * 1024)
        for _ in range(100):
            out.write(chunk)
        out.write(b'"')
    broken = _document("loop.af")
    broken["agents"][0]["messages"][1]["role"] = 5
    cases = {
        big: f"over the {MAX_AF_BYTES // (1024 * 1024)} MiB limit",
        _write(
            tmp_path, "field.af", broken
        ): r"Expected `str`, got `int` - at `\$.agents\[0\].messages\[1\].role`",
        _write(tmp_path, "list.af", [1, 2]): "a Letta agent file is a JSON object, not list",
        _write(tmp_path, "other.af", {"hello": "world"}): "expected `agents`",
        _write(tmp_path, "empty.af", {"agents": []}): "holds no agents",
        _write(
            tmp_path, "dangling.af", {"agents": [{"id": "a", "block_ids": ["nope"]}]}
        ): "lists block 'nope'",
    }
    deep = tmp_path / "deep.af"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    cases[deep] = "nested too deeply"
    notjson = tmp_path / "bad.af"
    notjson.write_text('{"agents": [')
    cases[notjson] = "not valid JSON"
    for path, message in cases.items():
        with ConstellationDb.open(db_path) as db, pytest.raises(ImportFailed, match=message):
            import_letta(db, path)
        assert hashlib.sha256(db_path.read_bytes()).hexdigest() == digest, path.name


def test_cli_import_letta(tmp_path: Path) -> None:
    db_path = tmp_path / "c.db"
    code, output = run("import", "letta", str(DATA / "loop.af"), str(db_path), "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["counts"]["memory_blocks"] == 9
    code, output = run("import", "letta", str(tmp_path / "missing.af"), str(db_path))
    assert code == 1
    assert "cannot read" in output
