"""The `users` and `constellations` commands on both backends: output, errors, passwords."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pattern_db.cli import global_cmds, main
from tests.global_support import NODE, Target, g_fixture, target_fixture  # noqa: F401

SCRIPT = Path(sys.executable).parent / "pattern-db"


def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the console entry point in-process; return (exit code, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = 0
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin = saved
    return code, stdout.getvalue(), stderr.getvalue()


class Cli:
    """The CLI pointed at one backend (`--data-dir`, plus `--url` for PostgreSQL)."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        return run(*args, *self.target.cli_args(), stdin=stdin)

    def json(self, *args: str, stdin: str = "") -> Any:
        code, stdout, stderr = self(*args, "--json", stdin=stdin)
        assert code == 0, stderr
        return json.loads(stdout)

    def fails(self, *args: str, stdin: str = "") -> str:
        code, stdout, stderr = self(*args, stdin=stdin)
        assert code == 1, (stdout, stderr)
        assert stdout == ""
        assert stderr.count("\n") == 1, stderr
        assert "Traceback" not in stderr
        return stderr.strip()


@pytest.fixture
def cli(target: Target) -> Cli:
    return Cli(target)


def add_user(cli: Cli, name: str, password: str = "pw") -> dict[str, Any]:
    added: dict[str, Any] = cli.json("users", "add", name, "--password-stdin", stdin=password)
    return added


# -- help and usage ---------------------------------------------------------------------------


def test_every_command_has_help_with_an_example() -> None:
    groups = {"users": global_cmds.users, "constellations": global_cmds.constellations}
    expected = {
        "users": ["add", "passwd", "list", "remove"],
        "constellations": ["create", "list", "show", "move", "remove"],
    }
    for group, sub_app in groups.items():
        names = [c.name for c in sub_app.registered_commands]
        assert names == expected[group]
        for command in sub_app.registered_commands:
            assert command.callback is not None
            assert "Example: pattern-db " in (command.callback.__doc__ or ""), command.name
            code, stdout, _ = run(group, str(command.name), "--help")
            assert code == 0
            assert "Example: pattern-db" in stdout
            assert "--data-dir" in stdout
            assert "--json" in stdout
    code, stdout, _ = run("--help")
    assert code == 0
    assert "users" in stdout
    assert "constellations" in stdout


def test_bad_usage_exits_2(tmp_path: Path) -> None:
    assert run("users", "list")[0] == 2  # no --data-dir
    assert run("users", "frobnicate", "--data-dir", str(tmp_path))[0] == 2
    # A password is never an argument: there is no such option.
    assert run("users", "add", "alice", "--password", "pw", "-d", str(tmp_path))[0] == 2
    flags = ("--password-stdin", "--no-password")
    code, _, stderr = run("users", "add", "alice", *flags, "-d", str(tmp_path))
    assert code == 2
    assert "exclude each other" in stderr
    assert not tmp_path.joinpath("global.db").exists()


def test_the_data_dir_can_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATTERN_DB_DATA_DIR", str(tmp_path / "data"))
    code, _, stderr = run("users", "add", "alice", "--no-password")
    assert code == 0, stderr
    assert (tmp_path / "data" / "global.db").is_file()


# -- users ------------------------------------------------------------------------------------


def test_users_add_list_passwd_remove(cli: Cli, g: Any) -> None:
    alice = add_user(cli, "alice", "first secret\n")
    assert alice["username"] == "alice"
    assert alice["has_password"] is True
    assert "first secret" not in json.dumps(alice)
    bob = cli.json("users", "add", "bob", "--email", "bob@example.org", "--no-password")
    assert (bob["email"], bob["has_password"]) == ("bob@example.org", False)
    listed = cli.json("users", "list")
    assert [(u["username"], u["has_password"]) for u in listed] == [("alice", True), ("bob", False)]
    assert g.verify_password("alice", "first secret") is True

    changed = cli.json("users", "passwd", "alice", "--password-stdin", stdin="second secret")
    assert changed["has_password"] is True
    assert g.verify_password("alice", "first secret") is False
    assert g.verify_password("alice", "second secret") is True
    cleared = cli.json("users", "passwd", "alice", "--no-password")
    assert cleared["has_password"] is False
    assert g.verify_password("alice", "second secret") is False

    removed = cli.json("users", "remove", bob["id"])  # by id works too
    assert removed["username"] == "bob"
    assert [u["username"] for u in cli.json("users", "list")] == ["alice"]


