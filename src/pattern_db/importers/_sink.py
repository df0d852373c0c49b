"""Writing imported records inside the import's transaction: id mapping, clashes, batching.

Shared by the CAR and Letta importers. With `preserve_ids` the source ids are kept and an id that
already exists fails the import (nothing is written); otherwise every record gets a new id and
every reference between imported records is remapped. Agent and group names and a block's
label among its agent's active blocks are unique in the schema: a clash gets a `-2` suffix and a
warning in the audit.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from pattern_db.connection import Transaction
from pattern_db.errors import AlreadyExists, ImportFailed
from pattern_db.ids import new_id
from pattern_db.importers._report import Recorder
from pattern_db.importers._values import unique_name
from pattern_db.models.agent import Agent, AgentGroup, GroupMember
from pattern_db.models.import_audit import IssueSeverity
from pattern_db.models.memory import ArchivalEntry, MemoryBlock, MemoryPermission
from pattern_db.models.message import ArchiveSummary, Message
from pattern_db.queries import agent as q_agent
from pattern_db.queries import memory as q_memory
from pattern_db.queries import message as q_message

__all__ = ["Sink"]

_MESSAGE_BATCH = 5000
_NEW_IDS = (
    "import with preserve_ids=False (`--no-preserve-ids`) to give the imported records new ids"
)
_PREFIX = {
    "agent": "agent",
    "group": "group",
    "memory_block": "mem",
    "message": "msg",
    "archival_entry": "arch",
    "archive_summary": "sum",
}


class Sink:
    """Writes imported records through the query functions, inside one transaction."""

    def __init__(self, tx: Transaction, rec: Recorder, *, preserve_ids: bool) -> None:
        self.tx = tx
        self.rec = rec
        self.preserve_ids = preserve_ids
        self._ids: dict[tuple[str, str], str] = {}
        self._agent_names = {a.name for a in q_agent.list_agents(tx)}
        self._group_names = {g.name for g in q_agent.list_groups(tx)}
        self._labels: dict[str, set[str]] = {}
        self._messages: list[Message] = []
        self._message_ids: set[str] = set()
        self.expected_messages: int | None = None
        self.agents: set[str] = set()
        self.blocks: set[str] = set()

    # -- ids -----------------------------------------------------------------------------------

    def map_id(self, kind: str, source_id: str) -> str:
        """Return the target id of a source id (the same id when preserving ids)."""
        key = (kind, source_id)
        found = self._ids.get(key)
        if found is None:
            found = source_id if self.preserve_ids else new_id(_PREFIX.get(kind, kind))
            self._ids[key] = found
        return found

    def set_id(self, kind: str, source_id: str, target_id: str) -> None:
        """Map a source id to a target id chosen by the caller."""
        self._ids[(kind, source_id)] = target_id

    def mapped(self, kind: str, source_id: str) -> str | None:
        """Return the target id of a source id already mapped, or None."""
        return self._ids.get((kind, source_id))

    # -- records -------------------------------------------------------------------------------

    def _free_name(self, kind: str, record_id: str, name: str, taken: set[str]) -> str:
        """Return `name`, or a suffixed one (with a warning) when another record has it."""
        free = unique_name(name, taken)
        if free != name:
            self.rec.issue(
                IssueSeverity.WARNING,
                f"a {kind} named {name!r} exists already",
                entity_type=kind,
                entity_id=record_id,
                resolution=f"imported as {free!r}",
            )
        return free

    def add_agent(self, agent: Agent, source_id: str, transformation: str | None = None) -> None:
        """Create an agent (renamed when its name is taken).

        Raises:
            ImportFailed: the agent id exists already and ids are preserved.
        """
        if q_agent.get_agent(self.tx, agent.id) is not None:
            raise ImportFailed(f"agent {agent.id} already exists in this constellation; {_NEW_IDS}")
        name = self._free_name("agent", agent.id, agent.name, self._agent_names)
        if name != agent.name:
            agent = msgspec.structs.replace(agent, name=name)
        q_agent.create_agent(self.tx, agent)
        self.agents.add(agent.id)
        self.rec.count("agents")
        self.rec.entity("agent", source_id, agent.id, transformation)

    def add_group(
        self, group: AgentGroup, source_id: str, transformation: str | None = None
    ) -> None:
        """Create a group (renamed when its name is taken).

        Raises:
            ImportFailed: the group id exists already and ids are preserved.
        """
        if q_agent.get_group(self.tx, group.id) is not None:
            raise ImportFailed(f"group {group.id} already exists in this constellation; {_NEW_IDS}")
        name = self._free_name("group", group.id, group.name, self._group_names)
        if name != group.name:
            group = msgspec.structs.replace(group, name=name)
        q_agent.create_group(self.tx, group)
        self.rec.count("groups")
        self.rec.entity("group", source_id, group.id, transformation)

    def add_member(self, member: GroupMember) -> None:
        """Add a group membership."""
        q_agent.add_group_member(self.tx, member)
        self.rec.count("group_members")

    def add_block(
        self, block: MemoryBlock, source_id: str, transformation: str | None = None
    ) -> None:
        """Create a memory block (its label suffixed when the agent has an active one like it).

        Raises:
            ImportFailed: the block id exists already and ids are preserved.
        """
        if q_memory.get_block(self.tx, block.id, include_inactive=True) is not None:
            raise ImportFailed(f"memory block {block.id} already exists; {_NEW_IDS}")
        if block.is_active:
            labels = self._labels.get(block.agent_id)
            if labels is None:
                labels = {b.label for b in q_memory.list_blocks(self.tx, block.agent_id)}
                self._labels[block.agent_id] = labels
            label = unique_name(block.label, labels)
            if label != block.label:
                self.rec.issue(
                    IssueSeverity.WARNING,
                    f"agent {block.agent_id} already has an active block labelled {block.label!r}",
                    entity_type="memory_block",
                    entity_id=block.id,
                    resolution=f"imported with label {label!r}",
                )
                block = msgspec.structs.replace(block, label=label)
        q_memory.create_block(self.tx, block)
        self.blocks.add(block.id)
        self.rec.count("memory_blocks")
        self.rec.entity("memory_block", source_id, block.id, transformation)

    def add_attachment(
        self,
        block_id: str,
        agent_id: str,
        permission: MemoryPermission | str,
        attached_at: datetime | None,
    ) -> None:
        """Share a block with another agent."""
        q_memory.create_shared_block_attachment(
            self.tx, block_id, agent_id, permission, attached_at=attached_at
        )
        self.rec.count("shared_attachments")

    def add_archival(
        self, entry: ArchivalEntry, source_id: str, transformation: str | None = None
    ) -> None:
        """Create an archival entry (its parent must exist already)."""
        try:
            q_memory.create_archival_entry(self.tx, entry)
        except AlreadyExists as exc:
            raise ImportFailed(f"archival entry {entry.id} already exists; {_NEW_IDS}") from exc
        self.rec.count("archival_entries")
        self.rec.entity("archival_entry", source_id, entry.id, transformation)

    def add_summary(
        self, summary: ArchiveSummary, source_id: str, transformation: str | None = None
    ) -> None:
        """Create an archive summary (the one it follows must exist already)."""
        try:
            q_message.create_archive_summary(self.tx, summary)
        except AlreadyExists as exc:
            raise ImportFailed(f"archive summary {summary.id} already exists; {_NEW_IDS}") from exc
        self.rec.count("archive_summaries")
        self.rec.entity("archive_summary", source_id, summary.id, transformation)

    def add_message(
        self, message: Message, source_id: str, transformation: str | None = None
    ) -> bool:
        """Queue a message for the next batch insert; False (and a warning) for a repeated id."""
        if message.id in self._message_ids:
            self.rec.issue(
                IssueSeverity.WARNING,
                "the file holds this message twice",
                entity_type="message",
                entity_id=source_id,
                resolution="imported once",
            )
            self.rec.count("skipped")
            return False
        self._message_ids.add(message.id)
        self._messages.append(message)
        self.rec.entity("message", source_id, message.id, transformation)
        if len(self._messages) >= _MESSAGE_BATCH:
            self.flush()
        return True

    def flush(self) -> None:
        """Write the queued messages.

        Raises:
            ImportFailed: a message id exists already.
        """
        if not self._messages:
            return
        batch, self._messages = self._messages, []
        try:
            q_message.create_messages(self.tx, batch)
        except AlreadyExists as exc:
            raise ImportFailed(f"{exc}; {_NEW_IDS}") from exc
        self.rec.count("messages", len(batch))
        self.rec.progress("messages", self.rec.counts["messages"], self.expected_messages)

    def expect_messages(self, n: int) -> None:
        """Announce `n` more messages, so progress can show a total."""
        self.expected_messages = (self.expected_messages or 0) + n
