"""Commands over the global database: `users` (accounts) and `constellations` (the registry).

Every command takes `--data-dir` (or PATTERN_DB_DATA_DIR): where global.db, the token key and
this node's constellation files live. With `--url postgresql://...` (or PATTERN_DB_URL) the
database is on PostgreSQL instead and `--data-dir` holds only this node's files and key.
Passwords are read from a hidden prompt or, with `--password-stdin`, from the first line of
standard input; never from an argument, which other users could see in the process list.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from pattern_db.cli._app import JsonFlag, app, human_size, out, print_json
from pattern_db.errors import DbError, NotFound

if TYPE_CHECKING:
    from pattern_db.global_db import Constellation, GlobalDb, User

users = typer.Typer(
    help="Accounts of the global database: add, passwd, list, remove.\n\n"
    "Example: pattern-db users list --data-dir data",
    no_args_is_help=True,
    rich_markup_mode=None,
)
constellations = typer.Typer(
    help="The constellation registry: create, list, show, move, remove.\n\n"
    "Example: pattern-db constellations list --owner alice --data-dir data",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(users, name="users")
app.add_typer(constellations, name="constellations")

DataDir = Annotated[
    Path,
    typer.Option(
        "--data-dir",
        "-d",
        envvar="PATTERN_DB_DATA_DIR",
        help="Data directory: global.db, the token key and this node's constellation files.",
    ),
]
Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="PATTERN_DB_URL",
        help="PostgreSQL URL of the global database (server mode); default: DATA_DIR/global.db.",
    ),
]
Node = Annotated[
    str | None,
    typer.Option(
        "--node", envvar="PATTERN_DB_NODE", help="This machine's node name (default: hostname)."
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
]
NoPassword = Annotated[
    bool, typer.Option("--no-password", help="No password (sign-in through an identity only).")
]
UserArg = Annotated[str, typer.Argument(help="Username (or user id).")]
ConstellationArg = Annotated[str, typer.Argument(help="Constellation id.")]


def open_global(
    data_dir: Path, url: str | None, *, node: str | None = None, create: bool = False
) -> GlobalDb:
    """Open the global database the options name (SQLite in DATA_DIR, or PostgreSQL at URL)."""
    from pattern_db.global_db import GlobalDb

    if url:
        return GlobalDb.open(url, data_dir=data_dir, node=node, create=create)
    return GlobalDb.open(data_dir, node=node, create=create)


def find_user(g: GlobalDb, key: str) -> User:
    """Return the user with username (or id) `key`.

    Raises:
        NotFound: no such user.
    """
    user = g.get_user_by_username(key) or g.get_user(key)
    if user is None:
        raise NotFound("user", key)
    return user


def read_password(from_stdin: bool, *, confirm: bool = True) -> str:
    """Return a password from stdin's first line or a hidden prompt (asked twice).

    Raises:
        DbError: no terminal to prompt on and no `--password-stdin`.
    """
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        raise DbError(
            "no terminal to ask for the password on; pipe it in with --password-stdin "
            "(or create the user with --no-password)"
        )
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _check_password_flags(from_stdin: bool, no_password: bool) -> None:
    if from_stdin and no_password:
        raise typer.BadParameter("--password-stdin and --no-password exclude each other")


def say(message: str) -> None:
    """Print one line of plain text (no markup, not wrapped)."""
    out.print(message, markup=False, soft_wrap=True)


def _ts(value: Any) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


# -- users ------------------------------------------------------------------------------------


@users.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The new username.")],
    data_dir: DataDir,
    url: Url = None,
    email: Annotated[str | None, typer.Option("--email", help="Email address.")] = None,
    password_stdin: PasswordStdin = False,
    no_password: NoPassword = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a user; the password is asked for twice without echo (or read with --password-stdin).

    Example: pattern-db users add alice --email alice@example.org --data-dir data
    """
    _check_password_flags(password_stdin, no_password)
    password = None if no_password else read_password(password_stdin)
    with open_global(data_dir, url, create=True) as g:
        user = g.create_user(username, email=email, password=password)
    if as_json:
        print_json(user)
    else:
        say(f"added user {user.username} ({user.id})")


