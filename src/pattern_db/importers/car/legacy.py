"""Legacy Pattern CAR exports (v0, v1, v2) straight into the schema, in one transaction.

Mapping (FORMATS section 4.2, with its recommendations): ids, positions and batch ids are kept
(the `mem:`/`group:` prefixes of the Rust converter are never added); timestamps are kept;
agent settings with no column go into the agent's config; memories of type archival become
archival entries, the others Loro-backed memory blocks; a memory shared by several agents is
owned by the first and attached to the others with their relation's access level; the
concatenated `message_summary` becomes a chain of archive summaries.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pattern_db.errors import ImportFailed
from pattern_db.importers._values import json_safe, text_document, timestamp
from pattern_db.importers.car import legacy_schema as s
from pattern_db.importers.car._common import Context, convert, strip_prefix
from pattern_db.importers.car.legacy_messages import import_messages, import_summaries
from pattern_db.models.agent import (
    Agent,
    AgentGroup,
    GroupMember,
    PatternType,
    RegularRole,
    SpecialistRole,
    SupervisorRole,
)
from pattern_db.models.import_audit import IssueSeverity
from pattern_db.models.memory import ArchivalEntry, MemoryBlock, MemoryBlockType, MemoryPermission
from pattern_db.models.message import BatchType, MessageRole
from pattern_db.timeutil import now

__all__ = ["import_legacy"]

T = TypeVar("T")

_ROLES = frozenset(r.value for r in MessageRole)
_BATCH_TYPES = frozenset(b.value for b in BatchType)
_PATTERNS = frozenset(p.value for p in PatternType)
_ZERO_POSITION = "0" * 20
_SUMMARY_SPLIT = re.compile(r"\n\s*\n")


def import_legacy(ctx: Context, root_cid: bytes) -> tuple[str, int]:
    """Import a v0, v1 or v2 export whose root block is `root_cid`; return (format, version).

    Raises:
        ImportFailed: a record is malformed or a link is missing.
    """
    root = ctx.load(root_cid, "the CAR root")
    if isinstance(root, dict) and "data_cid" in root and "version" in root:
        manifest = convert(root, s.LegacyManifest, ctx.car, "the manifest")
        version = manifest.version
        where = f"the {manifest.export_type} export (manifest.data_cid)"
        with ctx.car.visit(root_cid, "the manifest"):
            data = ctx.load(manifest.data_cid, "manifest.data_cid")
            with ctx.car.visit(manifest.data_cid, where):
                kind = _dispatch(ctx, data, manifest.export_type, where, version)
        return f"car v{version} ({kind})", version
    with ctx.car.visit(root_cid, "the CAR root"):
        kind = _dispatch(ctx, root, None, "the CAR root (v0, no manifest)", 0)
    return f"car v0 ({kind})", 0


def _dispatch(ctx: Context, data: Any, export_type: str | None, where: str, version: int) -> str:
    if not isinstance(data, dict):
        raise ImportFailed(f"{ctx.car.path}: {where} should be a map")
    if export_type == "Agent" or (export_type is None and "id" in data):
        _agent(ctx, data, where, version)
        return "Agent"
    if export_type == "Group" or (export_type is None and "group" in data):
        _group(ctx, convert(data, s.GroupExport, ctx.car, where), where, version)
        return "Group"
    if export_type == "Constellation" or (export_type is None and "constellation" in data):
        _constellation(ctx, convert(data, s.ConstellationExport, ctx.car, where), where, version)
        return "Constellation"
    raise ImportFailed(
        f"{ctx.car.path}: {where}: unknown export type {export_type!r} "
        "(expected Agent, Group or Constellation)"
    )


# -- agents -----------------------------------------------------------------------------------


def _agent(ctx: Context, data: dict[str, Any], where: str, version: int) -> str:
    """Import one agent from an AgentExport (v1, v2) or inline AgentRecord (v0); return its id."""
    car = ctx.car
    message_cids: list[bytes] = []
    memory_cids: list[bytes] = []
    if "agent_cid" in data:
        export = convert(data, s.AgentExportV2, car, where)
        record_where = f"{where}.agent_cid"
        raw = ctx.load(export.agent_cid, record_where)
        with car.visit(export.agent_cid, record_where):
            record = _record(ctx, raw, record_where)
        message_cids = export.message_chunk_cids or list(record.message_chunks or [])
        memory_cids = export.memory_chunk_cids or list(record.memory_chunks or [])
    elif "agent" in data:
        export1 = convert(data, s.AgentExportV1, car, where)
        record = _record(ctx, export1.agent, f"{where}.agent")
        message_cids, memory_cids = export1.message_chunk_cids, export1.memory_chunk_cids
    else:
        record = _record(ctx, data, where)
    source_id = record.id
    if source_id in ctx.imported_agents:
        return ctx.imported_agents[source_id]
    agent_id = _write_agent(ctx, record)
    ctx.imported_agents[source_id] = agent_id

    memory_chunks = _chunked(ctx, memory_cids, s.MemoryChunk, f"{where} memory chunk")
    pairs = _items(ctx, agent_id, "memories", [c.memories for c in memory_chunks], record.memories)
    default_permission = "append" if version == 1 else "read_write"
    for memory, relation in pairs:
        _memory(ctx, agent_id, record, memory, relation, default_permission)

    chunks = _chunked(ctx, message_cids, s.MessageChunk, f"{where} message chunk")
    messages = _items(ctx, agent_id, "messages", [c.messages for c in chunks], record.messages)
    ctx.sink.expect_messages(len(messages))
    import_messages(ctx, agent_id, messages)
    ctx.sink.flush()
    if record.message_summary:
        import_summaries(ctx, agent_id, record)
    return agent_id


def _record(ctx: Context, raw: Any, where: str) -> s.AgentRecord:
    record = convert(raw, s.AgentRecord, ctx.car, where)
    if isinstance(raw, dict):
        known = set(s.AgentRecord.__struct_fields__)
        for key in sorted(set(raw) - known):
            ctx.rec.dropped("agent", key, "not a field of any Pattern export layout", record.id)
    return record


def _items(
    ctx: Context, agent_id: str, what: str, chunks: list[list[T]], inline: list[T] | None
) -> list[T]:
    """Return the chunks' items; the record's inline list when there are no chunks (v0/v1)."""
    found = [item for chunk in chunks for item in chunk]
    if not chunks and inline:
        return list(inline)
    if inline is not None and len(inline) != len(found):
        ctx.rec.issue(
            IssueSeverity.WARNING,
            f"the agent record lists {len(inline)} {what} inline but its chunks hold {len(found)}",
            entity_type="agent",
            entity_id=agent_id,
            resolution="imported the chunks' contents",
        )
    return found


def _chunked(ctx: Context, cids: list[bytes], kind: type[Any], what: str) -> list[Any]:
    found = []
    seen: set[bytes] = set()
    for i, cid in enumerate(cids):
        where = f"{what} {i}"
        if cid in seen:
            ctx.rec.issue(
                IssueSeverity.WARNING,
                f"{where} repeats an earlier chunk",
                resolution="read once",
            )
            continue
        seen.add(cid)
        raw = ctx.load(cid, where)
        with ctx.car.visit(cid, where):
            found.append(convert(raw, kind, ctx.car, ctx.where(cid, where)))
        ctx.rec.progress("chunks", i + 1, len(cids))
    return found


def _model(model_id: str | None) -> tuple[str, str]:
    if not model_id:
        return "anthropic", "claude-3-5-sonnet"
    provider, sep, name = model_id.partition("/")
    return (provider, name) if sep and name else ("unknown", model_id)


def _write_agent(ctx: Context, record: s.AgentRecord) -> str:
    agent_id = ctx.sink.map_id("agent", record.id)
    config: dict[str, Any] = {}
    for key in s.AGENT_CONFIG:
        value = getattr(record, key)
        if value is not None:
            config[key] = json_safe(value, f"agent {record.id}.{key}")
    legacy = {
        key: json_safe(getattr(record, key), f"agent {record.id}.{key}")
        for key in s.AGENT_LEGACY
        if getattr(record, key) is not None
    }
    if legacy:
        config["legacy"] = legacy
    for key in ("compression_strategy", "model_config", "agent_type"):
        if key in config:
            ctx.rec.transformed("agent", key, "kept in the agent's config JSON", record.id)
    for key in legacy:
        ctx.rec.transformed("agent", key, "kept in config.legacy (no column)", record.id)
    provider, model_name = _model(record.model_id)
    if not record.model_id:
        ctx.rec.issue(
            IssueSeverity.INFO,
            "the agent has no model_id",
            entity_type="agent",
            entity_id=agent_id,
            resolution="model set to anthropic/claude-3-5-sonnet",
        )
    created = (
        timestamp(record.created_at, f"agent {record.id}.created_at")
        if record.created_at
        else now()
    )
    updated = (
        timestamp(record.updated_at, f"agent {record.id}.updated_at")
        if record.updated_at
        else created
    )
    tool_rules = json_safe(record.tool_rules, f"agent {record.id}.tool_rules") or None
    agent = Agent(
        id=agent_id,
        name=record.name,
        model_provider=provider,
        model_name=model_name,
        system_prompt=record.base_instructions,
        config=config,
        enabled_tools=[],
        tool_rules=tool_rules,
        created_at=created,
        updated_at=updated,
    )
    transformation = None if record.model_id is None else f"model_id {record.model_id!r} split"
    ctx.sink.add_agent(agent, record.id, transformation)
    return agent_id


# -- memories ---------------------------------------------------------------------------------


def _permission(text: str | None, default: str, where: str, ctx: Context) -> MemoryPermission:
    if text is None:
        return MemoryPermission(default)
    try:
        return MemoryPermission.parse(text)
    except ValueError:
        ctx.rec.issue(
            IssueSeverity.WARNING,
            f"{where}: unknown permission {text!r}",
            resolution=f"set to {default}",
        )
        return MemoryPermission(default)


def _memory(
    ctx: Context,
    agent_id: str,
    record: s.AgentRecord,
    memory: s.MemoryBlock,
    relation: s.MemoryRelation,
    default_permission: str,
) -> None:
    source_id = strip_prefix(memory.id)
    where = f"memory {memory.id}"
    created = timestamp(memory.created_at, f"{where}.created_at") if memory.created_at else now()
    updated = timestamp(memory.updated_at, f"{where}.updated_at") if memory.updated_at else created
    if memory.embedding is not None:
        ctx.rec.dropped(
            "memory", "embedding", "vectors are not imported; run the indexer", source_id
        )
    ctx.rec.dropped("memory", "owner_id", "memories are owned by agents now", source_id)
    metadata = json_safe(memory.metadata, f"{where}.metadata")
    owner = ctx.memory_owner.get(source_id)
    if owner is not None:
        if owner == "archival" or owner == agent_id:
            return
        permission = _permission(relation.access_level, "read_only", f"{where}.access_level", ctx)
        attached = (
            timestamp(relation.created_at, f"{where} relation") if relation.created_at else None
        )
        ctx.sink.add_attachment(
            ctx.sink.map_id("memory_block", source_id), agent_id, permission, attached
        )
        ctx.rec.issue(
            IssueSeverity.INFO,
            f"memory {source_id} is shared by several agents",
            entity_type="memory_block",
            entity_id=source_id,
            resolution=f"owned by the first agent, attached to {agent_id} ({permission})",
        )
        return
    if memory.memory_type == "archival":
        ctx.memory_owner[source_id] = "archival"
        entry = ArchivalEntry(
            id=ctx.sink.map_id("archival_entry", source_id),
            agent_id=agent_id,
            content=memory.value,
            metadata=metadata,
            created_at=created,
        )
        ctx.sink.add_archival(entry, source_id, "archival memory block -> archival entry")
        return
    ctx.memory_owner[source_id] = agent_id
    try:
        block_type = MemoryBlockType(memory.memory_type.lower())
    except ValueError:
        ctx.rec.issue(
            IssueSeverity.WARNING,
            f"{where}: unknown memory_type {memory.memory_type!r}",
            entity_type="memory_block",
            entity_id=source_id,
            resolution="imported as working",
        )
        block_type = MemoryBlockType.WORKING
    limit = (
        record.memory_char_limit
        if record.memory_char_limit and record.memory_char_limit > 0
        else 5000
    )
    if len(memory.value) > limit:
        ctx.rec.issue(
            IssueSeverity.WARNING,
            f"memory {source_id} holds {len(memory.value)} characters, over the limit {limit}",
            entity_type="memory_block",
            entity_id=source_id,
            resolution=f"char_limit raised to {len(memory.value)}; text kept whole",
        )
        limit = len(memory.value)
    description = memory.description or ""
    if not description.strip():
        description = _describe(memory.label)
        ctx.rec.transformed("memory", "description", "blank: generated from the label", source_id)
    snapshot, frontier = text_document(memory.value)
    block = MemoryBlock(
        id=ctx.sink.map_id("memory_block", source_id),
        agent_id=agent_id,
        label=memory.label,
        description=description,
        block_type=block_type,
        char_limit=limit,
        permission=_permission(memory.permission, default_permission, f"{where}.permission", ctx),
        pinned=memory.pinned,
        loro_snapshot=snapshot,
        content_preview=memory.value,
        metadata=metadata,
        embedding_model=memory.embedding_model,
        is_active=memory.is_active,
        frontier=frontier,
        created_at=created,
        updated_at=updated,
    )
    ctx.sink.add_block(block, source_id, "text -> Loro document (container `content`)")


def _describe(label: str) -> str:
    if label in ("persona", "human"):
        return f"The {label} block"
    return f"Memory block: {label}"


# -- groups and constellations ----------------------------------------------------------------


def _role(value: Any) -> SupervisorRole | RegularRole | SpecialistRole:
    if value == "supervisor":
        return SupervisorRole()
    if isinstance(value, dict) and "specialist" in value:
        inner = value["specialist"]
        domain = inner.get("domain") if isinstance(inner, dict) else None
        return SpecialistRole(domain=str(domain or ""))
    return RegularRole()


def _group(ctx: Context, export: s.GroupExport, where: str, version: int) -> None:
    members: dict[str, str] = {}
    for i, (source_agent, cid) in enumerate(export.member_agent_cids):
        member_where = f"{where}.member_agent_cids[{i}]"
        if source_agent in ctx.imported_agents:
            members[source_agent] = ctx.imported_agents[source_agent]
            continue
        data = ctx.load(cid, member_where)
        with ctx.car.visit(cid, member_where):
            members[source_agent] = _agent(ctx, data, member_where, version)
    _write_group(ctx, export, members, where)


def _write_group(ctx: Context, export: s.GroupExport, members: dict[str, str], where: str) -> None:
    group = export.group
    source_id = strip_prefix(group.id)
    pattern = group.coordination_pattern if isinstance(group.coordination_pattern, dict) else {}
    pattern_type = str(pattern.get("type", ""))
    if pattern_type not in _PATTERNS:
        ctx.rec.issue(
            IssueSeverity.WARNING,
            f"{where}: unknown coordination pattern {pattern_type!r}",
            entity_type="group",
            entity_id=source_id,
            resolution="imported as dynamic",
        )
        pattern_type = "dynamic"
    created = timestamp(group.created_at, f"{where}.created_at") if group.created_at else now()
    updated = timestamp(group.updated_at, f"{where}.updated_at") if group.updated_at else created
    group_id = ctx.sink.map_id("group", source_id)
    ctx.sink.add_group(
        AgentGroup(
            id=group_id,
            name=group.name,
            description=group.description,
            pattern_type=PatternType(pattern_type),
            pattern_config=json_safe(pattern, f"{where}.coordination_pattern"),
            created_at=created,
            updated_at=updated,
        ),
        source_id,
        "coordination_pattern stored as pattern_config",
    )
    if group.state is not None:
        ctx.rec.dropped("group", "state", "runtime state, rebuilt by the runtime", source_id)
    ctx.rec.dropped("group", "is_active", "groups have no active flag", source_id)
    memberships = dict(export.member_memberships or [])
    if export.member_memberships is None and members:
        ctx.rec.issue(
            IssueSeverity.INFO,
            f"{where} has no member_memberships (a v1 or early v2 export)",
            entity_type="group",
            entity_id=source_id,
            resolution="members imported as regular, without capabilities",
        )
    for source_agent, agent_id in members.items():
        membership = memberships.get(source_agent)
        joined = None
        if membership is not None and membership.joined_at:
            joined = timestamp(membership.joined_at, f"{where} membership of {source_agent}")
        if membership is not None and not membership.is_active:
            ctx.rec.dropped(
                "group_member", "is_active", "memberships have no active flag", source_agent
            )
        ctx.sink.add_member(
            GroupMember(
                group_id=group_id,
                agent_id=agent_id,
                role=_role(membership.role) if membership is not None else RegularRole(),
                capabilities=list(membership.capabilities) if membership is not None else [],
                joined_at=joined or now(),
            )
        )


def _constellation(ctx: Context, export: s.ConstellationExport, where: str, version: int) -> None:
    for i, (source_agent, cid) in enumerate(export.agent_export_cids):
        if source_agent in ctx.imported_agents:
            continue
        agent_where = f"{where}.agent_export_cids[{i}]"
        data = ctx.load(cid, agent_where)
        with ctx.car.visit(cid, agent_where):
            _agent(ctx, data, agent_where, version)
    for i, group in enumerate(export.groups):
        group_where = f"{where}.groups[{i}]"
        members: dict[str, str] = {}
        for j, (source_agent, cid) in enumerate(group.member_agent_cids):
            if source_agent not in ctx.imported_agents:
                data = ctx.load(cid, f"{group_where}.member_agent_cids[{j}]")
                with ctx.car.visit(cid, group_where):
                    _agent(ctx, data, group_where, version)
            members[source_agent] = ctx.imported_agents[source_agent]
        _write_group(ctx, group, members, group_where)
    c = export.constellation
    for field in ("id", "owner_id", "name", "description"):
        if getattr(c, field) is not None:
            ctx.rec.dropped(
                "constellation", field, "a constellation is the database file itself", c.id
            )
    if export.agent_memberships:
        ctx.rec.dropped("constellation", "agent_memberships", "no table holds is_primary", c.id)
