"""Letta agent files (.af): the old single-agent layout and the new multi-entity one.

Design note. The file is refused before parsing when it is over MAX_AF_BYTES (64 MiB; real
agent files are well under 1 MiB), then decoded (a file whose JSON value is itself a JSON string
is unwrapped once) and checked against the Structs of `_letta_schema`, so an error names the
field. The old layout is turned into a one-agent new layout; from there one path writes:
agents (new ids: Letta's file-local ids such as `agent-0` repeat across files), memory blocks as
Loro documents with their limits (a block several agents list is owned by the first and shared
with the others), messages in file order with the in-context order respected and the rest
archived, Pattern tools and tool rules, archival passages, groups, and the LLM and embedding
configuration in the agent's config. Everything with no column is kept in `config.letta`;
what is not kept is named in the audit.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from pattern_db.connection import ConstellationDb, Transaction
from pattern_db.errors import ImportFailed
from pattern_db.ids import new_id, position_from_parts
from pattern_db.importers._letta_content import convert_content
from pattern_db.importers._letta_map import (
    BASE_TOOLS,
    PATTERNS,
    ROLES,
    TOOL_MAP,
    block_type,
    model_of,
    pattern_rules,
)
from pattern_db.importers._letta_schema import (
    AgentFile,
    AgentSchema,
    BlockSchema,
    GroupSchema,
    MessageSchema,
    OldAgentFile,
    ToolSchema,
)
from pattern_db.importers._report import ImportReport, Progress, Recorder, run_import
from pattern_db.importers._sink import Sink
from pattern_db.importers._values import json_safe, text_document, timestamp_or
from pattern_db.models.agent import (
    Agent,
    AgentGroup,
    GroupMember,
    PatternType,
    RegularRole,
    SupervisorRole,
)
from pattern_db.models.import_audit import IssueSeverity
from pattern_db.models.memory import ArchivalEntry, MemoryBlock, MemoryPermission
from pattern_db.models.message import BatchType, Message, MessageRole

__all__ = ["MAX_AF_BYTES", "import_letta"]

MAX_AF_BYTES = 64 * 1024 * 1024
LAYOUT_OLD, LAYOUT_NEW = 1, 2

# Agent keys with a column or a mapping of their own; the rest go to config.letta.
_AGENT_MAPPED = frozenset(
    {
        "id", "name", "system", "description", "messages", "memory_blocks", "core_memory",
        "block_ids", "tool_ids", "tools", "tool_rules", "in_context_message_ids",
        "in_context_message_indices", "llm_config", "embedding_config", "passages", "model",
        "group_ids", "created_at", "updated_at",
    }
)  # fmt: skip
_SECRET_KEYS = ("tool_exec_environment_variables", "secrets")


# -- reading ----------------------------------------------------------------------------------


def _read(path: Path) -> tuple[AgentFile, int, list[dict[str, Any]]]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > MAX_AF_BYTES:
        raise ImportFailed(
            f"{path}: {size} bytes is over the {MAX_AF_BYTES // (1024 * 1024)} MiB limit for "
            "Letta agent files (real ones are far smaller); refusing to parse it"
        )
    data = path.read_bytes()
    value = _decode(data, path)
    if isinstance(value, str):
        # Some exporters wrote the document as a JSON string holding the JSON text.
        value = _decode(value.encode(), path)
    if not isinstance(value, dict):
        raise ImportFailed(
            f"{path}: a Letta agent file is a JSON object, not {type(value).__name__}"
        )
    try:
        if "agents" in value:
            doc = msgspec.convert(value, AgentFile)
            raws = [a if isinstance(a, dict) else {} for a in value.get("agents") or []]
            return doc, LAYOUT_NEW, raws
        if "core_memory" in value or "llm_config" in value or "messages" in value:
            old = msgspec.convert(value, OldAgentFile)
            return _from_old(old), LAYOUT_OLD, [value]
    except msgspec.ValidationError as exc:
        raise ImportFailed(f"{path}: not a valid Letta agent file: {exc}") from exc
    raise ImportFailed(
        f"{path}: not a Letta agent file: expected `agents` (Letta 0.8 and later) or "
        "`core_memory` (older Letta) at the top level"
    )


def _decode(data: bytes, path: Path) -> Any:
    try:
        return msgspec.json.decode(data)
    except RecursionError as exc:
        raise ImportFailed(f"{path}: the JSON is nested too deeply") from exc
    except msgspec.DecodeError as exc:
        raise ImportFailed(f"{path}: not valid JSON ({exc})") from exc


def _from_old(old: OldAgentFile) -> AgentFile:
    """Return the old single-agent layout as a one-agent new layout (ids made up)."""
    messages = [
        msgspec.structs.replace(m, id=m.id or f"message-{i}")
        for i, m in enumerate(old.messages or [])
    ]
    if old.in_context_message_indices is not None:
        in_context = [
            messages[i].id or "" for i in old.in_context_message_indices if 0 <= i < len(messages)
        ]
    else:
        in_context = [m.id or "" for m in messages if m.in_context is not False]
    agent = AgentSchema(
        id="agent-0",
        name=old.name,
        agent_type=old.agent_type,
        system=old.system,
        description=old.description,
        metadata=old.metadata_,
        memory_blocks=old.core_memory,
        tools=list(old.tools or []),
        tool_rules=old.tool_rules,
        llm_config=old.llm_config,
        embedding_config=old.embedding_config,
        in_context_message_ids=in_context,
        messages=messages,
        passages=old.passages,
        created_at=old.created_at,
        updated_at=old.updated_at,
    )
    return AgentFile(agents=[agent])


# -- mapping ----------------------------------------------------------------------------------


class _Letta:
    def __init__(
        self, doc: AgentFile, raws: list[dict[str, Any]], sink: Sink, rec: Recorder
    ) -> None:
        self.doc = doc
        self.raws = raws
        self.sink = sink
        self.rec = rec
        self.tools = {t.id: t for t in doc.tools or [] if t.id}
        self.blocks = {b.id: b for b in doc.blocks or [] if b.id}
        self.block_owner: dict[str, str] = {}
        self.agent_ids: dict[str, str] = {}
        self.agent_names: dict[str, str] = {}
        self.seen_tools: set[str] = set()

    def run(self) -> None:
        agents = self.doc.agents or []
        if not agents:
            raise ImportFailed("the agent file holds no agents")
        for index, agent in enumerate(agents):
            self.agent(agent, self.raws[index] if index < len(self.raws) else {})
            self.rec.progress("agents", index + 1, len(agents))
        for group in self.doc.groups or []:
            self.group(group)
        for key in ("files", "sources", "mcp_servers", "skills"):
            items = getattr(self.doc, key) or []
            if items:
                self.rec.issue(
                    IssueSeverity.WARNING,
                    f"the file holds {len(items)} {key}; pattern-db has no place for Letta {key}",
                    entity_type=key,
                    resolution="not imported",
                )
                self.rec.count("skipped", len(items))

    # -- agents --------------------------------------------------------------------------------

    def agent(self, agent: AgentSchema, raw: dict[str, Any]) -> None:
        rec, sink = self.rec, self.sink
        agent_id = new_id("agent")
        self.agent_ids[agent.id] = agent_id
        name = agent.name or f"letta-{agent.id[:8]}"
        self.agent_names[agent.id] = name
        tools = self.agent_tools(agent)
        enabled = list(BASE_TOOLS)
        for tool in tools:
            mapped = TOOL_MAP.get(tool.name or "")
            if mapped is None:
                rec.issue(
                    IssueSeverity.WARNING,
                    f"Letta tool {tool.name!r} has no Pattern equivalent",
                    entity_type="tool",
                    entity_id=tool.name,
                    resolution="its definition is kept in config.letta.tools",
                )
            for name_ in mapped or ():
                if name_ not in enabled:
                    enabled.append(name_)
        for tool in tools:
            key = tool.id or tool.name or ""
            if key not in self.seen_tools:
                self.seen_tools.add(key)
                rec.count("tools")
        rules: list[dict[str, Any]] = []
        for rule in agent.tool_rules or []:
            mapped_rules = pattern_rules(rule)
            if mapped_rules is None:
                rec.issue(
                    IssueSeverity.WARNING,
                    f"tool rule {rule.type!r} on {rule.tool_name!r} has no Pattern equivalent",
                    entity_type="tool_rule",
                    entity_id=rule.tool_name,
                    resolution="kept in config.letta.tool_rules",
                )
            else:
                rules.extend(mapped_rules)
        rec.count("tool_rules", len(agent.tool_rules or []))
        config = self.config(agent, raw, tools)
        provider, model_name = model_of(agent)
        created = timestamp_or(agent.created_at, f"agent {agent.id}.created_at")
        updated = timestamp_or(agent.updated_at, f"agent {agent.id}.updated_at", created)
        sink.add_agent(
            Agent(
                id=agent_id,
                name=name,
                description=agent.description,
                model_provider=provider,
                model_name=model_name,
                system_prompt=agent.system or "",
                config=config,
                enabled_tools=enabled,
                tool_rules=rules or None,
                created_at=created,
                updated_at=updated,
            ),
            agent.id,
            "Letta agent: tools mapped to Pattern tools, llm/embedding config in config",
        )
        for block_id in agent.block_ids or []:
            block = self.blocks.get(block_id)
            if block is None:
                raise ImportFailed(
                    f"agent {agent.id} lists block {block_id!r}, which the file lacks"
                )
            self.block(agent_id, block_id, block)
        for i, block in enumerate(agent.memory_blocks or []):
            self.block(agent_id, block.id or f"{agent.id}/inline-{i}", block)
        self.messages(agent, agent_id)
        for i, passage in enumerate(agent.passages or []):
            self.passage(agent_id, passage, f"{agent.id}/passage-{i}")

    def agent_tools(self, agent: AgentSchema) -> list[ToolSchema]:
        found: list[ToolSchema] = []
        for tool_id in agent.tool_ids or []:
            listed = self.tools.get(tool_id)
            if listed is None:
                raise ImportFailed(f"agent {agent.id} lists tool {tool_id!r}; the file lacks it")
            found.append(listed)
        found.extend(
            ToolSchema(name=tool) if isinstance(tool, str) else tool for tool in agent.tools or []
        )
        return found

    def config(
        self, agent: AgentSchema, raw: dict[str, Any], tools: list[ToolSchema]
    ) -> dict[str, Any]:
        llm = agent.llm_config or {}
        config: dict[str, Any] = {
            key: llm[key]
            for key in ("context_window", "temperature", "max_tokens")
            if llm.get(key) is not None
        }
        if agent.llm_config is not None:
            config["llm_config"] = json_safe(agent.llm_config, "llm_config")
        if agent.embedding_config is not None:
            config["embedding_config"] = json_safe(agent.embedding_config, "embedding_config")
        letta: dict[str, Any] = {"source_id": agent.id}
        for key, value in raw.items():
            if key in _AGENT_MAPPED or value is None or value in ([], {}):
                continue
            if key in _SECRET_KEYS:
                self.rec.dropped("agent", key, "may hold secrets; set them again", agent.id)
                continue
            letta[key] = json_safe(value, f"agent {agent.id}.{key}")
        if tools:
            letta["tools"] = [
                msgspec.to_builtins(t) for t in tools if t.source_code or t.json_schema
            ]
        if agent.tool_rules:
            letta["tool_rules"] = [msgspec.to_builtins(r) for r in agent.tool_rules]
        config["letta"] = json_safe(letta, f"agent {agent.id} config")
        return config

    # -- memory --------------------------------------------------------------------------------

    def block(self, agent_id: str, key: str, block: BlockSchema) -> None:
        rec = self.rec
        permission = MemoryPermission.READ_ONLY if block.read_only else MemoryPermission.READ_WRITE
        owner = self.block_owner.get(key)
        if owner is not None:
            if owner != agent_id:
                self.sink.add_attachment(
                    self.sink.map_id("letta_block", key), agent_id, permission, None
                )
            return
        self.block_owner[key] = agent_id
        label = block.label or "unnamed"
        value = block.value or ""
        limit = block.limit if block.limit and block.limit > 0 else 5000
        if len(value) > limit:
            rec.issue(
                IssueSeverity.WARNING,
                f"block {label!r} holds {len(value)} characters, over its limit {limit}",
                entity_type="memory_block",
                entity_id=key,
                resolution=f"char_limit raised to {len(value)}; text kept whole",
            )
            limit = len(value)
        for field in ("is_template", "template_name"):
            if getattr(block, field):
                rec.dropped("block", field, "Letta templates have no equivalent", key)
        snapshot, frontier = text_document(value)
        created = timestamp_or(block.created_at, f"block {key}.created_at")
        updated = timestamp_or(block.updated_at, f"block {key}.updated_at", created)
        metadata = block.metadata or block.metadata_ or None
        block_id = new_id("mem")
        self.sink.set_id("letta_block", key, block_id)
        self.sink.add_block(
            MemoryBlock(
                id=block_id,
                agent_id=agent_id,
                label=label,
                description=block.description or "",
                block_type=block_type(label),
                char_limit=limit,
                permission=permission,
                loro_snapshot=snapshot,
                content_preview=value,
                metadata=json_safe(metadata, f"block {key}.metadata"),
                frontier=frontier,
                created_at=created,
                updated_at=updated,
            ),
            key,
            "text -> Loro document; limit -> char_limit; read_only -> permission",
        )

    def passage(self, agent_id: str, passage: Any, key: str) -> None:
        metadata = dict(passage.metadata or passage.metadata_ or {})
        if passage.tags:
            metadata["tags"] = list(passage.tags)
        created = timestamp_or(passage.created_at, f"{key}.created_at")
        self.sink.add_archival(
            ArchivalEntry(
                id=new_id("arch"),
                agent_id=agent_id,
                content=passage.text or passage.content or "",
                metadata=json_safe(metadata, f"{key}.metadata") or None,
                created_at=created,
            ),
            passage.id or key,
            "archival passage -> archival entry",
        )

    # -- messages ------------------------------------------------------------------------------

    def ordered(self, agent: AgentSchema) -> tuple[list[MessageSchema], set[str]]:
        """Return the messages in conversation order and the ids of those in context."""
        messages = list(agent.messages or [])
        wanted = [i for i in agent.in_context_message_ids or [] if i]
        by_id = {m.id: n for n, m in enumerate(messages) if m.id}
        slots = sorted(by_id[i] for i in wanted if i in by_id)
        in_order = [messages[by_id[i]] for i in wanted if i in by_id]
        if [messages[n] for n in slots] != in_order:
            for slot, message in zip(slots, in_order, strict=True):
                messages[slot] = message
            self.rec.issue(
                IssueSeverity.INFO,
                "the in-context message order differs from the order of the messages in the file",
                entity_type="agent",
                entity_id=agent.id,
                resolution="in-context messages placed in their context order",
            )
        missing = [i for i in wanted if i not in by_id]
        if missing:
            self.rec.issue(
                IssueSeverity.WARNING,
                f"{len(missing)} in-context message ids are not among the messages",
                entity_type="agent",
                entity_id=agent.id,
                resolution="ignored",
            )
        return messages, set(wanted)

    def messages(self, agent: AgentSchema, agent_id: str) -> None:
        rec, sink = self.rec, self.sink
        messages, in_context = self.ordered(agent)
        sink.expect_messages(len(messages))
        last_ms, seq = -1, 0
        batch_id: str | None = None
        batch_type: BatchType | None = None
        in_batch = 0
        for index, message in enumerate(messages):
            key = message.id or f"{agent.id}/message-{index}"
            where = f"agent {agent.id} message {key}"
            created: datetime = timestamp_or(message.created_at, f"{where}.created_at")
            ms = int(created.timestamp() * 1000)
            # Positions follow the conversation order even where timestamps go backwards.
            if ms > last_ms:
                last_ms, seq = ms, 0
            else:
                seq += 1
                if seq > 0xFFFF:
                    last_ms, seq = last_ms + 1, 0
            position = position_from_parts(last_ms, seq)
            role = message.role.lower()
            if role == "function":
                role = "tool"
            if role not in ROLES:
                rec.issue(
                    IssueSeverity.WARNING,
                    f"{where}: role {message.role!r} has no Pattern equivalent",
                    entity_type="message",
                    entity_id=key,
                    resolution="imported as user",
                )
                role = "user"
            if batch_id is None or role == "user":
                batch_id, in_batch = position, 0
                batch_type = BatchType.USER_REQUEST if role == "user" else BatchType.SYSTEM_TRIGGER
            converted = convert_content(message, role, where)
            extra: dict[str, Any] = {
                k: v
                for k, v in (
                    ("id", message.id),
                    ("name", message.name),
                    ("model", message.model),
                    ("tool_call_id", message.tool_call_id),
                )
                if v is not None
            }
            if message.tool_returns:
                extra["tool_returns"] = json_safe(msgspec.to_builtins(message.tool_returns), where)
            if converted.unmapped:
                extra["unmapped_content"] = converted.unmapped
                rec.transformed(
                    "message", "content", "unknown content parts kept in source_metadata", key
                )
            sink.add_message(
                Message(
                    id=new_id("msg"),
                    agent_id=agent_id,
                    position=position,
                    batch_id=batch_id,
                    sequence_in_batch=in_batch,
                    role=MessageRole(role),
                    content_json=converted.content,
                    content_preview=converted.preview,
                    batch_type=batch_type,
                    source="letta",
                    source_metadata={"letta": extra} if extra else None,
                    is_archived=bool(in_context) and key not in in_context,
                    created_at=created,
                ),
                key,
                "Letta content -> Pattern MessageContent",
            )
            in_batch += 1
        sink.flush()

    # -- groups --------------------------------------------------------------------------------

    def group(self, group: GroupSchema) -> None:
        sink, rec = self.sink, self.rec
        manager = dict(group.manager_config or {})
        kind = str(manager.get("manager_type") or "round_robin")
        pattern = PATTERNS.get(kind)
        if pattern is None:
            rec.issue(
                IssueSeverity.WARNING,
                f"group {group.id}: manager type {kind!r} is unknown",
                entity_type="group",
                entity_id=group.id,
                resolution="imported as dynamic",
            )
            pattern = PatternType.DYNAMIC
        manager_id = manager.get("manager_agent_id")
        if isinstance(manager_id, str) and manager_id in self.agent_ids:
            manager["manager_agent_id"] = self.agent_ids[manager_id]
        manager["letta_group_id"] = group.id
        members = [a for a in group.agent_ids or [] if a in self.agent_ids]
        lead = manager_id if isinstance(manager_id, str) and manager_id in self.agent_ids else None
        first = lead or (members[0] if members else None)
        name = f"{kind} group of {self.agent_names[first]}" if first else f"letta group {group.id}"
        group_id = new_id("group")
        sink.add_group(
            AgentGroup(
                id=group_id,
                name=name,
                description=group.description or None,
                pattern_type=pattern,
                pattern_config=json_safe(manager, f"group {group.id}.manager_config"),
            ),
            group.id,
            "manager_config -> pattern_config",
        )
        ordered = ([lead] if lead else []) + [a for a in members if a != lead]
        for source_agent in ordered:
            sink.add_member(
                GroupMember(
                    group_id=group_id,
                    agent_id=self.agent_ids[source_agent],
                    role=SupervisorRole() if source_agent == lead else RegularRole(),
                )
            )
        for block_id in group.shared_block_ids or []:
            block = self.blocks.get(block_id)
            if block is None:
                continue
            for source_agent in ordered:
                self.block(self.agent_ids[source_agent], block_id, block)


def import_letta(
    db: ConstellationDb,
    path: str | os.PathLike[str],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a Letta agent file (.af) of the old or new layout in one transaction.

    Example: `report = import_letta(db, "agent.af"); report.counts["messages"]`.

    Raises:
        ImportFailed: the file is too large, not JSON, or not a Letta agent file (the message
            names the field); the database is left unchanged.
    """
    file_path = Path(path)
    doc, layout, raws = _read(file_path)
    recorder = Recorder(progress)

    def body(tx: Transaction, rec: Recorder) -> tuple[str, int]:
        sink = Sink(tx, rec, preserve_ids=False)
        _Letta(doc, raws, sink, rec).run()
        sink.flush()
        name = "letta single-agent" if layout == LAYOUT_OLD else "letta multi-entity"
        return name, layout

    return run_import(db, source_file=str(path), dry_run=dry_run, recorder=recorder, body=body)
