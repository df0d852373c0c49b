"""v3 CAR exports (the SQLite-era layout of pattern_core::export) into the schema.

Unlike the Rust importer, timestamps, parent links and summary chains are kept, and with
`preserve_ids=False` every reference between imported records (parents, summary chains,
attachments' blocks) is remapped, not dropped.
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from pattern_db.errors import ImportFailed, InvalidData
from pattern_db.importers._values import document_text, json_safe, position_text, timestamp
from pattern_db.importers.car import v3_schema as s
from pattern_db.importers.car._common import Context, convert
from pattern_db.models.agent import (
    Agent,
    AgentGroup,
    AgentStatus,
    GroupMember,
    GroupMemberRole,
    PatternType,
)
from pattern_db.models.import_audit import IssueSeverity
from pattern_db.models.memory import ArchivalEntry, MemoryBlock, MemoryBlockType, MemoryPermission
from pattern_db.models.message import ArchiveSummary, BatchType, Message, MessageRole

__all__ = ["import_v3"]

T = TypeVar("T")


class _V3:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.attachments: dict[tuple[str, str], s.SharedBlockAttachmentExport] = {}
        self.agent_cids: set[bytes] = set()

    # -- ids ---------------------------------------------------------------------------------

    def owner(self, source_id: str) -> str:
        """Return the target id of an owner reference (agent, group, or kept as it is)."""
        sink = self.ctx.sink
        return sink.mapped("agent", source_id) or sink.mapped("group", source_id) or source_id

    # -- agents --------------------------------------------------------------------------------

    def agent(self, export: s.AgentExport, where: str) -> str:
        ctx, sink = self.ctx, self.ctx.sink
        record = export.agent
        if record.id in ctx.imported_agents:
            return ctx.imported_agents[record.id]
        agent_id = sink.map_id("agent", record.id)
        try:
            status = AgentStatus(record.status)
        except ValueError as exc:
            raise ImportFailed(
                f"{ctx.car.path}: {where}.agent.status {record.status!r} is unknown"
            ) from exc
        config = json_safe(record.config, f"{where}.agent.config")
        sink.add_agent(
            Agent(
                id=agent_id,
                name=record.name,
                description=record.description,
                model_provider=record.model_provider,
                model_name=record.model_name,
                system_prompt=record.system_prompt,
                config=config if isinstance(config, dict) else {"value": config},
                enabled_tools=list(record.enabled_tools),
                tool_rules=json_safe(record.tool_rules, f"{where}.agent.tool_rules"),
                status=status,
                created_at=timestamp(record.created_at, f"{where}.agent.created_at"),
                updated_at=timestamp(record.updated_at, f"{where}.agent.updated_at"),
            ),
            record.id,
        )
        ctx.imported_agents[record.id] = agent_id
        for i, cid in enumerate(export.memory_block_cids):
            self.block(cid, f"{where}.memory_block_cids[{i}]")
        entries = [
            self.record(cid, f"{where}.archival_entry_cids[{i}]", s.ArchivalEntryExport)
            for i, cid in enumerate(export.archival_entry_cids)
        ]
        for entry in _parents_first(entries, lambda e: e.id, lambda e: e.parent_entry_id):
            self.archival(entry, where)
        for i, cid in enumerate(export.message_chunk_cids):
            chunk_where = f"{where}.message_chunk_cids[{i}]"
            chunk = convert(self.load(cid, chunk_where), s.MessageChunk, ctx.car, chunk_where)
            for j, message in enumerate(chunk.messages):
                self.message(message, f"{chunk_where}.messages[{j}]")
            ctx.rec.progress("chunks", i + 1, len(export.message_chunk_cids))
        sink.flush()
        summaries = [
            self.record(cid, f"{where}.archive_summary_cids[{i}]", s.ArchiveSummaryExport)
            for i, cid in enumerate(export.archive_summary_cids)
        ]
        for summary in _parents_first(summaries, lambda x: x.id, lambda x: x.previous_summary_id):
            self.summary(summary, where)
        return agent_id

    def record(self, cid: bytes, where: str, kind: type[T]) -> T:
        return convert(self.load(cid, where), kind, self.ctx.car, where)

    def load(self, cid: bytes, where: str) -> Any:
        raw = self.ctx.load(cid, where)
        with self.ctx.car.visit(cid, where):
            return raw

    def block(self, cid: bytes, where: str) -> None:
        ctx = self.ctx
        if cid in ctx.imported_cids:
            return
        ctx.imported_cids.add(cid)
        block = convert(self.load(cid, where), s.MemoryBlockExport, ctx.car, where)
        if ctx.sink.mapped("memory_block", block.id) is not None:
            ctx.rec.issue(
                IssueSeverity.INFO,
                f"memory block {block.id} is exported more than once",
                entity_type="memory_block",
                entity_id=block.id,
                resolution="imported once",
            )
            return
        parts = []
        with ctx.car.visit(cid, where):
            for i, chunk_cid in enumerate(block.snapshot_chunk_cids):
                chunk_where = f"{where}.snapshot_chunk_cids[{i}]"
                chunk = self.record(chunk_cid, chunk_where, s.SnapshotChunk)
                parts.append(chunk.data)
        snapshot = b"".join(parts)
        if block.total_snapshot_bytes and block.total_snapshot_bytes != len(snapshot):
            raise ImportFailed(
                f"{ctx.car.path}: {where}: the snapshot chunks hold {len(snapshot)} bytes, "
                f"the block says {block.total_snapshot_bytes} (a chunk is missing or corrupt)"
            )
        text = document_text(snapshot, f"{ctx.car.path}: {where} snapshot")
        preview = block.content_preview if block.content_preview is not None else text
        frontier = bytes(block.frontier) if block.frontier is not None else None
        try:
            block_type = MemoryBlockType(block.block_type)
            permission = MemoryPermission.parse(block.permission)
        except ValueError as exc:
            raise ImportFailed(f"{ctx.car.path}: {where}: {exc}") from exc
        char_limit = block.char_limit
        if char_limit <= 0 or len(text) > char_limit:
            fixed = max(len(text), 5000 if char_limit <= 0 else char_limit)
            ctx.rec.issue(
                IssueSeverity.WARNING,
                f"{where}: char_limit {char_limit} does not fit the block's {len(text)} characters",
                entity_type="memory_block",
                entity_id=block.id,
                resolution=f"char_limit set to {fixed}; text kept whole",
            )
            char_limit = fixed
        ctx.sink.add_block(
            MemoryBlock(
                id=ctx.sink.map_id("memory_block", block.id),
                agent_id=self.owner(block.agent_id),
                label=block.label,
                description=block.description,
                block_type=block_type,
                char_limit=char_limit,
                permission=permission,
                pinned=block.pinned,
                loro_snapshot=snapshot,
                content_preview=preview,
                metadata=json_safe(block.metadata, f"{where}.metadata"),
                embedding_model=block.embedding_model,
                is_active=block.is_active,
                frontier=frontier,
                last_seq=max(block.last_seq, 0),
                created_at=timestamp(block.created_at, f"{where}.created_at"),
                updated_at=timestamp(block.updated_at, f"{where}.updated_at"),
            ),
            block.id,
        )

    def archival(self, entry: s.ArchivalEntryExport, where: str) -> None:
        sink = self.ctx.sink
        parent = entry.parent_entry_id
        sink.add_archival(
            ArchivalEntry(
                id=sink.map_id("archival_entry", entry.id),
                agent_id=self.owner(entry.agent_id),
                content=entry.content,
                metadata=json_safe(entry.metadata, f"{where} archival entry {entry.id}"),
                chunk_index=max(entry.chunk_index, 0),
                parent_entry_id=sink.map_id("archival_entry", parent) if parent else None,
                created_at=timestamp(entry.created_at, f"archival entry {entry.id}.created_at"),
            ),
            entry.id,
        )

    def message(self, message: s.MessageExport, where: str) -> None:
        sink = self.ctx.sink
        try:
            position = position_text(message.position)
            role = MessageRole(message.role.lower())
            batch_type = BatchType(message.batch_type) if message.batch_type else None
        except (InvalidData, ValueError) as exc:
            raise ImportFailed(f"{self.ctx.car.path}: {where}: {exc}") from exc
        sink.add_message(
            Message(
                id=sink.map_id("message", message.id),
                agent_id=self.owner(message.agent_id),
                position=position,
                batch_id=message.batch_id,
                sequence_in_batch=message.sequence_in_batch,
                role=role,
                content_json=json_safe(message.content_json, f"{where}.content_json"),
                content_preview=message.content_preview,
                batch_type=batch_type,
                source=message.source,
                source_metadata=json_safe(message.source_metadata, f"{where}.source_metadata"),
                is_archived=message.is_archived,
                is_deleted=message.is_deleted,
                created_at=timestamp(message.created_at, f"{where}.created_at"),
            ),
            message.id,
        )

    def summary(self, summary: s.ArchiveSummaryExport, where: str) -> None:
        sink = self.ctx.sink
        previous = summary.previous_summary_id
        try:
            start, end = position_text(summary.start_position), position_text(summary.end_position)
        except InvalidData:
            start = end = "0" * 20
            self.ctx.rec.transformed(
                "archive_summary", "start_position", "not a snowflake: set to 0", summary.id
            )
        sink.add_summary(
            ArchiveSummary(
                id=sink.map_id("archive_summary", summary.id),
                agent_id=self.owner(summary.agent_id),
                summary=summary.summary,
                start_position=start,
                end_position=end,
                message_count=max(summary.message_count, 0),
                previous_summary_id=sink.map_id("archive_summary", previous) if previous else None,
                depth=max(summary.depth, 0),
                created_at=timestamp(summary.created_at, f"{where} summary {summary.id}"),
            ),
            summary.id,
        )

    # -- groups ------------------------------------------------------------------------------

    def group(self, record: s.GroupRecord, where: str) -> str:
        sink = self.ctx.sink
        try:
            pattern_type = PatternType(record.pattern_type)
        except ValueError as exc:
            raise ImportFailed(f"{self.ctx.car.path}: {where}.pattern_type: {exc}") from exc
        config = json_safe(record.pattern_config, f"{where}.pattern_config")
        group_id = sink.map_id("group", record.id)
        sink.add_group(
            AgentGroup(
                id=group_id,
                name=record.name,
                description=record.description,
                pattern_type=pattern_type,
                pattern_config=config if isinstance(config, dict) else {"value": config},
                created_at=timestamp(record.created_at, f"{where}.created_at"),
                updated_at=timestamp(record.updated_at, f"{where}.updated_at"),
            ),
            record.id,
        )
        return group_id

    def member(self, group_id: str, member: s.GroupMemberExport, where: str) -> None:
        ctx = self.ctx
        agent_id = ctx.sink.mapped("agent", member.agent_id)
        if agent_id is None:
            ctx.rec.issue(
                IssueSeverity.WARNING,
                f"{where}: member agent {member.agent_id} is not in the file",
                entity_type="group_member",
                entity_id=member.agent_id,
                resolution="membership skipped",
            )
            ctx.rec.count("skipped")
            return
        try:
            role = msgspec.convert(member.role, GroupMemberRole | None)
        except msgspec.ValidationError as exc:
            raise ImportFailed(f"{ctx.car.path}: {where}.role: {exc}") from exc
        ctx.sink.add_member(
            GroupMember(
                group_id=group_id,
                agent_id=agent_id,
                role=role,
                capabilities=list(member.capabilities),
                joined_at=timestamp(member.joined_at, f"{where}.joined_at"),
            )
        )

    def attach(self, attachments: list[s.SharedBlockAttachmentExport]) -> None:
        for a in attachments:
            self.attachments.setdefault((a.block_id, a.agent_id), a)

    def write_attachments(self) -> None:
        ctx = self.ctx
        for (block_id, agent_id), a in self.attachments.items():
            block = ctx.sink.mapped("memory_block", block_id)
            agent = ctx.sink.mapped("agent", agent_id)
            if block is None or agent is None:
                ctx.rec.issue(
                    IssueSeverity.WARNING,
                    f"shared attachment of block {block_id} to agent {agent_id}: "
                    "the block or the agent is not in the file",
                    entity_type="shared_attachment",
                    entity_id=f"{block_id}/{agent_id}",
                    resolution="attachment skipped",
                )
                ctx.rec.count("skipped")
                continue
            try:
                permission = MemoryPermission.parse(a.permission)
            except ValueError as exc:
                raise ImportFailed(f"{ctx.car.path}: attachment {block_id}: {exc}") from exc
            ctx.sink.add_attachment(
                block, agent, permission, timestamp(a.attached_at, f"attachment {block_id}")
            )


def _parents_first(items: list[Any], key: Any, parent: Any) -> list[Any]:
    """Return items ordered so each comes after the item it links to (when that is present)."""
    by_id = {key(i): i for i in items}
    done: set[str] = set()
    ordered: list[Any] = []
    for item in items:
        chain = []
        current = item
        while current is not None and key(current) not in done and current not in chain:
            chain.append(current)
            link = parent(current)
            current = by_id.get(link) if link else None
        for found in reversed(chain):
            done.add(key(found))
            ordered.append(found)
    return ordered


def import_v3(ctx: Context, root_cid: bytes, root: Any) -> tuple[str, int]:
    """Import a v3 export whose (already decoded) manifest is `root`; return (format, version).

    Raises:
        ImportFailed: a record is malformed or a link is missing.
    """
    car = ctx.car
    manifest = convert(root, s.ExportManifest, car, "the manifest")
    v3 = _V3(ctx)
    where = f"the {manifest.export_type} export"
    with car.visit(root_cid, "the manifest"):
        data = ctx.load(manifest.data_cid, "manifest.data_cid")
        with car.visit(manifest.data_cid, where):
            if manifest.export_type == "Agent":
                v3.agent(convert(data, s.AgentExport, car, where), where)
            elif manifest.export_type == "Group":
                _group_export(v3, data, where)
            elif manifest.export_type == "Constellation":
                _constellation_export(v3, convert(data, s.ConstellationExport, car, where), where)
            else:
                raise ImportFailed(
                    f"{car.path}: unknown export_type {manifest.export_type!r} "
                    "(expected Agent, Group or Constellation)"
                )
    v3.write_attachments()
    return f"car v3 ({manifest.export_type})", 3


def _group_export(v3: _V3, data: Any, where: str) -> None:
    car = v3.ctx.car
    if isinstance(data, dict) and "member_agent_ids" in data and "members" not in data:
        thin = convert(data, s.GroupConfigExport, car, where)
        group_id = v3.group(thin.group, f"{where}.group")
        v3.ctx.rec.issue(
            IssueSeverity.INFO,
            "a configuration-only group export: it holds no agents",
            entity_type="group",
            entity_id=thin.group.id,
            resolution="members that are not in this database are skipped",
        )
        for agent_id in thin.member_agent_ids:
            v3.member(
                group_id,
                s.GroupMemberExport(
                    group_id=thin.group.id, agent_id=agent_id, joined_at=thin.group.created_at
                ),
                f"{where}.member_agent_ids",
            )
        return
    export = convert(data, s.GroupExport, car, where)
    for i, agent in enumerate(export.agent_exports):
        v3.agent(agent, f"{where}.agent_exports[{i}]")
    for i, cid in enumerate(export.shared_memory_cids):
        v3.block(cid, f"{where}.shared_memory_cids[{i}]")
    group_id = v3.group(export.group, f"{where}.group")
    for i, member in enumerate(export.members):
        v3.member(group_id, member, f"{where}.members[{i}]")
    v3.attach(export.shared_attachment_exports)


def _constellation_export(v3: _V3, export: s.ConstellationExport, where: str) -> None:
    ctx = v3.ctx
    cids = list(export.agent_exports.values()) + list(export.standalone_agent_cids)
    for group in export.group_exports:
        cids.extend(group.agent_cids)
    for i, cid in enumerate(cids):
        if cid in v3.agent_cids:
            continue
        v3.agent_cids.add(cid)
        agent_where = f"{where} agent export {i}"
        data = v3.load(cid, agent_where)
        with ctx.car.visit(cid, agent_where):
            v3.agent(convert(data, s.AgentExport, ctx.car, agent_where), agent_where)
    for i, cid in enumerate(export.all_memory_block_cids):
        v3.block(cid, f"{where}.all_memory_block_cids[{i}]")
    for i, group in enumerate(export.group_exports):
        group_where = f"{where}.group_exports[{i}]"
        for j, cid in enumerate(group.shared_memory_cids):
            v3.block(cid, f"{group_where}.shared_memory_cids[{j}]")
        group_id = v3.group(group.group, f"{group_where}.group")
        for j, member in enumerate(group.members):
            v3.member(group_id, member, f"{group_where}.members[{j}]")
        v3.attach(group.shared_attachment_exports)
    v3.attach(export.shared_attachments)
    if export.owner_id:
        ctx.rec.dropped("constellation", "owner_id", "the owner is kept in the global database")
