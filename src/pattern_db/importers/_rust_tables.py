"""How each table of a Rust `pattern_db` file becomes rows of this schema.

One spec per table, in foreign-key order: the record type, the query function that writes it,
and (for tables whose rows point at rows of the same table) the column to order parents first.
Values are converted by the record's field types (`_convert_row` in rust_db), so the specs only
say what is particular to a table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from pattern_db.connection import Transaction
from pattern_db.models.agent import Agent, AgentAtprotoEndpoint, AgentGroup, GroupMember
from pattern_db.models.coordination import (
    ActivityEvent,
    AgentSummary,
    ConstellationSummary,
    CoordinationState,
    CoordinationTask,
    HandoffNote,
    NotableEvent,
)
from pattern_db.models.event import Event, EventOccurrence
from pattern_db.models.folder import FilePassage, Folder, FolderAttachment, FolderFile
from pattern_db.models.import_audit import MigrationAudit
from pattern_db.models.memory import (
    ArchivalEntry,
    MemoryBlock,
    MemoryBlockCheckpoint,
    MemoryBlockUpdate,
    SharedBlockAttachment,
)
from pattern_db.models.message import ArchiveSummary, Message, QueuedMessage
from pattern_db.models.source import AgentDataSource, DataSource
from pattern_db.models.task import Task
from pattern_db.queries import agent as q_agent
from pattern_db.queries import atproto_endpoints as q_atproto
from pattern_db.queries import coordination as q_coord
from pattern_db.queries import event as q_event
from pattern_db.queries import folder as q_folder
from pattern_db.queries import import_audit as q_migration
from pattern_db.queries import memory as q_memory
from pattern_db.queries import message as q_message
from pattern_db.queries import queue as q_queue
from pattern_db.queries import source as q_source
from pattern_db.queries import task as q_task

__all__ = ["TABLES", "TableSpec"]

Writer = Callable[[Transaction, Any], object]


class TableSpec(NamedTuple):
    """One source table: its record type, how a record is written, its self-reference."""

    table: str
    model: type[Any]
    write: Writer
    parent_column: str | None = None
    id_column: str = "id"


def _attachment(tx: Transaction, r: SharedBlockAttachment) -> None:
    q_memory.create_shared_block_attachment(
        tx, r.block_id, r.agent_id, r.permission, attached_at=r.attached_at
    )


def _subscription(tx: Transaction, r: AgentDataSource) -> None:
    q_source.subscribe_agent_to_source(tx, r.agent_id, r.source_id, r.notification_template)


def _folder_attachment(tx: Transaction, r: FolderAttachment) -> None:
    q_folder.attach_folder_to_agent(
        tx, r.folder_id, r.agent_id, r.access, attached_at=r.attached_at
    )


TABLES: tuple[TableSpec, ...] = (
    TableSpec("agents", Agent, q_agent.create_agent),
    TableSpec("agent_groups", AgentGroup, q_agent.create_group),
    TableSpec("group_members", GroupMember, q_agent.add_group_member),
    TableSpec(
        "agent_atproto_endpoints", AgentAtprotoEndpoint, q_atproto.set_agent_atproto_endpoint
    ),
    TableSpec("memory_blocks", MemoryBlock, q_memory.create_block),
    TableSpec("memory_block_checkpoints", MemoryBlockCheckpoint, q_memory.create_checkpoint),
    TableSpec("memory_block_updates", MemoryBlockUpdate, q_memory.create_update),
    TableSpec("shared_block_agents", SharedBlockAttachment, _attachment),
    TableSpec("archival_entries", ArchivalEntry, q_memory.create_archival_entry, "parent_entry_id"),
    TableSpec("messages", Message, q_message.create_message),
    TableSpec(
        "archive_summaries", ArchiveSummary, q_message.create_archive_summary, "previous_summary_id"
    ),
    TableSpec("queued_messages", QueuedMessage, q_queue.create_queued_message),
    TableSpec("activity_events", ActivityEvent, q_coord.create_activity_event),
    TableSpec("agent_summaries", AgentSummary, q_coord.upsert_agent_summary, None, "agent_id"),
    TableSpec(
        "constellation_summaries", ConstellationSummary, q_coord.create_constellation_summary
    ),
    TableSpec("notable_events", NotableEvent, q_coord.create_notable_event),
    TableSpec("coordination_state", CoordinationState, q_coord.set_state, None, "key"),
    TableSpec("coordination_tasks", CoordinationTask, q_coord.create_task),
    TableSpec("handoff_notes", HandoffNote, q_coord.create_handoff),
    TableSpec("data_sources", DataSource, q_source.create_data_source),
    TableSpec("agent_data_sources", AgentDataSource, _subscription, None, "agent_id"),
    TableSpec("tasks", Task, q_task.create_user_task, "parent_task_id"),
    TableSpec("events", Event, q_event.create_event),
    TableSpec("event_occurrences", EventOccurrence, q_event.create_occurrence),
    TableSpec("folders", Folder, q_folder.create_folder),
    TableSpec("folder_files", FolderFile, q_folder.upsert_file),
    TableSpec("file_passages", FilePassage, q_folder.create_passage),
    TableSpec("folder_attachments", FolderAttachment, _folder_attachment, None, "folder_id"),
    TableSpec("migration_audit", MigrationAudit, q_migration.create_migration_audit),
)

# Tables of the Rust file that are derived or bookkeeping, never copied.
SKIPPED_TABLES = frozenset({"_sqlx_migrations", "sqlite_sequence", "embeddings"})
SKIPPED_PREFIXES = ("messages_fts", "memory_blocks_fts", "archival_fts", "embeddings_", "sqlite_")
