"""The demo constellation behind `pattern-db demo` and `make demo`.

Three agents of an ADHD-support constellation, a group, a persona memory block (a real Loro
document edited once, so it holds a checkpoint-free snapshot plus one delta), a short
conversation, a task, and a full-text search over it all, so `pattern-db status` has something
to show.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pattern_db import fts, ids
from pattern_db.backup import empty_live_database
from pattern_db.connection import ConstellationDb
from pattern_db.files import prepare_destination
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models import (
    Agent,
    AgentGroup,
    BatchType,
    GroupMember,
    MemoryBlockType,
    Message,
    MessageRole,
    PatternType,
    SpecialistRole,
    SupervisorRole,
    Task,
    UserTaskPriority,
)
from pattern_db.queries import agent as agent_q
from pattern_db.queries import message as message_q
from pattern_db.queries import task as task_q

__all__ = ["create_demo"]

_PERSONA = (
    "I am Pattern, the orchestrator of this constellation. I help my partner plan the day, "
    "break big tasks into small ones and remember what matters."
)
_PERSONA_EDIT = " My partner prefers reminders 45 minutes ahead."
_CONVERSATION = [
    (MessageRole.USER, "Can you help me plan tomorrow? I keep forgetting the dentist."),
    (MessageRole.ASSISTANT, "Of course. The dentist is at 10:00; I will remind you at 9:15."),
    (MessageRole.USER, "I also need to finish the grant report, it feels huge."),
    (MessageRole.ASSISTANT, "Let us break the grant report into three small steps."),
]


def create_demo(path: str | Path, *, overwrite: bool = False) -> dict[str, Any]:
    """Write the demo constellation to `path`; return a summary of what was written.

    Raises:
        DestinationExists: `path` exists and `overwrite` is False.
        PathError: `path` is a directory, or its directory cannot be created.
    """
    path = prepare_destination(path, overwrite=overwrite)
    # Emptied in place, never deleted: a process holding the old file would go on using it.
    empty_live_database(path)
    start = datetime.now(UTC) - timedelta(minutes=10)
    agents = [
        Agent(name="Pattern", model_provider="anthropic", model_name="claude-sonnet-4"),
        Agent(name="Entropy", model_provider="anthropic", model_name="claude-haiku-4"),
        Agent(name="Anchor", model_provider="openai", model_name="gpt-5-mini"),
    ]
    pattern = agents[0]
    group = AgentGroup(name="main", pattern_type=PatternType.SUPERVISOR)
    batch = ids.new_id("batch")
    messages = [
        Message(
            agent_id=pattern.id,
            role=role,
            content_json={"text": text},
            content_preview=text,
            batch_id=batch,
            sequence_in_batch=i,
            batch_type=BatchType.USER_REQUEST,
            source="cli",
            created_at=start + timedelta(seconds=30 * i),
        )
        for i, (role, text) in enumerate(_CONVERSATION)
    ]
    task = Task(
        agent_id=pattern.id,
        title="Finish the grant report",
        priority=UserTaskPriority.HIGH,
        due_at=start + timedelta(days=2),
        tags=["work"],
        estimated_minutes=90,
    )
    with ConstellationDb.open(path) as db, db.transaction() as tx:
        for agent in agents:
            agent_q.create_agent(tx, agent)
        agent_q.create_group(tx, group)
        agent_q.add_group_member(
            tx, GroupMember(group_id=group.id, agent_id=pattern.id, role=SupervisorRole())
        )
        for helper, domain in ((agents[1], "task breakdown"), (agents[2], "habits")):
            agent_q.add_group_member(
                tx,
                GroupMember(
                    group_id=group.id, agent_id=helper.id, role=SpecialistRole(domain=domain)
                ),
            )
        message_q.create_messages(tx, messages)
        task_q.create_user_task(tx, task)
    with ConstellationDb.open(path) as db:
        docs = MemoryDocs(db)
        persona = docs.create_block(
            pattern.id,
            "persona",
            _PERSONA,
            description="Who Pattern is and how it helps.",
            block_type=MemoryBlockType.CORE,
        )
        edit = docs.append(persona.id, _PERSONA_EDIT, actor=pattern.id)
        text = docs.read_text(persona.id)
        hits = fts.search_all(db, "remind*", limit=5)
    return {
        "path": str(path),
        "agents": [a.name for a in agents],
        "group": group.name,
        "memory_blocks": [persona.label],
        "persona_text": text,
        "persona_seq": edit.seq,
        "messages": len(messages),
        "tasks": [task.title],
        "search": [
            {"content_type": h.content_type, "id": h.id, "snippet": h.snippet} for h in hits
        ],
        "lines": [
            f"agents: {', '.join(a.name for a in agents)} (group '{group.name}')",
            f"memory block 'persona' of Pattern: a Loro document plus {edit.seq} delta",
            f"{len(messages)} messages in one batch; task: {task.title}",
            f"full-text search for 'remind*': {len(hits)} hit(s)",
            *(f"  [{h.content_type}] {h.snippet}" for h in hits),
        ],
    }
