"""`pattern-db mcp`: the MCP server driven by the SDK's own client over a real stdio subprocess."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client
from mcp.types import CallToolResult, TextContent, TextResourceContents

from pattern_db import ConstellationDb
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models.agent import Agent
from pattern_db.models.memory import CONSTELLATION_OWNER, ArchivalEntry, MemoryPermission
from pattern_db.models.message import Message, MessageRole
from pattern_db.queries import agent as agents
from pattern_db.queries import memory
from pattern_db.queries import message as messages
from tests.test_cli import run

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
MODEL = {"model_provider": "anthropic", "model_name": "claude-sonnet-4"}
ALL_TOOLS = [
    "append_block",
    "archival_insert",
    "archival_search",
    "list_agents",
    "list_blocks",
    "read_block",
    "recent_messages",
    "replace_block",
    "search",
]
READ_TOOLS = [t for t in ALL_TOOLS if t not in ("append_block", "archival_insert", "replace_block")]


@pytest.fixture
def constellation(tmp_path: Path) -> Path:
    """A file with agents a1 and a2, blocks of both (one shared), messages and archival memory."""
    path = tmp_path / "c.db"
    with ConstellationDb.open(path) as db:
        agents.create_agent(db, Agent(id="a1", name="Pattern", description="orchestrator", **MODEL))
        agents.create_agent(db, Agent(id="a2", name="Entropy", description="task breaker", **MODEL))
        docs = MemoryDocs(db)
        docs.create_block("a1", "persona", "I am Pattern.", description="who I am")
        docs.create_block("a1", "rules", "Never skip lunch.", permission=MemoryPermission.READ_ONLY)
        shared = docs.create_block("a2", "tasks", "Grant report due Friday.")
        docs.create_block("a2", "diary", "Private thoughts.")
        docs.create_block(CONSTELLATION_OWNER, "house", "Quiet hours after 22:00.")
        memory.create_shared_block_attachment(db, shared.id, "a1", MemoryPermission.READ_ONLY)
        for i, (role, text) in enumerate(
            [
                (MessageRole.USER, "Remind me about the dentist"),
                (MessageRole.ASSISTANT, "I will remind you at 9:15"),
                (MessageRole.USER, "Thanks"),
            ]
        ):
            messages.create_message(
                db,
                Message(
                    id=f"m{i}",
                    agent_id="a1",
                    role=role,
                    content_json={"text": text},
                    content_preview=text,
                    created_at=T0 + timedelta(minutes=i),
                ),
            )
        memory.create_archival_entry(
            db, ArchivalEntry(id="arch1", agent_id="a1", content="The partner likes oat milk")
        )
        memory.create_archival_entry(
            db, ArchivalEntry(id="arch2", agent_id="a2", content="Entropy likes oat milk too")
        )
    return path


@asynccontextmanager
async def session(path: Path, *options: str) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "pattern_db.cli", "mcp", str(path), *options]
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        yield client


def serve(
    path: Path, *options: str
) -> Callable[[Callable[[ClientSession], Coroutine[Any, Any, None]]], None]:
    """Run the decorated coroutine against a fresh server subprocess."""

    def runner(body: Callable[[ClientSession], Coroutine[Any, Any, None]]) -> None:
        async def main() -> None:
            async with session(path, *options) as client:
                await body(client)

        asyncio.run(main())

    return runner


async def call(client: ClientSession, name: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(name, arguments)
    assert isinstance(result, CallToolResult)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def refused(client: ClientSession, name: str, **arguments: Any) -> str:
    result = await client.call_tool(name, arguments)
    assert isinstance(result, CallToolResult)
    assert result.is_error
    first = result.content[0]
    assert isinstance(first, TextContent)
    return first.text


def test_scoped_server_lists_and_runs_every_tool(constellation: Path) -> None:
    @serve(constellation, "--agent", "a1")
    async def _(client: ClientSession) -> None:
        listed = await client.list_tools()
        assert sorted(t.name for t in listed.tools) == ALL_TOOLS

        found = await call(client, "list_agents")
        assert [a["name"] for a in found["agents"]] == ["Entropy", "Pattern"]
        assert found["acting_as"] == "a1"

        recent = await call(client, "recent_messages", limit=2)
        assert [m["content"] for m in recent["messages"]] == ["I will remind you at 9:15", "Thanks"]
        assert [m["role"] for m in recent["messages"]] == ["assistant", "user"]

        blocks = await call(client, "list_blocks")
        assert [(b["owner"], b["label"], b["permission"]) for b in blocks["blocks"]] == [
            ("a1", "persona", "read_write"),
            ("a1", "rules", "read_only"),
            ("a2", "tasks", "read_only"),
            (CONSTELLATION_OWNER, "house", "read_only"),
        ]
        house = await call(client, "read_block", label="house", owner=CONSTELLATION_OWNER)
        assert house["text"] == "Quiet hours after 22:00."

        assert (await call(client, "read_block", label="persona"))["text"] == "I am Pattern."
        shared = await call(client, "read_block", label="tasks", owner="a2")
        assert shared["text"] == "Grant report due Friday."

        appended = await call(client, "append_block", label="persona", text=" I plan days.")
        assert appended["length"] == len("I am Pattern. I plan days.")
        await call(client, "replace_block", label="persona", old="plan", new="organise")
        assert (await call(client, "read_block", label="persona"))["text"] == (
            "I am Pattern. I organise days."
        )

        inserted = await call(client, "archival_insert", content="Dentist moved to Tuesday")
        assert inserted["agent_id"] == "a1"
        hits = await call(client, "archival_search", query="dentist tuesday")
        assert [h["id"] for h in hits["results"]] == [inserted["id"]]
        # a2's archival memory is not a1's to see.
        milk = await call(client, "archival_search", query="oat milk")
        assert [h["id"] for h in milk["results"]] == ["arch1"]

        everywhere = await call(client, "search", query="remind")
        assert sorted((h["content_type"], h["id"]) for h in everywhere["results"]) == [
            ("message", "m0"),
            ("message", "m1"),
        ]
        only_blocks = await call(
            client, "search", query="grant report", content_type="memory_block"
        )
        assert [(h["agent_id"], h["content"]) for h in only_blocks["results"]] == [
            ("a2", "Grant report due Friday.")
        ]


def test_denied_edits_and_foreign_agents_are_tool_errors(constellation: Path) -> None:
    @serve(constellation, "--agent", "a1")
    async def _(client: ClientSession) -> None:
        message = await refused(client, "replace_block", label="rules", old="Never", new="Always")
        assert "read_only" in message
        message = await refused(client, "append_block", label="tasks", owner="a2", text="!")
        assert "read_only" in message
        assert "has no access" in await refused(client, "read_block", label="diary", owner="a2")
        assert "acts for agent 'a1' only" in await refused(client, "recent_messages", agent_id="a2")
        assert "does not occur" in await refused(
            client, "replace_block", label="persona", old="absent", new="x"
        )
        # The server is still there, and nothing was changed.
        assert (await call(client, "read_block", label="rules"))["text"] == "Never skip lunch."


def test_read_only_server_has_no_write_tools_and_refuses_them(constellation: Path) -> None:
    @serve(constellation, "--agent", "a1", "--read-only")
    async def _(client: ClientSession) -> None:
        listed = await client.list_tools()
        assert sorted(t.name for t in listed.tools) == READ_TOOLS
        assert all(t.annotations and t.annotations.read_only_hint for t in listed.tools)
        await refused(client, "append_block", label="persona", text="x")
        await refused(client, "archival_insert", content="x")
        assert (await call(client, "read_block", label="persona"))["text"] == "I am Pattern."

    with ConstellationDb.open(constellation) as db:
        assert memory.count_archival_entries(db, "a1") == 1


def test_memory_blocks_are_resources(constellation: Path) -> None:
    @serve(constellation, "--agent", "a1")
    async def _(client: ClientSession) -> None:
        listed = await client.list_resources()
        assert sorted(str(r.uri) for r in listed.resources) == [
            f"memory://{CONSTELLATION_OWNER}/house",
            "memory://a1/persona",
            "memory://a1/rules",
            "memory://a2/tasks",
        ]
        read = await client.read_resource("memory://a2/tasks")
        content = read.contents[0]
        assert isinstance(content, TextResourceContents)
        assert content.text == "Grant report due Friday."
        templates = await client.list_resource_templates()
        assert [t.uri_template for t in templates.resource_templates] == [
            "memory://{owner}/{label}"
        ]
        with pytest.raises(MCPError, match="has no access"):
            await client.read_resource("memory://a2/diary")


def test_unscoped_server_needs_the_agent_in_each_call(constellation: Path) -> None:
    @serve(constellation)
    async def _(client: ClientSession) -> None:
        assert "pass agent_id" in await refused(client, "list_blocks")
        blocks = await call(client, "list_blocks", agent_id="a2")
        assert [b["label"] for b in blocks["blocks"]] == ["diary", "tasks", "house"]
        # An edit is gated as the agent named.
        assert "read_only" in await refused(
            client, "append_block", label="tasks", owner="a2", agent_id="a1", text="!"
        )
        everyone = await call(client, "search", query="oat milk")
        assert sorted(h["id"] for h in everyone["results"]) == ["arch1", "arch2"]


def test_mcp_command_reports_a_missing_file_or_agent(tmp_path: Path, constellation: Path) -> None:
    code, output = run("mcp", str(tmp_path / "missing.db"))
    assert code == 1
    assert output.strip() == (
        f"error: no database at {tmp_path / 'missing.db'}; create one with "
        f"`pattern-db init {tmp_path / 'missing.db'}`"
    )
    code, output = run("mcp", str(constellation), "--agent", "nobody")
    assert code == 1
    assert output.strip() == "error: agent not found: nobody"
