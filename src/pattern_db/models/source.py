"""Data sources agents subscribe to, and their subscriptions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import msgspec

from pattern_db.models._base import Record, id_factory, utc_now

__all__ = ["AgentDataSource", "DataSource", "SourceType"]


class SourceType(StrEnum):
    """Kind of data source."""

    FILE = "file"
    VCS = "vcs"
    CODE_HOST = "code_host"
    LANGUAGE_SERVER = "language_server"
    TERMINAL = "terminal"
    GROUP_CHAT = "group_chat"
    DIRECT_CHAT = "direct_chat"
    BLUESKY = "bluesky"
    EMAIL = "email"
    CALENDAR = "calendar"
    TIMER = "timer"
    MCP = "mcp"
    AGENT = "agent"
    HTTP = "http"
    WEBHOOK = "webhook"
    MANUAL = "manual"


class DataSource(Record, kw_only=True):
    """A configured source of external events (row of `data_sources`)."""

    id: str = id_factory("src")
    name: str
    source_type: SourceType
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    last_sync_at: datetime | None = None
    sync_cursor: str | None = None
    enabled: bool = True
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updated_at: datetime = msgspec.field(default_factory=utc_now)


class AgentDataSource(Record, kw_only=True):
    """An agent's subscription to a source, with an optional mustache-style template."""

    agent_id: str
    source_id: str
    notification_template: str | None = None
