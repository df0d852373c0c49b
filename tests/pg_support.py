"""A throwaway PostgreSQL server for the tests: initdb + pg_ctl on a Unix socket in a temp dir.

The server runs once per test session, listens on no TCP port (only a socket in its own
directory, so several sessions on one machine never collide), trusts local connections and is
stopped and deleted at the end. initdb refuses to run as root, so under root (CI) the cluster
belongs to the `postgres` user (or `nobody`) and the binaries run as that user. Without the
binaries the PostgreSQL tests are skipped, except when CI=true, where they fail.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

__all__ = ["PgServer", "find_pg_bin", "fresh_database", "pg_server_or_skip", "start_pg_server"]

_SUPERUSER = "postgres"


@dataclass(frozen=True)
class PgServer:
    """A running throwaway cluster."""

    root: Path
    socket_dir: Path
    port: int

    def url(self, dbname: str = "postgres") -> str:
        """Return the libpq URL of a database on this server (through the Unix socket)."""
        host = quote(str(self.socket_dir), safe="")
        return f"postgresql://{_SUPERUSER}@{host}:{self.port}/{dbname}"


def find_pg_bin() -> Path | None:
    """Return the directory holding initdb/pg_ctl (PATH first, then Debian's layout), or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent

    def version(initdb: str) -> int:
        name = Path(initdb).parent.parent.name
        return int(name) if name.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    return Path(candidates[-1]).parent if candidates else None


def _run_as() -> pwd.struct_passwd | None:
    """Return the unprivileged account to run the server as, or None to run as ourselves."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a `postgres` nor a `nobody` user exists")


@contextmanager
def start_pg_server(bin_dir: Path) -> Iterator[PgServer]:
    """Start a cluster in a new temp dir; stop it and delete the dir on exit."""
    account = _run_as()
    root = Path(tempfile.mkdtemp(prefix="pattern-db-pg-"))
    data, sock, log = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    if account is not None:
        for path in (root, sock):
            os.chown(path, account.pw_uid, account.pw_gid)

    def run(*args: str) -> None:
        kwargs: dict[str, object] = {}
        if account is not None:
            kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        env = {**os.environ, "LC_ALL": "C", "HOME": str(root)}
        done = subprocess.run(
            args, capture_output=True, text=True, env=env, cwd=root, check=False, **kwargs
        )  # type: ignore[call-overload]
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")

    port = 5432
    started = False
    try:
        run(
            str(bin_dir / "initdb"),
            "-D", str(data),
            "-U", _SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
            "--no-instructions",
        )  # fmt: skip
        options = (
            f"-c listen_addresses='' -c unix_socket_directories='{sock}' -c port={port} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        started = True
        yield PgServer(root=root, socket_dir=sock, port=port)
    finally:
        try:
            if started:
                run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@contextmanager
def pg_server_or_skip() -> Iterator[PgServer]:
    """Yield a server; skip when PostgreSQL is not installed (fail instead when CI=true)."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        message = "PostgreSQL binaries (initdb, pg_ctl) not found; install the postgresql package"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: PostgreSQL tests must run)")
        pytest.skip(message)
    with start_pg_server(bin_dir) as server:
        yield server


_numbers = itertools.count(1)


@contextmanager
def fresh_database(server: PgServer) -> Iterator[str]:
    """Yield the URL of an empty schema of its own on `server`; drop the schema afterwards.

    A schema per test (selected by the URL's search_path) isolates tests as well as a database
    per test would, in a millisecond instead of the checkpoint CREATE DATABASE costs.
    """
    import psycopg

    name = f"test_{os.getpid()}_{next(_numbers)}"
    with psycopg.connect(server.url(), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield f"{server.url()}?options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(server.url(), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')
