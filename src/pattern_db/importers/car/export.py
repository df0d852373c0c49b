"""Export a constellation, one agent or one group as a v3 CAR file.

The export reads inside one transaction, so it is a consistent snapshot. A memory block is
exported as its current document: a block with deltas or a checkpoint gets a fresh snapshot
of the merged state, a block without them its stored snapshot byte for byte. Only active
blocks are exported; embeddings never are (regenerate them after an import).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

from pattern_db.connection import ConstellationDb, Transaction
from pattern_db.errors import InvalidData, NotFound
from pattern_db.importers._report import ExportReport, Progress
from pattern_db.importers._values import text_document
from pattern_db.importers.car import v3_schema as s
from pattern_db.importers.car.reader import cid_text
from pattern_db.importers.car.writer import RUST_BLOCK_LIMIT, CarWriter, encode
from pattern_db.models.agent import Agent, AgentGroup, GroupMember
from pattern_db.models.import_audit import IssueSeverity, MigrationIssue
from pattern_db.models.memory import (
    CONSTELLATION_OWNER,
    ArchivalEntry,
    MemoryBlock,
    SharedBlockAttachment,
)
from pattern_db.models.message import ArchiveSummary, Message
from pattern_db.queries import agent as q_agent
from pattern_db.queries import memory as q_memory
from pattern_db.queries import message as q_message
from pattern_db.timeutil import format_ts, now

__all__ = ["export_car"]

MESSAGES_PER_CHUNK = 1000
TARGET_CHUNK_BYTES = 900_000
SNAPSHOT_CHUNK_BYTES = 900_000
_ALL = 1 << 62
_PAGE = 1000


class _Export:
    def __init__(self, tx: Transaction, writer: CarWriter, progress: Progress | None) -> None:
        self.tx = tx
        self.writer = writer
        self.progress = progress
        self.counts: dict[str, int] = {}
        self.issues: list[MigrationIssue] = []
        self.block_cids: dict[str, bytes] = {}

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    # -- records -----------------------------------------------------------------------------

    def agent(self, agent: Agent) -> s.AgentExport:
        tx = self.tx
        blocks = [self.block(b) for b in q_memory.list_blocks(tx, agent.id)]
        archival = [self.writer.put(_archival(e)) for e in _archival_entries(tx, agent.id)]
        self.count("archival_entries", len(archival))
        summaries = [
            self.writer.put(_summary(x)) for x in q_message.get_archive_summaries(tx, agent.id)
        ]
        self.count("archive_summaries", len(summaries))
        messages = q_message.get_messages_with_archived(tx, agent.id, _ALL, include_deleted=True)
        messages.reverse()
        chunks = [self.writer.put(c) for c in _chunks(messages)]
        self.count("message_chunks", len(chunks))
        self.count("messages", len(messages))
        self.count("agents")
        if self.progress is not None:
            self.progress("agents", self.counts["agents"], None)
        return s.AgentExport(
            agent=s.AgentRecord(
                id=agent.id,
                name=agent.name,
                description=agent.description,
                model_provider=agent.model_provider,
                model_name=agent.model_name,
                system_prompt=agent.system_prompt,
                config=agent.config,
                enabled_tools=agent.enabled_tools,
                tool_rules=agent.tool_rules,
                status=agent.status.value,
                created_at=format_ts(agent.created_at),
                updated_at=format_ts(agent.updated_at),
            ),
            message_chunk_cids=chunks,
            memory_block_cids=blocks,
            archival_entry_cids=archival,
            archive_summary_cids=summaries,
        )

    def block(self, block: MemoryBlock) -> bytes:
        found = self.block_cids.get(block.id)
        if found is not None:
            return found
        snapshot, frontier = _current_snapshot(self.tx, block)
        chunk_cids = [
            self.writer.put(s.SnapshotChunk(index=i, data=snapshot[at : at + SNAPSHOT_CHUNK_BYTES]))
            for i, at in enumerate(range(0, len(snapshot), SNAPSHOT_CHUNK_BYTES))
        ]
        cid = self.writer.put(
            s.MemoryBlockExport(
                id=block.id,
                agent_id=block.agent_id,
                label=block.label,
                description=block.description,
                block_type=block.block_type.value,
                char_limit=block.char_limit,
                permission=block.permission.value,
                pinned=block.pinned,
                content_preview=block.content_preview,
                metadata=block.metadata,
                is_active=block.is_active,
                frontier=list(frontier) if frontier is not None else None,
                last_seq=block.last_seq,
                created_at=format_ts(block.created_at),
                updated_at=format_ts(block.updated_at),
                snapshot_chunk_cids=chunk_cids,
                total_snapshot_bytes=len(snapshot),
                embedding_model=block.embedding_model,
            )
        )
        self.block_cids[block.id] = cid
        self.count("memory_blocks")
        self.count("snapshot_chunks", len(chunk_cids))
        return cid

    def group(self, group: AgentGroup) -> tuple[s.GroupRecord, list[s.GroupMemberExport]]:
        members = q_agent.get_group_members(self.tx, group.id)
        self.count("groups")
        self.count("group_members", len(members))
        return _group(group), [_member(m) for m in members]

    def attachments(self, agent_ids: set[str]) -> list[s.SharedBlockAttachmentExport]:
        found = [
            a
            for a in q_memory.list_all_shared_block_attachments(self.tx)
            if a.agent_id in agent_ids
        ]
        self.count("shared_attachments", len(found))
        return [_attachment(a) for a in found]

    def shared_blocks(self, attachments: list[s.SharedBlockAttachmentExport]) -> list[bytes]:
        """Return the CIDs of attached blocks not exported with their owner."""
        cids = []
        for a in attachments:
            if a.block_id not in self.block_cids:
                block = q_memory.get_block(self.tx, a.block_id)
                if block is not None:
                    cids.append(self.block(block))
        return cids


def _archival_entries(tx: Transaction, agent_id: str) -> Iterator[ArchivalEntry]:
    offset = 0
    while True:
        page = q_memory.list_archival_entries(tx, agent_id, _PAGE, offset)
        yield from page
        if len(page) < _PAGE:
            return
        offset += _PAGE


def _archival(entry: ArchivalEntry) -> s.ArchivalEntryExport:
    return s.ArchivalEntryExport(
        id=entry.id,
        agent_id=entry.agent_id,
        content=entry.content,
        metadata=entry.metadata,
        chunk_index=entry.chunk_index,
        parent_entry_id=entry.parent_entry_id,
        created_at=format_ts(entry.created_at),
    )


def _summary(x: ArchiveSummary) -> s.ArchiveSummaryExport:
    return s.ArchiveSummaryExport(
        id=x.id,
        agent_id=x.agent_id,
        summary=x.summary,
        start_position=x.start_position,
        end_position=x.end_position,
        message_count=x.message_count,
        previous_summary_id=x.previous_summary_id,
        depth=x.depth,
        created_at=format_ts(x.created_at),
    )


def _message(m: Message) -> s.MessageExport:
    return s.MessageExport(
        id=m.id,
        agent_id=m.agent_id,
        position=m.position,
        batch_id=m.batch_id,
        sequence_in_batch=m.sequence_in_batch,
        role=m.role.value,
        content_json=m.content_json,
        content_preview=m.content_preview,
        batch_type=m.batch_type.value if m.batch_type else None,
        source=m.source,
        source_metadata=m.source_metadata,
        is_archived=m.is_archived,
        is_deleted=m.is_deleted,
        created_at=format_ts(m.created_at),
    )


def _chunks(messages: list[Message]) -> Iterator[s.MessageChunk]:
    """Cut messages (in position order) into chunks of <= 1000 messages and about 900 KB."""
    batch: list[s.MessageExport] = []
    size = 0
    index = 0
    for m in messages:
        exported = _message(m)
        n = len(encode(exported))
        if batch and (len(batch) >= MESSAGES_PER_CHUNK or size + n > TARGET_CHUNK_BYTES):
            yield _chunk(index, batch)
            index += 1
            batch, size = [], 0
        batch.append(exported)
        size += n
    if batch:
        yield _chunk(index, batch)


def _chunk(index: int, batch: list[s.MessageExport]) -> s.MessageChunk:
    return s.MessageChunk(
        chunk_index=index,
        start_position=batch[0].position,
        end_position=batch[-1].position,
        messages=batch,
        message_count=len(batch),
    )


def _current_snapshot(tx: Transaction, block: MemoryBlock) -> tuple[bytes, bytes | None]:
    checkpoint, updates = q_memory.get_checkpoint_and_updates(tx, block.id)
    if checkpoint is None and not updates:
        if not block.loro_snapshot and block.content_preview:
            return text_document(block.content_preview)
        return block.loro_snapshot, block.frontier
    from loro import ExportMode, LoroDoc

    doc = LoroDoc()  # type: ignore[no-untyped-call]
    base = checkpoint.snapshot if checkpoint is not None else block.loro_snapshot
    blobs = [b for b in [base, *(u.update_blob for u in updates)] if b]
    if blobs:
        doc.import_batch(blobs)
    return doc.export(ExportMode.Snapshot()), doc.oplog_frontiers.encode()


def _group(group: AgentGroup) -> s.GroupRecord:
    return s.GroupRecord(
        id=group.id,
        name=group.name,
        description=group.description,
        pattern_type=group.pattern_type.value,
        pattern_config=group.pattern_config,
        created_at=format_ts(group.created_at),
        updated_at=format_ts(group.updated_at),
    )


def _member(m: GroupMember) -> s.GroupMemberExport:
    return s.GroupMemberExport(
        group_id=m.group_id,
        agent_id=m.agent_id,
        role=msgspec.to_builtins(m.role) if m.role is not None else None,
        capabilities=m.capabilities,
        joined_at=format_ts(m.joined_at),
    )


def _attachment(a: SharedBlockAttachment) -> s.SharedBlockAttachmentExport:
    return s.SharedBlockAttachmentExport(
        block_id=a.block_id,
        agent_id=a.agent_id,
        permission=a.permission.value,
        attached_at=format_ts(a.attached_at),
    )


def export_car(
    db: ConstellationDb,
    path: str | os.PathLike[str],
    *,
    agent_id: str | None = None,
    group_id: str | None = None,
    progress: Progress | None = None,
) -> ExportReport:
    """Write the constellation (or one agent, or one group with its agents) as a v3 CAR file.

    Example: `export_car(db, "backup.car", agent_id="agent_1")`.

    Raises:
        InvalidData: both `agent_id` and `group_id` were given.
        NotFound: the agent or group does not exist.
    """
    if agent_id is not None and group_id is not None:
        raise InvalidData("export one agent or one group, not both (give agent_id or group_id)")
    dest = Path(path)
    writer = CarWriter(dest)
    try:
        with db.transaction() as tx:
            ex = _Export(tx, writer, progress)
            export_type, data = _payload(ex, tx, agent_id, group_id)
            data_cid = writer.put(data)
    except BaseException:
        writer.abort()
        raise
    counts = dict(sorted(ex.counts.items()))
    stats = s.ExportStats(
        agent_count=counts.get("agents", 0),
        group_count=counts.get("groups", 0),
        message_count=counts.get("messages", 0),
        memory_block_count=counts.get("memory_blocks", 0),
        archival_entry_count=counts.get("archival_entries", 0),
        archive_summary_count=counts.get("archive_summaries", 0),
        chunk_count=counts.get("message_chunks", 0) + counts.get("snapshot_chunks", 0),
        total_blocks=writer.blocks + 1,
    )
    manifest = s.ExportManifest(
        version=s.EXPORT_VERSION,
        exported_at=format_ts(now()),
        export_type=export_type,
        stats=stats,
        data_cid=data_cid,
    )
    oversized = writer.oversized
    root, size = writer.finish(manifest)
    if oversized:
        ex.issues.append(
            MigrationIssue(
                severity=IssueSeverity.WARNING,
                description=(
                    f"{oversized} block(s) exceed {RUST_BLOCK_LIMIT} bytes (a single very large "
                    "message or record); pattern-db reads them, the Rust tools refuse them"
                ),
            )
        )
    return ExportReport(
        path=str(dest),
        export_type=export_type,
        version=s.EXPORT_VERSION,
        root_cid=cid_text(root),
        counts=counts,
        blocks=writer.blocks,
        bytes=size,
        issues=ex.issues,
    )


def _payload(
    ex: _Export, tx: Transaction, agent_id: str | None, group_id: str | None
) -> tuple[str, object]:
    if agent_id is not None:
        agent = q_agent.get_agent(tx, agent_id)
        if agent is None:
            raise NotFound("agent", agent_id)
        return "Agent", ex.agent(agent)
    if group_id is not None:
        group = q_agent.get_group(tx, group_id)
        if group is None:
            raise NotFound("group", group_id)
        record, members = ex.group(group)
        exports = []
        for m in members:
            member_agent = q_agent.get_agent(tx, m.agent_id)
            if member_agent is not None:
                exports.append(ex.agent(member_agent))
        attachments = ex.attachments({m.agent_id for m in members})
        return "Group", s.GroupExport(
            group=record,
            members=members,
            agent_exports=exports,
            shared_memory_cids=ex.shared_blocks(attachments),
            shared_attachment_exports=attachments,
        )
    agents = q_agent.list_agents(tx)
    agent_cids = {a.id: ex.writer.put(ex.agent(a)) for a in agents}
    grouped: set[str] = set()
    groups = []
    for group in q_agent.list_groups(tx):
        record, members = ex.group(group)
        ids = {m.agent_id for m in members}
        grouped |= ids
        groups.append(
            s.GroupExportThin(
                group=record,
                members=members,
                agent_cids=[agent_cids[i] for i in sorted(ids) if i in agent_cids],
            )
        )
    agent_ids = {a.id for a in agents}
    loose = [ex.block(b) for b in q_memory.list_all_blocks(tx) if b.agent_id not in agent_ids]
    orphaned = q_memory.count_archival_entries(tx, CONSTELLATION_OWNER)
    if orphaned:
        ex.issues.append(
            MigrationIssue(
                severity=IssueSeverity.WARNING,
                entity_type="archival_entry",
                description=(
                    f"{orphaned} constellation-wide archival entries were not exported: the v3 "
                    "layout only holds archival entries inside an agent's export"
                ),
            )
        )
    return "Constellation", s.ConstellationExport(
        version=s.EXPORT_VERSION,
        exported_at=format_ts(now()),
        agent_exports=agent_cids,
        group_exports=groups,
        standalone_agent_cids=[c for i, c in agent_cids.items() if i not in grouped],
        all_memory_block_cids=loose,
        shared_attachments=ex.attachments(agent_ids),
    )