@users.command("passwd")
def users_passwd(
    username: UserArg,
    data_dir: DataDir,
    url: Url = None,
    password_stdin: PasswordStdin = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="Remove the password instead.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Set a user's password (hidden prompt, or --password-stdin), or remove it.

    Example: pattern-db users passwd alice --password-stdin -d data < password.txt
    """
    _check_password_flags(password_stdin, no_password)
    with open_global(data_dir, url) as g:
        user = find_user(g, username)
        password = None if no_password else read_password(password_stdin)
        updated = g.set_password(user.id, password)
    if as_json:
        print_json(updated)
    else:
        state = "set" if updated.has_password else "removed"
        say(f"password of {updated.username} {state}")


@users.command("list")
def users_list(data_dir: DataDir, url: Url = None, as_json: JsonFlag = False) -> None:
    """List the users.

    Example: pattern-db users list --data-dir data --json
    """
    with open_global(data_dir, url) as g:
        found = g.list_users()
    if as_json:
        print_json(found)
        return
    if not found:
        say("no users")
        return
    table = Table("username", "email", "password", "created", title="users")
    table.add_column("id", overflow="fold")
    for user in found:
        table.add_row(
            user.username,
            user.email or "",
            "yes" if user.has_password else "no",
            _ts(user.created_at),
            user.id,
        )
    out.print(table)


@users.command("remove")
def users_remove(
    username: UserArg, data_dir: DataDir, url: Url = None, as_json: JsonFlag = False
) -> None:
    """Remove a user and their identities (refused while they own constellations).

    Example: pattern-db users remove alice --data-dir data
    """
    with open_global(data_dir, url) as g:
        removed = g.delete_user(find_user(g, username).id)
    if as_json:
        print_json(removed)
    else:
        say(f"removed user {removed.username} ({removed.id})")


# -- constellations ---------------------------------------------------------------------------


@constellations.command("create")
def constellations_create(
    owner: Annotated[str, typer.Argument(help="Owner's username (or user id).")],
    name: Annotated[str, typer.Argument(help="Name, unique among the owner's constellations.")],
    data_dir: DataDir,
    url: Url = None,
    node: Node = None,
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Adopt this constellation file (inside the data directory)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register a constellation and create its database file on this node.

    Example: pattern-db constellations create alice home --data-dir data
    """
    with open_global(data_dir, url, node=node, create=True) as g:
        entry = g.create_constellation(find_user(g, owner).id, name, path=path)
        file_path = g.data_dir / entry.path
    if as_json:
        print_json({**_entry_json(entry), "file": str(file_path)})
    else:
        say(f"created constellation {entry.name} ({entry.id}) at {file_path}")


@constellations.command("list")
def constellations_list(
    data_dir: DataDir,
    url: Url = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only this user's (username or id).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List registered constellations, oldest first.

    Example: pattern-db constellations list --owner alice --data-dir data
    """
    with open_global(data_dir, url) as g:
        owner_id = None if owner is None else find_user(g, owner).id
        entries = g.list_constellations(owner_id)
        names = {user.id: user.username for user in g.list_users()}
    if as_json:
        print_json([{**_entry_json(e), "owner": names.get(e.owner_id)} for e in entries])
        return
    if not entries:
        say("no constellations")
        return
    table = Table(title="constellations")
    table.add_column("id", overflow="fold")
    for column in ("owner", "name", "node", "last accessed"):
        table.add_column(column)
    for e in entries:
        table.add_row(
            e.id, names.get(e.owner_id, e.owner_id), e.name, e.node, _ts(e.last_accessed_at)
        )
    out.print(table)


@constellations.command("show")
def constellations_show(
    constellation_id: ConstellationArg,
    data_dir: DataDir,
    url: Url = None,
    node: Node = None,
    as_json: JsonFlag = False,
) -> None:
    """Show one registry entry, and its file when this node holds it.

    Example: pattern-db constellations show const_0193... --data-dir data
    """
    with open_global(data_dir, url, node=node) as g:
        here = g.node
        entry = g.get_constellation(constellation_id)
        if entry is None:
            raise NotFound("constellation", constellation_id)
        owner = g.get_user(entry.owner_id)
        info: dict[str, Any] = {**_entry_json(entry), "owner": owner.username if owner else None}
        if entry.node == here:
            file_path = g.constellation_path(entry.id)
            exists = file_path.is_file()
            info["file"] = str(file_path)
            info["file_bytes"] = file_path.stat().st_size if exists else None
        else:
            info["file"] = None
            info["file_bytes"] = None
    if as_json:
        print_json(info)
        return
    rows = {key: ("" if value is None else value) for key, value in info.items()}
    if info["file_bytes"] is not None:
        rows["file_bytes"] = human_size(info["file_bytes"])
    elif entry.node == here:
        rows["file"] = f"{info['file']} (missing)"
    else:
        rows["file"] = f"on node {entry.node}"
    table = Table(title=f"constellation {entry.name}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows.items():
        table.add_row(key, str(value))
    out.print(table)


@constellations.command("move")
def constellations_move(
    constellation_id: ConstellationArg,
    to_node: Annotated[str, typer.Argument(help="The node that holds the file from now on.")],
    data_dir: DataDir,
    url: Url = None,
    as_json: JsonFlag = False,
) -> None:
    """Re-home a registry entry on another node (copy its file there first).

    Example: pattern-db constellations move const_0193... worker-2 --url "$PG_URL" -d data
    """
    with open_global(data_dir, url) as g:
        entry = g.move_constellation(constellation_id, to_node)
    if as_json:
        print_json(_entry_json(entry))
    else:
        say(f"constellation {entry.name} ({entry.id}) is now on node {entry.node}")


@constellations.command("remove")
def constellations_remove(
    constellation_id: ConstellationArg,
    data_dir: DataDir,
    url: Url = None,
    node: Node = None,
    delete_files: Annotated[
        bool, typer.Option("--delete-files", help="Also delete its files (on this node only).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove a registry entry; its files stay unless --delete-files.

    Example: pattern-db constellations remove const_0193... --delete-files --data-dir data
    """
    with open_global(data_dir, url, node=node) as g:
        entry = g.remove_constellation(constellation_id, delete_files=delete_files)
    if as_json:
        print_json({**_entry_json(entry), "files_deleted": delete_files})
    else:
        kept = "deleted its files" if delete_files else f"kept its file {entry.path}"
        say(f"removed constellation {entry.name} ({entry.id}); {kept}")


def _entry_json(entry: Constellation) -> dict[str, Any]:
    import msgspec

    result: dict[str, Any] = msgspec.to_builtins(entry)
    return result
