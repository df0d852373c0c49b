"""Agents, groups, group members, model routing and atproto endpoints."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from pattern_db.models._base import JsonValue, Record, check_not_negative, id_factory, utc_now

__all__ = [
    "ENDPOINT_TYPE_BLUESKY",
    "Agent",
    "AgentAtprotoEndpoint",
    "AgentGroup",
    "AgentStatus",
    "AlwaysCondition",
    "ContextLengthCondition",
    "CostThresholdCondition",
    "GroupMember",
    "GroupMemberRole",
    "ModelRoutingConfig",
    "ModelRoutingRule",
    "ObserverRole",
    "PatternType",
    "RegularRole",
    "RoutingCondition",
    "SourceCondition",
    "SpecialistRole",
    "SupervisorRole",
    "TimeWindowCondition",
    "ToolCallCondition",
]

ENDPOINT_TYPE_BLUESKY = "bluesky"


class AgentStatus(StrEnum):
    """Lifecycle state of an agent."""

    ACTIVE = "active"
    HIBERNATED = "hibernated"
    ARCHIVED = "archived"


class PatternType(StrEnum):
    """Coordination pattern of an agent group."""

    ROUND_ROBIN = "round_robin"
    DYNAMIC = "dynamic"
    PIPELINE = "pipeline"
    SUPERVISOR = "supervisor"
    VOTING = "voting"
    SLEEPTIME = "sleeptime"


class Agent(Record, kw_only=True):
    """One agent of the constellation (row of `agents`)."""

    id: str = id_factory("agent")
    name: str
    description: str | None = None
    model_provider: str
    model_name: str
    system_prompt: str = ""
    config: dict[str, Any] = msgspec.field(default_factory=dict)
    enabled_tools: list[str] = msgspec.field(default_factory=list)
    tool_rules: JsonValue | None = None
    status: AgentStatus = AgentStatus.ACTIVE
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updated_at: datetime = msgspec.field(default_factory=utc_now)


class AgentGroup(Record, kw_only=True):
    """A group of agents coordinated by one pattern (row of `agent_groups`)."""

    id: str = id_factory("group")
    name: str
    description: str | None = None
    pattern_type: PatternType
    pattern_config: dict[str, Any] = msgspec.field(default_factory=dict)
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updated_at: datetime = msgspec.field(default_factory=utc_now)


class SupervisorRole(msgspec.Struct, tag="supervisor", tag_field="type"):
    """Leads the group."""


class RegularRole(msgspec.Struct, tag="regular", tag_field="type"):
    """An ordinary member."""


class ObserverRole(msgspec.Struct, tag="observer", tag_field="type"):
    """Watches without taking turns."""


class SpecialistRole(msgspec.Struct, tag="specialist", tag_field="type"):
    """Handles one domain; only specialists count for `agent_has_capability`."""

    domain: str


# Stored as internally tagged JSON: {"type": "specialist", "domain": "x"}.
GroupMemberRole = SupervisorRole | RegularRole | ObserverRole | SpecialistRole


class GroupMember(Record, kw_only=True):
    """Membership of an agent in a group (row of `group_members`)."""

    group_id: str
    agent_id: str
    role: GroupMemberRole | None = None
    capabilities: list[str] = msgspec.field(default_factory=list)
    joined_at: datetime = msgspec.field(default_factory=utc_now)


class AgentAtprotoEndpoint(Record, kw_only=True):
    """An agent's ATProto identity for one endpoint type (row of `agent_atproto_endpoints`).

    created_at and updated_at are aware UTC datetimes stored as canonical text, not the
    reference's integer unix seconds (a deliberate deviation: one timestamp format everywhere).
    """

    agent_id: str
    did: str
    endpoint_type: str = ENDPOINT_TYPE_BLUESKY
    session_id: str | None = None
    config: str | None = None  # raw JSON text, as the reference keeps it
    created_at: datetime = msgspec.field(default_factory=utc_now)
    updated_at: datetime = msgspec.field(default_factory=utc_now)


class CostThresholdCondition(msgspec.Struct, tag="cost_threshold", tag_field="type"):
    """Route when the estimated cost exceeds `max_usd`."""

    max_usd: Annotated[float, msgspec.Meta(ge=0)]

    def __post_init__(self) -> None:
        check_not_negative(self, "max_usd")


class ContextLengthCondition(msgspec.Struct, tag="context_length", tag_field="type"):
    """Route when the context holds at least `min_tokens`."""

    min_tokens: Annotated[int, msgspec.Meta(ge=0)]

    def __post_init__(self) -> None:
        check_not_negative(self, "min_tokens")


class ToolCallCondition(msgspec.Struct, tag="tool_call", tag_field="type"):
    """Route when one of `tools` is being called."""

    tools: list[str]


class TimeWindowCondition(msgspec.Struct, tag="time_window", tag_field="type"):
    """Route between two UTC hours (0-23)."""

    start_hour: Annotated[int, msgspec.Meta(ge=0, le=23)]
    end_hour: Annotated[int, msgspec.Meta(ge=0, le=23)]

    def __post_init__(self) -> None:
        check_not_negative(self, "start_hour", "end_hour", most=23)


class SourceCondition(msgspec.Struct, tag="source", tag_field="type"):
    """Route messages from one of `sources`."""

    sources: list[str]


class AlwaysCondition(msgspec.Struct, tag="always", tag_field="type"):
    """Always route."""


RoutingCondition = (
    CostThresholdCondition
    | ContextLengthCondition
    | ToolCallCondition
    | TimeWindowCondition
    | SourceCondition
    | AlwaysCondition
)


class ModelRoutingRule(msgspec.Struct, kw_only=True):
    """Use `model` (with optional overrides) when `condition` holds."""

    condition: RoutingCondition
    model: str
    temperature_override: Annotated[float, msgspec.Meta(ge=0)] | None = None
    max_tokens_override: Annotated[int, msgspec.Meta(ge=0)] | None = None

    def __post_init__(self) -> None:
        check_not_negative(self, "temperature_override", "max_tokens_override")


class ModelRoutingConfig(msgspec.Struct, kw_only=True):
    """Dynamic model selection, stored as JSON inside an agent's config."""

    fallback_models: list[str] = msgspec.field(default_factory=list)
    rules: list[ModelRoutingRule] = msgspec.field(default_factory=list)
    fallback_on_rate_limit: bool = True
    fallback_on_context_overflow: bool = True
    max_retries: Annotated[int, msgspec.Meta(ge=0)] = 2

    def __post_init__(self) -> None:
        check_not_negative(self, "max_retries")
