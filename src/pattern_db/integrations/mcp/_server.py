"""The MCP server: `MemoryTools` registered as tools and resources of the SDK's `MCPServer`.

Tools return structured results (JSON objects). A `DbError` (not found, permission denied,
consent required, char limit, bad input) becomes a tool error carrying its message, so the model
reads why and the server goes on. Read-only servers register no write tool at all, so a client
cannot call one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.resources import FunctionResource
from mcp.types import ToolAnnotations
from pydantic import Field

from pattern_db.connection import ConstellationDb
from pattern_db.errors import DbError
from pattern_db.integrations.mcp._memory import MAX_LIMIT, MemoryTools, describe_error

__all__ = ["WRITE_TOOLS", "build_server"]

WRITE_TOOLS = ("append_block", "replace_block", "archival_insert")
F = TypeVar("F", bound=Callable[..., Any])

AgentArg = Annotated[
    str | None,
    Field(description="The agent acting (required unless the server was started with --agent)."),
]
OwnerArg = Annotated[
    str | None,
    Field(description="Owner of the block when it is another agent's (or '_constellation_')."),
]
LimitArg = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="How many results at most.")]
_READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
_OVERWRITE = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)


def _tool_errors(fn: F) -> F:
    """Turn a DbError raised by a tool into a ToolError with its message."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DbError as exc:
            raise ToolError(describe_error(exc)) from exc

    return wrapper  # type: ignore[return-value]


def build_server(
    db: ConstellationDb,
    *,
    agent_id: str | None = None,
    read_only: bool = False,
    embedder: Any = None,
) -> MCPServer:
    """Return an MCP server exposing the constellation's memory (run it with `.run("stdio")`).

    Example: `build_server(db, agent_id="a1", read_only=True).run("stdio")`.

    Args:
        db: the open constellation (the caller closes it after the server stops).
        agent_id: scope every tool to what this agent may see and act as it.
        read_only: expose no tool that writes.
        embedder: a pattern-db `Embedder` for vector and hybrid search (keywords only if None).

    Raises:
        NotFound: `agent_id` names no agent.
    """
    tools = MemoryTools(db, scope=agent_id, embedder=embedder)
    who = f"agent {agent_id}" if agent_id else "any agent (name it in each call)"
    server: MCPServer = MCPServer(
        name="pattern-db",
        log_level="WARNING",
        instructions=(
            "Long-term memory of a pattern-db constellation, acting as "
            f"{who}{', read-only' if read_only else ''}. Search with `search`, read memory "
            "blocks with `read_block` (or the memory:// resources), and keep facts worth "
            "remembering with `archival_insert`."
        ),
    )
    _register_reads(server, tools)
    if not read_only:
        _register_writes(server, tools)
    _register_resources(server, tools)
    return server


def _register_reads(server: MCPServer, tools: MemoryTools) -> None:
    @server.tool(annotations=_READ)
    @_tool_errors
    def search(
        query: Annotated[str, Field(description="What to look for (plain words are fine).")],
        content_type: Annotated[
            str | None,
            Field(description="message, memory_block or archival_entry; all when left out."),
        ] = None,
        limit: LimitArg = 10,
        agent_id: AgentArg = None,
    ) -> dict[str, Any]:
        """Search messages, memory blocks and archival memory (hybrid keyword + vector ranking)."""
        return tools.search(query, agent_id=agent_id, content_type=content_type, limit=limit)

    @server.tool(annotations=_READ)
    @_tool_errors
    def recent_messages(limit: LimitArg = 20, agent_id: AgentArg = None) -> dict[str, Any]:
        """Return the agent's most recent conversation messages, oldest first."""
        return tools.recent_messages(agent_id=agent_id, limit=limit)

    @server.tool(annotations=_READ)
    @_tool_errors
    def list_agents() -> dict[str, Any]:
        """List the agents of this constellation."""
        return tools.list_agents()

    @server.tool(annotations=_READ)
    @_tool_errors
    def list_blocks(agent_id: AgentArg = None) -> dict[str, Any]:
        """List the agent's memory blocks and the blocks shared with it, with previews."""
        return tools.list_blocks(agent_id=agent_id)

    @server.tool(annotations=_READ)
    @_tool_errors
    def read_block(
        label: Annotated[str, Field(description="The block's label, e.g. 'persona'.")],
        owner: OwnerArg = None,
        agent_id: AgentArg = None,
    ) -> dict[str, Any]:
        """Read the full text of a memory block."""
        return tools.read_block(label, owner=owner, agent_id=agent_id)

    @server.tool(annotations=_READ)
    @_tool_errors
    def archival_search(
        query: Annotated[str, Field(description="What to look for.")],
        limit: LimitArg = 10,
        agent_id: AgentArg = None,
    ) -> dict[str, Any]:
        """Search the agent's archival (long-term) memory."""
        return tools.archival_search(query, agent_id=agent_id, limit=limit)


def _register_writes(server: MCPServer, tools: MemoryTools) -> None:
    @server.tool(annotations=_WRITE)
    @_tool_errors
    def append_block(
        label: Annotated[str, Field(description="The block's label.")],
        text: Annotated[str, Field(description="Text to add at the end of the block.")],
        owner: OwnerArg = None,
        agent_id: AgentArg = None,
    ) -> dict[str, Any]:
        """Append text to a memory block (refused unless the block's permission allows it)."""
        return tools.append_block(label, text, owner=owner, agent_id=agent_id)

    @server.tool(annotations=_OVERWRITE)
    @_tool_errors
    def replace_block(
        label: Annotated[str, Field(description="The block's label.")],
        old: Annotated[str, Field(description="Text currently in the block, exactly.")],
        new: Annotated[str, Field(description="Text to put in its place.")],
        owner: OwnerArg = None,
        agent_id: AgentArg = None,
    ) -> dict[str, Any]:
        """Replace text in a memory block (refused unless the block's permission allows it)."""
        return tools.replace_block(label, old, new, owner=owner, agent_id=agent_id)

    @server.tool(annotations=_WRITE)
    @_tool_errors
    def archival_insert(
        content: Annotated[str, Field(description="The fact or note to remember.")],
        metadata: Annotated[
            dict[str, Any] | None, Field(description="Optional JSON object stored with it.")
        ] = None,
        agent_id: AgentArg = None,
    ) -> dict[str, Any]:
        """Store a long-term memory in the agent's archival memory."""
        return tools.archival_insert(content, metadata=metadata, agent_id=agent_id)


def _register_resources(server: MCPServer, tools: MemoryTools) -> None:
    def read(owner: str, label: str) -> str:
        try:
            return tools.read_uri(owner, label)
        except DbError as exc:
            raise ResourceError(describe_error(exc)) from exc

    for block in tools.visible_blocks():
        owner, label = block.agent_id, block.label
        server.add_resource(
            FunctionResource.from_function(
                functools.partial(read, owner, label),
                uri=f"memory://{owner}/{label}",
                name=f"{owner}/{label}",
                description=block.description or f"memory block {label} of {owner}",
            )
        )

    @server.resource(
        "memory://{owner}/{label}",
        name="memory-block",
        description="A memory block's text, by owner and label.",
    )
    def memory_block(owner: str, label: str) -> str:
        return read(owner, label)
