"""LangGraph integration (extra `langgraph`): `PatternStore`, a `BaseStore` over a constellation.

Example: `with PatternStore.from_conn_string("agents.db") as store: graph.compile(store=store)`.
"""

from pattern_db.integrations.langgraph._store import PatternStore, QueryMode

__all__ = ["PatternStore", "QueryMode"]
