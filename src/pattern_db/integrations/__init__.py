"""Integrations with agent frameworks (optional extras; nothing here is imported by the core).

* `pattern_db.integrations.langgraph.PatternStore`: a LangGraph `BaseStore` over a constellation
  (extra `langgraph`).
* `pattern_db.integrations.mcp.build_server`: an MCP server exposing a constellation's memory as
  tools and resources, run by `pattern-db mcp DB` (extra `mcp`).
"""