def test_users_human_output(cli: Cli, g: Any) -> None:
    assert cli("users", "list")[0:2] == (0, "no users\n")  # `g` created the database
    code, stdout, _ = cli("users", "add", "alice", "--password-stdin", stdin="pw")
    assert code == 0
    assert stdout.startswith("added user alice (user_")
    code, stdout, _ = cli("users", "list")
    assert code == 0
    assert "alice" in stdout
    assert "password" in stdout
    code, stdout, _ = cli("users", "passwd", "alice", "--password-stdin", stdin="pw2")
    assert stdout == "password of alice set\n"
    code, stdout, _ = cli("users", "remove", "alice")
    assert stdout.startswith("removed user alice (user_")


def test_users_errors_are_one_line(cli: Cli) -> None:
    add_user(cli, "alice")
    assert cli.fails("users", "add", "ALICE", "--no-password").startswith(
        "error: user already exists: ALICE"
    )
    assert cli.fails("users", "add", "bad name", "--no-password").startswith(
        "error: invalid username 'bad name'"
    )
    assert cli.fails("users", "add", "carol", "--password-stdin", stdin="\n") == (
        "error: the password is empty; choose a non-empty password (or set none)"
    )
    not_found = "error: user not found: nobody"
    assert cli.fails("users", "passwd", "nobody", "--no-password") == not_found
    assert cli.fails("users", "remove", "nobody") == "error: user not found: nobody"


def test_without_a_terminal_the_password_must_come_from_stdin(cli: Cli) -> None:
    message = cli.fails("users", "add", "alice")
    assert message.startswith("error: no terminal to ask for the password on")
    assert "--password-stdin" in message


