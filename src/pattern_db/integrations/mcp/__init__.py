"""MCP integration (extra `mcp`): a constellation's memory as tools and resources over stdio.

Example: `pattern-db mcp agents.db --agent a1`, or in Python
`build_server(db, agent_id="a1").run("stdio")`.
"""

from pattern_db.integrations.mcp._memory import MemoryTools
from pattern_db.integrations.mcp._server import WRITE_TOOLS, build_server

__all__ = ["WRITE_TOOLS", "MemoryTools", "build_server"]
