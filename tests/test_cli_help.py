"""Every command, group and subcommand of `pattern-db` has help text with a runnable example."""

from __future__ import annotations

import contextlib
import io
import re
from typing import Any

import pytest
import typer.main

from pattern_db.cli import app, main

# typer bundles its own click: commands are told apart by what they have, not by click's classes.
Command = Any

ROOT = typer.main.get_command(app)


def _walk(command: Command, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Command]]:
    found = [(path, command)]
    if _is_group(command):
        for name, sub in sorted(command.commands.items()):
            found += _walk(sub, (*path, name))
    return found


def _is_group(command: Command) -> bool:
    return hasattr(command, "commands")


COMMANDS = _walk(ROOT, ())


def help_of(path: tuple[str, ...]) -> str:
    """Return what `pattern-db ... --help` prints (through the real entry point)."""
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), pytest.raises(SystemExit) as exit_info:
        main([*path, "--help"])
    assert exit_info.value.code == 0
    return stdout.getvalue()


def test_the_walk_finds_every_command_of_api_md() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    api = [
        "init",
        "migrate",
        "status",
        "stats",
        "backup",
        "restore",
        "vacuum",
        "checkpoint",
        "verify",
        "search",
        "index",
        "mcp",
        "demo",
    ]
    nested = [
        "import car",
        "import letta",
        "import rust-db",
        "export car",
        "users add",
        "users passwd",
        "users list",
        "users remove",
        "constellations create",
        "constellations list",
        "constellations show",
        "constellations move",
        "constellations remove",
    ]
    assert set(api) | set(nested) | {"", "import", "export", "users", "constellations"} <= names


@pytest.mark.parametrize(
    "path", [path for path, _ in COMMANDS], ids=[" ".join(p) or "pattern-db" for p, _ in COMMANDS]
)
def test_help_has_an_example_of_this_command(path: tuple[str, ...]) -> None:
    text = help_of(path)
    examples = re.findall(r"Example:\s*(pattern-db\b[^\n]*)", text)
    assert examples, f"`pattern-db {' '.join(path)} --help` shows no 'Example: pattern-db ...'"
    # The example runs this command (a group's example may run one of its subcommands).
    prefix = " ".join(("pattern-db", *path))
    assert any(e.startswith(prefix) for e in examples), examples
    summary = text.split("Example:")[0]
    assert len(summary.split()) >= 4, "help text before the example is missing"


@pytest.mark.parametrize(
    "path",
    [path for path, cmd in COMMANDS if not _is_group(cmd)],
    ids=[" ".join(p) for p, cmd in COMMANDS if not _is_group(cmd)],
)
def test_every_option_and_argument_is_described(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    for param in command.params:
        text = getattr(param, "help", None)
        assert text, f"{' '.join(path)}: {param.name} has no help"


def test_shell_completion_is_offered() -> None:
    text = help_of(())
    assert "--install-completion" in text
    assert "--show-completion" in text


# Commands that print no data of their own: the MCP server speaks its protocol on stdout.
NO_DATA = {("mcp",)}


def test_every_command_that_prints_data_takes_json() -> None:
    leaves = [(path, cmd) for path, cmd in COMMANDS if path and not _is_group(cmd)]
    missing = [
        " ".join(path)
        for path, cmd in leaves
        if path not in NO_DATA and "--json" not in {o for p in cmd.params for o in p.opts}
    ]
    assert missing == []


def test_a_bug_is_one_line_unless_debugging(monkeypatch: pytest.MonkeyPatch) -> None:
    @app.command("crash-for-test", hidden=True)
    def crash() -> None:
        """Fail as a bug would.

        Example: pattern-db crash-for-test
        """
        raise RuntimeError("boom")

    try:
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as exit_info:
            main(["crash-for-test"])
        assert exit_info.value.code == 1
        assert stderr.getvalue().count("\n") == 1
        assert stderr.getvalue().startswith("error: internal error (RuntimeError: boom); ")
        monkeypatch.setenv("PATTERN_DB_DEBUG", "1")
        with pytest.raises(RuntimeError, match="boom"):
            main(["crash-for-test"])
    finally:
        app.registered_commands.remove(
            next(c for c in app.registered_commands if c.name == "crash-for-test")
        )
