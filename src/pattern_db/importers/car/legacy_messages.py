"""Legacy messages and summaries (v0-v2) into message and archive-summary rows.

Positions come from the agent-message relation (the message's own as a fallback, else one is
made from created_at), batch ids are kept when they are snowflakes, and the content is stored
verbatim: the runtime reads the same externally tagged MessageContent.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pattern_db.errors import InvalidData
from pattern_db.ids import position_from_parts
from pattern_db.importers._values import json_safe, position_text, timestamp
from pattern_db.importers.car import legacy_schema as s
from pattern_db.importers.car._common import Context
from pattern_db.models.import_audit import IssueSeverity
from pattern_db.models.message import ArchiveSummary, BatchType, Message, MessageRole
from pattern_db.timeutil import now

__all__ = ["import_messages", "import_summaries"]

_ROLES = frozenset(r.value for r in MessageRole)
_BATCH_TYPES = frozenset(b.value for b in BatchType)
_ZERO_POSITION = "0" * 20
_SUMMARY_SPLIT = re.compile(r"\n\s*\n")


def _preview(content: Any) -> str | None:
    if not isinstance(content, dict) or len(content) != 1:
        return None
    ((kind, value),) = content.items()
    texts: list[str] = []
    if kind == "Text" and isinstance(value, str):
        return value
    if kind == "Parts" and isinstance(value, list):
        texts = [p["Text"] for p in value if isinstance(p, dict) and isinstance(p.get("Text"), str)]
    elif kind == "ToolResponses" and isinstance(value, list):
        texts = [str(r.get("content")) for r in value if isinstance(r, dict) and "content" in r]
    elif kind == "Blocks" and isinstance(value, list):
        for block in value:
            text = block.get("Text") if isinstance(block, dict) else None
            if isinstance(text, dict) and isinstance(text.get("text"), str):
                texts.append(text["text"])
    return "\n".join(texts) if texts else None


def _batch_id(
    value: s.Snowflake | None, remap: dict[str, str], position: str
) -> tuple[str | None, bool]:
    if value is None:
        return None, False
    text = str(value)
    try:
        position_text(text)
        return text, False
    except InvalidData:
        return remap.setdefault(text, position), True


def import_messages(
    ctx: Context, agent_id: str, pairs: list[tuple[s.Message, s.MessageRelation]]
) -> None:
    """Queue an agent's (Message, relation) pairs as message rows, in the order given.

    Raises:
        ImportFailed: a timestamp or a free-form value is malformed.
    """
    rec = ctx.rec
    remap: dict[str, str] = {}
    last_synth: tuple[int, int] = (0, -1)
    for message, relation in pairs:
        where = f"message {message.id}"
        created = timestamp(message.created_at, f"{where}.created_at")
        raw_position = (
            relation.position if relation.position not in (None, "") else message.position
        )
        position: str
        try:
            position = position_text(raw_position) if raw_position not in (None, "") else ""
        except InvalidData:
            position = ""
            rec.issue(
                IssueSeverity.WARNING,
                f"{where}: position {raw_position!r} is not a snowflake",
                entity_type="message",
                entity_id=message.id,
                resolution="position synthesized from created_at",
            )
        if not position:
            ms = int(created.timestamp() * 1000)
            seq = last_synth[1] + 1 if ms == last_synth[0] else 0
            last_synth = (ms, seq)
            position = position_from_parts(ms, seq)
            if raw_position in (None, ""):
                rec.issue(
                    IssueSeverity.WARNING,
                    f"{where} has no position",
                    entity_type="message",
                    entity_id=message.id,
                    resolution="position synthesized from created_at",
                )
        role = message.role.lower()
        if role not in _ROLES:
            rec.issue(
                IssueSeverity.WARNING,
                f"{where}: unknown role {message.role!r}",
                entity_type="message",
                entity_id=message.id,
                resolution="imported as user",
            )
            role = "user"
        batch_type = message.batch_type or relation.batch_type
        if batch_type is not None and batch_type not in _BATCH_TYPES:
            rec.issue(
                IssueSeverity.WARNING,
                f"{where}: unknown batch_type {batch_type!r}",
                entity_type="message",
                entity_id=message.id,
                resolution="batch_type left empty",
            )
            batch_type = None
        batch, remapped = _batch_id(
            message.batch if message.batch is not None else relation.batch, remap, position
        )
        if remapped:
            rec.transformed("message", "batch", "not a snowflake: replaced by one", message.id)
        if relation.message_type == "shared":
            rec.transformed("message", "message_type", "`shared` imported as active", message.id)
        content = json_safe(message.content, f"{where}.content")
        metadata = json_safe(message.metadata, f"{where}.metadata") or None
        if metadata is not None:
            rec.transformed("message", "metadata", "stored as source_metadata", message.id)
        for field in ("options", "owner_id", "embedding", "embedding_model"):
            if getattr(message, field) is not None:
                rec.dropped("message", field, _DROP_REASON[field], message.id)
        rec.dropped("message", "word_count", "derived from the content", message.id)
        rec.dropped("message", "has_tool_calls", "derived from the content", message.id)
        sequence = (
            message.sequence_num if message.sequence_num is not None else relation.sequence_num
        )
        record = Message(
            id=ctx.sink.map_id("message", message.id),
            agent_id=agent_id,
            position=position,
            batch_id=batch,
            sequence_in_batch=sequence,
            role=MessageRole(role),
            content_json=content,
            content_preview=_preview(content),
            batch_type=BatchType(batch_type) if batch_type else None,
            source_metadata=metadata,
            is_archived=relation.message_type == "archived",
            created_at=created,
        )
        ctx.sink.add_message(record, message.id)


_DROP_REASON = {
    "options": "cache-control hints of the old runtime",
    "owner_id": "messages belong to agents now",
    "embedding": "vectors are not imported; run the indexer",
    "embedding_model": "vectors are not imported",
}


def import_summaries(ctx: Context, agent_id: str, record: s.AgentRecord) -> None:
    """Write the agent's concatenated `message_summary` as a chain of archive summaries."""
    parts = [p.strip() for p in _SUMMARY_SPLIT.split(record.message_summary or "") if p.strip()]
    created: datetime = (
        timestamp(record.updated_at, f"agent {record.id}.updated_at")
        if record.updated_at
        else now()
    )
    previous: str | None = None
    for i, text in enumerate(parts):
        source_id = f"sum_{record.id}_{i}"
        summary = ArchiveSummary(
            id=ctx.sink.map_id("archive_summary", source_id),
            agent_id=agent_id,
            summary=text,
            start_position=_ZERO_POSITION,
            end_position=_ZERO_POSITION,
            message_count=0,
            previous_summary_id=previous,
            depth=0,
            created_at=created,
        )
        ctx.sink.add_summary(
            summary, source_id, "split from message_summary; the messages it covers are unknown"
        )
        previous = summary.id
    ctx.rec.transformed(
        "agent",
        "message_summary",
        "split on blank lines into chained archive summaries (positions unknown: 0)",
        record.id,
    )