def test_reading_commands_do_not_create_a_database(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, _, stderr = run("users", "list", "--data-dir", str(data))
    assert code == 1
    assert stderr.startswith(f"error: no global database at {data / 'global.db'}")
    assert not data.exists()


# -- constellations ---------------------------------------------------------------------------


def test_constellations_create_list_show_move_remove(cli: Cli, target: Target) -> None:
    alice, bob = add_user(cli, "alice"), add_user(cli, "bob")
    home = cli.json("constellations", "create", "alice", "home", "--node", NODE)
    assert (home["name"], home["owner_id"], home["node"]) == ("home", alice["id"], NODE)
    assert home["file"] == str(target.data_dir / home["path"])
    assert Path(home["file"]).is_file()
    work = cli.json("constellations", "create", "bob", "work", "--node", NODE)

    listed = cli.json("constellations", "list")
    assert [(c["name"], c["owner"]) for c in listed] == [("home", "alice"), ("work", "bob")]
    assert [c["id"] for c in cli.json("constellations", "list", "--owner", "bob")] == [work["id"]]
    assert bob["id"] == work["owner_id"]

    shown = cli.json("constellations", "show", home["id"], "--node", NODE)
    assert shown["owner"] == "alice"
    assert shown["file"] == str(Path(home["file"]).resolve())
    assert shown["file_bytes"] > 0
    assert shown["last_accessed_at"] is None

    moved = cli.json("constellations", "move", home["id"], "node-b")
    assert moved["node"] == "node-b"
    elsewhere = cli.json("constellations", "show", home["id"], "--node", NODE)
    assert (elsewhere["node"], elsewhere["file"]) == ("node-b", None)
    message = cli.fails("constellations", "remove", home["id"], "--delete-files", "--node", NODE)
    assert message.startswith(f"error: constellation {home['id']} is held by node 'node-b'")

    kept = cli.json("constellations", "remove", home["id"])
    assert kept["files_deleted"] is False
    assert Path(home["file"]).is_file()
    gone = cli.json("constellations", "remove", work["id"], "--delete-files", "--node", NODE)
    assert gone["files_deleted"] is True
    assert not Path(work["file"]).exists()
    assert cli.json("constellations", "list") == []


def test_constellations_human_output(cli: Cli) -> None:
    add_user(cli, "alice")
    assert cli("constellations", "list")[0:2] == (0, "no constellations\n")
    code, stdout, _ = cli("constellations", "create", "alice", "home", "--node", NODE)
    assert code == 0
    assert stdout.startswith("created constellation home (const_")
    [entry] = cli.json("constellations", "list")
    code, stdout, _ = cli("constellations", "list")
    assert code == 0
    assert "alice" in stdout
    assert "home" in stdout
    assert "const_" in stdout
    code, stdout, _ = cli("constellations", "show", entry["id"], "--node", NODE)
    assert code == 0
    assert "file_bytes" in stdout
    code, stdout, _ = cli("constellations", "move", entry["id"], "node-b")
    assert stdout == f"constellation home ({entry['id']}) is now on node node-b\n"
    code, stdout, _ = cli("constellations", "remove", entry["id"])
    assert stdout == (
        f"removed constellation home ({entry['id']}); kept its file {entry['path']}\n"
    )


def test_constellations_errors_are_one_line(cli: Cli, tmp_path: Path) -> None:
    add_user(cli, "alice")
    cli.json("constellations", "create", "alice", "home", "--node", NODE)
    assert cli.fails("constellations", "create", "alice", "home", "--node", NODE).startswith(
        "error: constellation already exists: home"
    )
    assert cli.fails("constellations", "create", "nobody", "x") == "error: user not found: nobody"
    outside = str(tmp_path / "elsewhere.db")
    assert "is outside the data directory" in cli.fails(
        "constellations", "create", "alice", "x", "--path", outside
    )
    for command in ("show", "remove"):
        assert cli.fails("constellations", command, "const_missing") == (
            "error: constellation not found: const_missing"
        )
    assert cli.fails("constellations", "move", "const_missing", "node-b") == (
        "error: constellation not found: const_missing"
    )
    assert cli.fails("constellations", "list", "--owner", "nobody") == (
        "error: user not found: nobody"
    )


# -- the real console script ------------------------------------------------------------------


def _talk_through_a_terminal(argv: list[str], answers: dict[bytes, bytes]) -> tuple[int, bytes]:
    """Run argv on a new pseudo-terminal, answering prompts; return (exit code, all output)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: argv on the terminal, never back into pytest
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    output = b""
    pending = dict(answers)
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            if not ready:
                break  # a hung child fails the exit-code assertion below
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            for prompt in list(pending):
                # The prompt's last character comes from getpass after it turned echo off (and
                # flushed earlier input): answering on the full prompt is never too early.
                if output.endswith(prompt):
                    os.write(fd, pending.pop(prompt))
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


def test_the_console_script_asks_for_the_password_without_echo(target: Target) -> None:
    secret = b"tty-secret-8c1d"
    argv = [str(SCRIPT), "users", "add", "alice", *target.cli_args()]
    code, output = _talk_through_a_terminal(
        argv, {b"Password: ": secret + b"\n", b"Repeat for confirmation: ": secret + b"\n"}
    )
    assert code == 0, output
    assert b"Password:" in output
    assert b"Repeat for confirmation:" in output
    assert b"added user alice (user_" in output
    assert secret not in output  # not echoed
    with target.open() as g:
        assert g.verify_password("alice", secret.decode()) is True


def test_the_console_script_with_password_stdin_and_json(target: Target) -> None:
    env = {**os.environ, "PATTERN_DB_DATA_DIR": str(target.data_dir)}
    extra = ["--url", target.where] if target.kind == "postgresql" else []
    done = subprocess.run(
        [str(SCRIPT), "users", "add", "alice", "--password-stdin", "--json", *extra],
        input="piped secret\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["username"] == "alice"
    listed = subprocess.run(
        [str(SCRIPT), "users", "list", "--json", *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert [u["username"] for u in json.loads(listed.stdout)] == ["alice"]
    missing = subprocess.run(
        [str(SCRIPT), "constellations", "show", "const_missing", *extra],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == "error: constellation not found: const_missing\n"
    with target.open() as g:
        assert g.verify_password("alice", "piped secret") is True
