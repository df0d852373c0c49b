"""Database-level statistics."""

from __future__ import annotations

from pattern_db.models._base import Record

__all__ = ["AgentActivity", "ConstellationStats", "DbStats"]


class DbStats(Record, kw_only=True):
    """Row counts (every row, archived, deleted and inactive ones included) and file sizes."""

    agent_count: int = 0
    group_count: int = 0
    message_count: int = 0
    memory_block_count: int = 0
    archival_entry_count: int = 0
    task_count: int = 0
    event_count: int = 0
    file_passage_count: int = 0
    embedding_count: int = 0
    schema_version: int = 0
    page_count: int = 0
    page_size: int = 0
    file_size_bytes: int = 0
    wal_size_bytes: int = 0


class ConstellationStats(Record, kw_only=True):
    """Live counts (`queries.stats.get_stats`): tombstoned messages and inactive blocks excluded."""

    agent_count: int = 0
    group_count: int = 0
    message_count: int = 0
    memory_block_count: int = 0
    archival_entry_count: int = 0


class AgentActivity(Record, kw_only=True):
    """An agent and how many messages it has (archived included, tombstoned excluded)."""

    agent_id: str
    name: str
    message_count: int
