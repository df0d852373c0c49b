"""The structure of Letta agent files (.af), old single-agent and new multi-entity, as Structs.

Decoding into these Structs checks the structure, so a bad file is refused with the path of
the field (`at $.agents[0].messages[3].role`). Letta writes `null` for empty lists in many
places and has added fields over time, so every field is optional and unknown keys are ignored
(the importer keeps them in the agent's config or reports them).
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "AgentFile",
    "AgentSchema",
    "BlockSchema",
    "GroupSchema",
    "MessageSchema",
    "OldAgentFile",
    "PassageSchema",
    "ToolRuleSchema",
    "ToolSchema",
]


class ToolFunction(msgspec.Struct, kw_only=True):
    """The function of an OpenAI-style tool call."""

    name: str | None = None
    arguments: Any = None


class ToolCall(msgspec.Struct, kw_only=True):
    """A tool call an assistant message requested."""

    id: str | None = None
    function: ToolFunction | None = None
    type: str | None = None


class ToolReturn(msgspec.Struct, kw_only=True):
    """What a tool returned."""

    tool_call_id: str | None = None
    status: str | None = None
    stdout: Any = None
    stderr: Any = None
    func_response: Any = None


class MessageSchema(msgspec.Struct, kw_only=True):
    """A message; `id` is absent in old files, `in_context` only in some of them."""

    id: str | None = None
    role: str
    content: list[dict[str, Any]] | str | None = None
    text: str | None = None
    name: str | None = None
    model: str | None = None
    agent_id: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    tool_returns: list[ToolReturn] | None = None
    created_at: str | None = None
    in_context: bool | None = None


class BlockSchema(msgspec.Struct, kw_only=True):
    """A memory block (top-level in new files, `core_memory` items in old ones)."""

    id: str | None = None
    label: str | None = None
    value: str | None = ""
    limit: int | None = None
    read_only: bool | None = False
    description: str | None = None
    metadata: dict[str, Any] | None = None
    metadata_: dict[str, Any] | None = None
    is_template: bool | None = False
    template_name: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ToolSchema(msgspec.Struct, kw_only=True):
    """A tool definition."""

    id: str | None = None
    name: str | None = None
    tool_type: str | None = None
    description: str | None = None
    source_code: str | None = None
    source_type: str | None = None
    json_schema: Any = None
    args_json_schema: Any = None
    tags: list[Any] | None = None
    return_char_limit: int | None = None


class ToolRuleSchema(msgspec.Struct, kw_only=True):
    """A tool rule; `type` is an enum value (`exit_loop`) or, in older files, a class name."""

    tool_name: str | None = None
    type: str
    children: list[str] | None = None
    max_count_limit: int | None = None
    default_child: str | None = None
    child_output_mapping: Any = None
    require_output_mapping: bool | None = None
    prompt_template: str | None = None


class PassageSchema(msgspec.Struct, kw_only=True):
    """An archival passage (written by some Letta versions and tools; absent from most files)."""

    id: str | None = None
    text: str | None = None
    content: str | None = None
    created_at: str | None = None
    metadata: dict[str, Any] | None = None
    metadata_: dict[str, Any] | None = None
    tags: list[str] | None = None


class AgentSchema(msgspec.Struct, kw_only=True):
    """An agent of the new multi-entity layout."""

    id: str
    name: str | None = None
    agent_type: str | None = None
    system: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    memory_blocks: list[BlockSchema] | None = None
    tool_ids: list[str] | None = None
    tools: list[str | ToolSchema] | None = None
    tool_rules: list[ToolRuleSchema] | None = None
    block_ids: list[str] | None = None
    model: str | None = None
    embedding: str | None = None
    llm_config: dict[str, Any] | None = None
    embedding_config: dict[str, Any] | None = None
    in_context_message_ids: list[str] | None = None
    messages: list[MessageSchema] | None = None
    group_ids: list[str] | None = None
    passages: list[PassageSchema] | None = None
    created_at: str | None = None
    updated_at: str | None = None


class GroupSchema(msgspec.Struct, kw_only=True):
    """A multi-agent group of the new layout."""

    id: str
    agent_ids: list[str] | None = None
    description: str | None = None
    manager_config: dict[str, Any] | None = None
    shared_block_ids: list[str] | None = None


class AgentFile(msgspec.Struct, kw_only=True):
    """The new layout (Letta >= 0.8): entities side by side, linked by file-local ids."""

    agents: list[AgentSchema] | None = None
    groups: list[GroupSchema] | None = None
    blocks: list[BlockSchema] | None = None
    files: list[Any] | None = None
    sources: list[Any] | None = None
    tools: list[ToolSchema] | None = None
    mcp_servers: list[Any] | None = None
    skills: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    created_at: str | None = None


class OldAgentFile(msgspec.Struct, kw_only=True):
    """The old single-agent layout: the agent's keys at the top level, `core_memory` inline."""

    name: str | None = None
    agent_type: str | None = None
    system: str | None = None
    description: str | None = None
    core_memory: list[BlockSchema] | None = None
    llm_config: dict[str, Any] | None = None
    embedding_config: dict[str, Any] | None = None
    in_context_message_indices: list[int] | None = None
    messages: list[MessageSchema] | None = None
    tools: list[ToolSchema] | None = None
    tool_rules: list[ToolRuleSchema] | None = None
    metadata_: dict[str, Any] | None = None
    passages: list[PassageSchema] | None = None
    created_at: str | None = None
    updated_at: str | None = None
    version: str | None = None
