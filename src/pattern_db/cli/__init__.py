"""The `pattern-db` command line: operate constellation databases.

`_app` holds the typer app, the shared options and `main()`; each other module is one group of
commands and registers itself on import.
"""

from pattern_db.cli import (
    database,
    demo,
    global_cmds,
    importers,
    index,
    maintenance,
    mcp,
    search,
    verify,
)
from pattern_db.cli._app import app, main

__all__ = [
    "app",
    "database",
    "demo",
    "global_cmds",
    "importers",
    "index",
    "main",
    "maintenance",
    "mcp",
    "search",
    "verify",
]
