"""The data directory: where the global database, the key and constellation files live.

Layout: `data_dir/global.db` (SQLite mode), `data_dir/global.key` (token key) and
`data_dir/constellations/<id>/pattern.db`. Registry paths are stored relative to the data
directory so that each node resolves them under its own; a path that leaves the directory (an
absolute path elsewhere, a `..` component, or a symlink pointing out) is refused both when it is
registered and every time it is opened. Everything created here is private (0700 directories,
0600 files).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from pattern_db.errors import InvalidData

__all__ = [
    "CONSTELLATIONS_DIR",
    "GLOBAL_DB_NAME",
    "KEY_NAME",
    "create_private_file",
    "default_constellation_path",
    "make_private_dir",
    "relative_registry_path",
    "resolve_registry_path",
]

GLOBAL_DB_NAME = "global.db"
KEY_NAME = "global.key"
CONSTELLATIONS_DIR = "constellations"
CONSTELLATION_FILE = "pattern.db"


def default_constellation_path(constellation_id: str) -> str:
    """Return the registry path of a new constellation: `constellations/<id>/pattern.db`."""
    return f"{CONSTELLATIONS_DIR}/{constellation_id}/{CONSTELLATION_FILE}"


def make_private_dir(path: Path) -> None:
    """Create `path` and missing parents as 0700 directories (existing ones are left alone)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue  # another process made it first
        # mkdir's mode is filtered by the umask, which may be looser or stricter than 0700.
        os.chmod(directory, 0o700)


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file at `path` unless one exists; return True if this call made it.

    SQLite gives the `-wal` and `-shm` files the mode of the database file, so creating the
    database file first keeps all three private.
    """
    make_private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def relative_registry_path(data_dir: Path, path: str | os.PathLike[str]) -> str:
    """Return `path` as a registry path (relative to `data_dir`, `/`-separated).

    Example: `relative_registry_path(Path("/srv/data"), "/srv/data/imports/a.db")` ->
    "imports/a.db".

    Raises:
        InvalidData: the path is empty, has a `..` component, or is not inside `data_dir`
            (also after following symlinks).
    """
    text = os.fspath(path)
    if not text.strip():
        raise InvalidData("the constellation path is empty")
    candidate = Path(text)
    if ".." in candidate.parts:
        raise InvalidData(
            f"the constellation path {text!r} contains '..'; give a path inside the data "
            f"directory {data_dir} without '..'"
        )
    if candidate.is_absolute():
        # The data directory as given or with its own symlinks resolved (/tmp -> /private/tmp).
        given, real = data_dir.absolute(), data_dir.resolve()
        roots = [root for root in (given, real) if candidate.is_relative_to(root)]
        if not roots:
            raise InvalidData(
                f"the constellation path {text!r} is outside the data directory "
                f"{data_dir.absolute()}; move the file into it first"
            )
        candidate = candidate.relative_to(roots[0])
    relative = PurePosixPath(*candidate.parts).as_posix()
    if relative in ("", "."):
        raise InvalidData(f"the constellation path {text!r} names the data directory itself")
    resolve_registry_path(data_dir, relative)
    return relative


def resolve_registry_path(data_dir: Path, relative: str) -> Path:
    """Return the real location of a registry path, confined to `data_dir`.

    Raises:
        InvalidData: the path is absolute, has a `..` component, or leads out of the data
            directory through a symlink.
    """
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise InvalidData(
            f"the registry path {relative!r} is not a relative path inside the data directory; "
            "fix the entry with `pattern-db constellations remove` and register it again"
        )
    root = data_dir.resolve()
    real = root.joinpath(*parts).resolve()
    if not real.is_relative_to(root):
        raise InvalidData(
            f"the registry path {relative!r} leads to {real}, outside the data directory {root} "
            "(through a symlink); replace the symlink with the real file or directory"
        )
    return real
