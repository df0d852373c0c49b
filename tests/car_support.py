"""Builders of Pattern CAR exports in every layout, from FORMATS.md, with libipld and blake3.

libipld encodes the DAG-CBOR blocks (a `bytes` value that parses as a CID becomes a tag-42
link); the CARv1 framing (varint length, CID, data) is a few lines here, as libipld has no
CAR writer. Records are plain dicts shaped exactly as the Rust serializers wrote them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import blake3
import libipld

TWITTER_EPOCH_MS = 1288834974657


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def cid_for(data: bytes, hash_name: str = "blake3") -> bytes:
    if hash_name == "sha256":
        return bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return bytes([0x01, 0x71, 0x1E, 0x20]) + blake3.blake3(data).digest()


class Car:
    """Blocks in insertion order; `write` frames them as CARv1 with one root."""

    def __init__(self, hash_name: str = "blake3") -> None:
        self.blocks: list[tuple[bytes, bytes]] = []
        self.hash_name = hash_name

    def put(self, value: Any) -> bytes:
        data = libipld.encode_dag_cbor(value)
        cid = cid_for(data, self.hash_name)
        self.blocks.append((cid, data))
        return cid

    def put_raw(self, cid: bytes, data: bytes) -> bytes:
        self.blocks.append((cid, data))
        return cid

    def to_bytes(self, root: bytes) -> bytes:
        header = libipld.encode_dag_cbor({"version": 1, "roots": [root]})
        out = bytearray(varint(len(header)) + header)
        # Root block first, as Pattern's writers do; readers must not care.
        ordered = sorted(self.blocks, key=lambda b: b[0] != root)
        for cid, data in ordered:
            out += varint(len(cid) + len(data)) + cid + data
        return bytes(out)

    def write(self, path: Path, root: bytes) -> Path:
        path.write_bytes(self.to_bytes(root))
        return path


def snowflake(unix_ms: int, seq: int = 0) -> str:
    """A legacy position: the decimal u64 string (17 digits in 2025)."""
    return str(((unix_ms - TWITTER_EPOCH_MS) << 16) | seq)


def ts(second: int) -> str:
    day, hour, minute = 1 + second // 86400, second // 3600 % 24, second // 60 % 60
    return f"2025-08-{day:02d}T{hour:02d}:{minute:02d}:{second % 60:02d}.123456Z"


BASE_MS = 1_756_000_000_000  # 2025-08-24


def legacy_message(agent: str, i: int, *, archived: bool = False) -> list[dict[str, Any]]:
    """A (Message, AgentMessageRelation) pair, as the v1/v2 exporters wrote it."""
    position = snowflake(BASE_MS + i * 10, i % 3)
    batch = snowflake(BASE_MS + (i // 4) * 40)
    if i % 5 == 4:
        content: Any = {
            "ToolCalls": [
                {"call_id": f"c{i}", "fn_name": "search", "fn_arguments": {"q": f"x{i}", "n": 1.5}}
            ]
        }
    elif i % 5 == 3:
        content = {"ToolResponses": [{"call_id": f"c{i}", "content": f"result {i}"}]}
    else:
        content = {"Text": f"message {i} from {agent}"}
    message = {
        "id": f"msg_{agent}_{i:05d}",
        "role": ["user", "assistant", "assistant", "tool", "assistant"][i % 5],
        "owner_id": "0" * 31 + "1",
        "content": content,
        "metadata": {"channel_id": "c1"} if i % 2 == 0 else {},
        "options": {"cache_control": None},
        "has_tool_calls": i % 5 == 4,
        "word_count": 4,
        "created_at": ts(i),
        "position": position,
        "batch": batch,
        "sequence_num": i % 4,
        "batch_type": "user_request",
    }
    relation = {
        "id": f"{i:032x}",
        "in_id": agent,
        "out_id": message["id"],
        "message_type": "archived" if archived else "active",
        "position": position,
        "added_at": ts(i),
        "batch": batch,
        "sequence_num": i % 4,
        "batch_type": "user_request",
    }
    return [message, relation]


def legacy_memory(
    mem_id: str,
    label: str,
    value: str,
    *,
    memory_type: str = "core",
    permission: str = "read_write",
) -> dict[str, Any]:
    return {
        "id": mem_id,
        "owner_id": "0" * 31 + "1",
        "label": label,
        "value": value,
        "description": None,
        "memory_type": memory_type,
        "pinned": label == "persona",
        "permission": permission,
        "metadata": {"source": "test"},
        "embedding_model": None,
        "embedding": [0.25, -0.5],
        "created_at": ts(1),
        "updated_at": ts(2),
        "is_active": True,
    }


def memory_relation(agent: str, mem_id: str, access: str = "read_write") -> dict[str, Any]:
    return {
        "id": "0" * 32,
        "in_id": agent,
        "out_id": mem_id,
        "access_level": access,
        "created_at": ts(9),
    }


def legacy_agent_fields(agent: str, name: str) -> dict[str, Any]:
    return {
        "id": agent,
        "name": name,
        "agent_type": "pattern",
        "model_id": "anthropic/claude-3-5-sonnet",
        "model_config": {"temperature": 0.5},
        "base_instructions": f"You are {name}.",
        "max_messages": 50,
        "compression_threshold": 30,
        "memory_char_limit": 5000,
        "max_message_age_hours": 24,
        "enable_thinking": True,
        "compression_strategy": {"type": "truncate", "keep_recent": 10},
        "tool_rules": [
            {"tool_name": "send_message", "rule_type": {"type": "ExitLoop"}, "priority": 5}
        ],
        "total_messages": 3,
        "total_tool_calls": 1,
        "context_rebuilds": 0,
        "compression_events": 0,
        "created_at": ts(0),
        "updated_at": ts(5),
        "last_active": ts(6),
        "owner_id": "0" * 31 + "1",
        "message_summary": "First summary.\n\nSecond summary.",
    }


MEMORY_TEXT = "I am Pattern. Ünïcode ✓ and\nnewlines\tand tabs are kept exactly."


def agent_content(agent: str, n_messages: int) -> tuple[list[Any], list[Any]]:
    """Memories (core, working, archival) and messages of one legacy agent."""
    memories = [
        [
            legacy_memory(f"{agent[:20]}aaaaaaaaaaaa", "persona", MEMORY_TEXT),
            memory_relation(agent, "m1"),
        ],
        [
            legacy_memory(
                f"{agent[:20]}bbbbbbbbbbbb", "notes", "working notes", memory_type="working"
            ),
            memory_relation(agent, "m2"),
        ],
        [
            legacy_memory(
                f"{agent[:20]}cccccccccccc", "archive_1", "an old fact", memory_type="archival"
            ),
            memory_relation(agent, "m3"),
        ],
    ]
    messages = [legacy_message(agent, i, archived=i < 2) for i in range(n_messages)]
    return memories, messages


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def manifest(car: Car, version: int, export_type: str, data_cid: bytes) -> bytes:
    return car.put(
        {
            "version": version,
            "exported_at": ts(100),
            "export_type": export_type,
            "stats": {
                "memory_count": 0,
                "message_count": 0,
                "chunk_count": 0,
                "total_blocks": 0,
                "uncompressed_size": 0,
                "compressed_size": None,
            },
            "data_cid": data_cid,
        }
    )


def v2_agent_export(
    car: Car, agent: str, name: str, n_messages: int, extra_memories: list[Any] = ()
) -> bytes:
    """Blocks of one v2 agent (AgentExport -> AgentRecordExport, linked chunks); its CID."""
    memories, messages = agent_content(agent, n_messages)
    memories = memories + list(extra_memories)
    message_cids: list[bytes] = []
    chunks = _chunks(messages, 1000)
    next_cid = None
    # Forward-linked: build from the last chunk back so each can point to the next.
    for index in reversed(range(len(chunks))):
        chunk = chunks[index]
        next_cid = car.put(
            {
                "chunk_id": index,
                "start_position": chunk[0][1]["position"] if chunk else "",
                "end_position": chunk[-1][1]["position"] if chunk else "",
                "messages": chunk,
                "next_chunk": next_cid,
            }
        )
        message_cids.insert(0, next_cid)
    memory_cids = [car.put({"chunk_id": 0, "memories": memories, "next_chunk": None})]
    record = legacy_agent_fields(agent, name) | {
        "message_chunks": message_cids,
        "memory_chunks": memory_cids,
    }
    record_cid = car.put(record)
    return car.put(
        {
            "agent_cid": record_cid,
            "message_chunk_cids": message_cids,
            "memory_chunk_cids": memory_cids,
        }
    )


def v1_agent_export(
    car: Car, agent: str, name: str, n_messages: int, extra_memories: list[Any] = ()
) -> bytes:
    """v1: AgentExport{agent: full AgentRecord inline, chunk CID lists}."""
    memories, messages = agent_content(agent, n_messages)
    memories = memories + list(extra_memories)
    message_cids = [
        car.put(
            {
                "chunk_id": i,
                "start_position": c[0][1]["position"],
                "end_position": c[-1][1]["position"],
                "messages": c,
                "next_chunk": None,
            }
        )
        for i, c in enumerate(_chunks(messages, 1000))
    ]
    memory_cids = [car.put({"chunk_id": 0, "memories": memories, "next_chunk": None})]
    record = legacy_agent_fields(agent, name) | {
        "assigned_task_ids": [],
        "scheduled_event_ids": [],
        "memories": memories,
        "messages": messages,
    }
    car.put(record)  # the v1 exporter also wrote the record as an unreferenced block
    return car.put(
        {"agent": record, "message_chunk_cids": message_cids, "memory_chunk_cids": memory_cids}
    )


def v0_agent_record(
    car: Car, agent: str, name: str, n_messages: int, extra_memories: list[Any] = ()
) -> bytes:
    """v0: the CAR root is the full AgentRecord (no manifest)."""
    memories, messages = agent_content(agent, n_messages)
    memories = memories + list(extra_memories)
    record = legacy_agent_fields(agent, name) | {
        "assigned_task_ids": [],
        "scheduled_event_ids": [],
        "memories": memories,
        "messages": messages,
    }
    return car.put(record)


def legacy_group(group_id: str, name: str) -> dict[str, Any]:
    return {
        "id": group_id,
        "name": name,
        "description": "a group",
        "coordination_pattern": {
            "type": "round_robin",
            "current_index": 0,
            "skip_unavailable": True,
        },
        "created_at": ts(3),
        "updated_at": ts(4),
        "is_active": True,
        "state": {"pattern": "round_robin", "id": b"\x01" * 16},
        "members": [],
    }


def membership(agent: str, group_id: str, role: Any) -> dict[str, Any]:
    return {
        "id": "1" * 32,
        "in_id": agent,
        "out_id": group_id,
        "joined_at": ts(7),
        "role": role,
        "is_active": True,
        "capabilities": ["planning"],
    }


A1, A2, A3 = ("a" * 32, "b" * 32, "c" * 32)
SHARED_MEMORY = "d" * 32
GROUP = "e" * 32


def shared_memory(agent: str, access: str) -> list[Any]:
    return [
        legacy_memory(SHARED_MEMORY, "shared_notes", "shared by both agents"),
        memory_relation(agent, SHARED_MEMORY, access),
    ]


def build_legacy(
    tmp: Path, version: int, export_type: str, n_messages: int = 5, hash_name: str = "blake3"
) -> Path:
    """A legacy CAR (v0, v1 or v2) of one agent, a group of two, or a constellation."""
    car = Car(hash_name)
    agent_export = {0: v0_agent_record, 1: v1_agent_export, 2: v2_agent_export}[version]
    if export_type == "Agent":
        data = agent_export(car, A1, "Pattern", n_messages)
    elif export_type == "Group":
        c1 = agent_export(car, A1, "Pattern", n_messages, [shared_memory(A1, "read_write")])
        c2 = agent_export(car, A2, "Entropy", n_messages, [shared_memory(A2, "read_only")])
        group: dict[str, Any] = {
            "group": legacy_group(GROUP, "Main"),
            "member_agent_cids": [[A1, c1], [A2, c2]],
        }
        if version == 2:
            group["member_memberships"] = [
                [A1, membership(A1, GROUP, "supervisor")],
                [A2, membership(A2, GROUP, {"specialist": {"domain": "tasks"}})],
            ]
        data = car.put(group)
    else:
        c1 = agent_export(car, A1, "Pattern", n_messages)
        c2 = agent_export(car, A2, "Entropy", n_messages)
        c3 = agent_export(car, A3, "Flux", n_messages)
        group = {"group": legacy_group(GROUP, "Main"), "member_agent_cids": [[A1, c1], [A2, c2]]}
        if version == 2:
            group["member_memberships"] = [
                [A1, membership(A1, GROUP, "regular")],
                [A2, membership(A2, GROUP, "regular")],
            ]
        constellation = {
            "constellation": {
                "id": "f" * 32,
                "owner_id": "0" * 31 + "1",
                "name": "home",
                "description": None,
                "created_at": ts(0),
                "updated_at": ts(0),
                "is_active": True,
                "agents": [],
                "groups": [GROUP],
            },
            "groups": [group],
            "agent_export_cids": [[A1, c1], [A2, c2], [A3, c3]],
        }
        if version == 2:
            constellation["agent_memberships"] = [
                [
                    A1,
                    {
                        "id": "2" * 32,
                        "in_id": "f" * 32,
                        "out_id": A1,
                        "joined_at": ts(0),
                        "is_primary": True,
                    },
                ]
            ]
        data = car.put(constellation)
    # v0 has no manifest: the root is the record itself.
    root = data if version == 0 else manifest(car, version, export_type, data)
    return car.write(tmp / f"v{version}-{export_type.lower()}.car", root)


# -- v3 ---------------------------------------------------------------------------------------


def loro_snapshot(text: str) -> bytes:
    import loro

    doc = loro.LoroDoc()
    doc.get_text("content").insert(0, text)
    doc.commit()
    return doc.export(loro.ExportMode.Snapshot())


def v3_agent(car: Car, agent: str, name: str, n_messages: int) -> dict[str, Any]:
    snapshot = loro_snapshot(MEMORY_TEXT)
    chunk = car.put({"index": 0, "data": snapshot, "next_cid": None})
    block = car.put(
        {
            "id": f"mem_{agent}",
            "agent_id": agent,
            "label": "persona",
            "description": "who I am",
            "block_type": "core",
            "char_limit": 5000,
            "permission": "read_write",
            "pinned": True,
            "content_preview": MEMORY_TEXT,
            "metadata": None,
            "is_active": True,
            "frontier": [1, 2, 3],
            "last_seq": 4,
            "created_at": ts(1),
            "updated_at": ts(2),
            "snapshot_chunk_cids": [chunk],
            "total_snapshot_bytes": len(snapshot),
        }
    )
    parent = car.put(
        {
            "id": f"arch_{agent}_p",
            "agent_id": agent,
            "content": "parent",
            "metadata": {"k": 1},
            "chunk_index": 0,
            "parent_entry_id": None,
            "created_at": ts(3),
        }
    )
    child = car.put(
        {
            "id": f"arch_{agent}_c",
            "agent_id": agent,
            "content": "child",
            "metadata": None,
            "chunk_index": 1,
            "parent_entry_id": f"arch_{agent}_p",
            "created_at": ts(4),
        }
    )
    messages = [
        {
            "id": f"msg_{agent}_{i}",
            "agent_id": agent,
            "position": f"{(BASE_MS - TWITTER_EPOCH_MS + i) << 16:020d}",
            "batch_id": f"{(BASE_MS - TWITTER_EPOCH_MS) << 16:020d}",
            "sequence_in_batch": i,
            "role": "user" if i % 2 == 0 else "assistant",
            "content_json": {"Text": f"hello {i}"},
            "content_preview": f"hello {i}",
            "batch_type": "user_request",
            "source": "cli",
            "source_metadata": None,
            "is_archived": i == 0,
            "is_deleted": False,
            "created_at": ts(10 + i),
        }
        for i in range(n_messages)
    ]
    chunks = [
        car.put(
            {
                "chunk_index": i,
                "start_position": c[0]["position"],
                "end_position": c[-1]["position"],
                "messages": c,
                "message_count": len(c),
            }
        )
        for i, c in enumerate(_chunks(messages, 2))
    ]
    s1 = car.put(
        {
            "id": f"sum_{agent}_1",
            "agent_id": agent,
            "summary": "first",
            "start_position": messages[0]["position"],
            "end_position": messages[-1]["position"],
            "message_count": 2,
            "previous_summary_id": None,
            "depth": 0,
            "created_at": ts(20),
        }
    )
    s2 = car.put(
        {
            "id": f"sum_{agent}_2",
            "agent_id": agent,
            "summary": "second",
            "start_position": messages[0]["position"],
            "end_position": messages[-1]["position"],
            "message_count": 2,
            "previous_summary_id": f"sum_{agent}_1",
            "depth": 1,
            "created_at": ts(21),
        }
    )
    return {
        "agent": {
            "id": agent,
            "name": name,
            "description": None,
            "model_provider": "anthropic",
            "model_name": "claude-sonnet-4-5",
            "system_prompt": f"You are {name}.",
            "config": {"max_messages": 50},
            "enabled_tools": ["context", "recall"],
            "tool_rules": None,
            "status": "active",
            "created_at": ts(0),
            "updated_at": ts(5),
        },
        "message_chunk_cids": chunks,
        "memory_block_cids": [block],
        # Child listed before its parent: the importer must order them.
        "archival_entry_cids": [child, parent],
        "archive_summary_cids": [s2, s1],
    }


def v3_group_record() -> dict[str, Any]:
    return {
        "id": "group_main",
        "name": "Main",
        "description": None,
        "pattern_type": "supervisor",
        "pattern_config": {"leader_id": A1},
        "created_at": ts(3),
        "updated_at": ts(4),
    }


def v3_members() -> list[dict[str, Any]]:
    return [
        {
            "group_id": "group_main",
            "agent_id": A1,
            "role": {"type": "supervisor"},
            "capabilities": [],
            "joined_at": ts(7),
        },
        {
            "group_id": "group_main",
            "agent_id": A2,
            "role": {"type": "specialist", "domain": "tasks"},
            "capabilities": ["tasks"],
            "joined_at": ts(8),
        },
    ]


def build_v3(tmp: Path, export_type: str, n_messages: int = 5) -> Path:
    car = Car()
    if export_type == "Agent":
        data = car.put(v3_agent(car, A1, "Pattern", n_messages))
    elif export_type == "Group":
        data = car.put(
            {
                "group": v3_group_record(),
                "members": v3_members(),
                "agent_exports": [
                    v3_agent(car, A1, "Pattern", n_messages),
                    v3_agent(car, A2, "Entropy", n_messages),
                ],
                "shared_memory_cids": [],
                "shared_attachment_exports": [
                    {
                        "block_id": f"mem_{A1}",
                        "agent_id": A2,
                        "permission": "read_only",
                        "attached_at": ts(9),
                    }
                ],
            }
        )
    else:
        e1 = car.put(v3_agent(car, A1, "Pattern", n_messages))
        e2 = car.put(v3_agent(car, A2, "Entropy", n_messages))
        e3 = car.put(v3_agent(car, A3, "Flux", n_messages))
        data = car.put(
            {
                "version": 3,
                "owner_id": "cli-user",
                "exported_at": ts(100),
                "agent_exports": {A1: e1, A2: e2, A3: e3},
                "group_exports": [
                    {
                        "group": v3_group_record(),
                        "members": v3_members(),
                        "agent_cids": [e1, e2],
                        "shared_memory_cids": [],
                        "shared_attachment_exports": [],
                    }
                ],
                "standalone_agent_cids": [e3],
                "all_memory_block_cids": [],
                "shared_attachments": [
                    {
                        "block_id": f"mem_{A1}",
                        "agent_id": A3,
                        "permission": "append",
                        "attached_at": ts(9),
                    }
                ],
            }
        )
    root = car.put(
        {
            "version": 3,
            "exported_at": ts(100),
            "export_type": export_type,
            "stats": {
                "agent_count": 1,
                "group_count": 0,
                "message_count": n_messages,
                "memory_block_count": 1,
                "archival_entry_count": 2,
                "archive_summary_count": 2,
                "chunk_count": 1,
                "total_blocks": 0,
                "total_bytes": 0,
            },
            "data_cid": data,
        }
    )
    return car.write(tmp / f"v3-{export_type.lower()}.car", root)
