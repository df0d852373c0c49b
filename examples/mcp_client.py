"""Talk to `pattern-db mcp` the way Claude Desktop or Cursor would: over stdio, with the MCP SDK.

Run: `.venv/bin/python examples/mcp_client.py [DB]` (needs the `mcp` extra). It writes the demo
constellation, starts the server as the demo's orchestrator agent, lists the tools, searches,
reads and appends to a memory block, and shows that a denied edit comes back as a tool error.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mcp import ClientSession, StdioServerParameters, stdio_client

from pattern_db import ConstellationDb
from pattern_db.demo import create_demo
from pattern_db.memory_docs import MemoryDocs
from pattern_db.models.memory import MemoryPermission
from pattern_db.queries import agent


async def session(path: Path, agent_id: str) -> None:
    """Start the server as `agent_id`, call each tool once and print what comes back."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "pattern_db.cli", "mcp", str(path), "--agent", agent_id]
    )
    async with stdio_client(server) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        tools = await client.list_tools()
        print("tools:", ", ".join(sorted(t.name for t in tools.tools)))
        for name, args in [
            ("search", {"query": "remind"}),
            ("list_blocks", {}),
            ("append_block", {"label": "persona", "text": " I keep notes short."}),
            ("read_block", {"label": "persona"}),
            ("archival_insert", {"content": "The partner's dentist is on Tuesday"}),
            ("archival_search", {"query": "dentist"}),
            ("replace_block", {"label": "rules", "old": "Never", "new": "Always"}),
        ]:
            result = await client.call_tool(name, args)
            shown = result.content[0] if result.is_error else result.structured_content
            shown = getattr(shown, "text", shown)
            print(f"{'ERROR ' if result.is_error else ''}{name}: {shown}")
        resources = await client.list_resources()
        print("resources:", [str(r.uri) for r in resources.resources])


def main() -> None:
    """Write the demo constellation at argv[1], add a read-only block, run the session."""
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "demo-data/mcp.db")
    create_demo(path, overwrite=True)
    with ConstellationDb.open(path) as db:
        pattern = agent.get_agent_by_name(db, "Pattern")
        assert pattern is not None
        MemoryDocs(db).create_block(
            pattern.id, "rules", "Never skip lunch.", permission=MemoryPermission.READ_ONLY
        )
    asyncio.run(session(path, pattern.id))


if __name__ == "__main__":
    main()
