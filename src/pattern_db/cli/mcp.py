"""The `mcp` command: serve a constellation's memory to a model over MCP (stdio)."""

from __future__ import annotations

from typing import Annotated

import typer

from pattern_db.cli._app import DbPath, app, fail
from pattern_db.cli.database import open_existing, require_file


@app.command()
def mcp(
    path: DbPath,
    agent: Annotated[
        str | None,
        typer.Option("--agent", help="Act as this agent: every tool sees only what it may see."),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="Expose no tool that writes.")
    ] = False,
    embed: Annotated[
        str | None,
        typer.Option("--embed", help="'local': vector + hybrid search with the bundled model."),
    ] = None,
) -> None:
    """Serve PATH's memory over MCP on stdin/stdout (for Claude Desktop, Claude Code, Cursor).

    Example: pattern-db mcp data/constellation.db --agent pattern --read-only
    """
    # A wrong path fails at once, before the (slow) import of the MCP SDK.
    require_file(path)
    try:
        from pattern_db.integrations.mcp import build_server
    except ImportError as exc:
        raise fail(
            f"the MCP server needs the extra: pip install 'pattern-db[mcp]' ({exc})"
        ) from exc
    embedder = None
    if embed is not None:
        if embed != "local":
            raise fail(f"--embed takes 'local', got {embed!r}")
        try:
            from pattern_db.embed import LocalEmbedder  # type: ignore[import-not-found,unused-ignore]
        except ImportError as exc:
            raise fail(
                f"--embed local needs the extra: pip install 'pattern-db[embed]' ({exc})"
            ) from exc
        embedder = LocalEmbedder()
    with open_existing(path) as db:
        build_server(db, agent_id=agent, read_only=read_only, embedder=embedder).run("stdio")
