"""What every system's adapter implements, and the helpers the child process measures with.

An adapter module is `bench/peers/sys_<name>.py` defining `ADAPTER`, an instance of a subclass
of `Adapter`. Adding a system is adding such a module: `adapters()` finds them by name.
Heavy imports happen in `import_libraries()`, so a child can measure them apart from the work.
"""

from __future__ import annotations

import importlib
import pkgutil
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from bench.peers.workload import Items


class Unsupported(Exception):
    """The system has no way to do this measure (shown as 'none' in the table)."""


class Adapter:
    """One system under test. Subclasses override what their system supports."""

    #: Short name used on the command line and in results.
    name = ""
    #: Column title in the table.
    label = ""
    #: Column order in the table (pattern-db first).
    order = 100
    #: What this adapter does to store and search, printed under the table.
    notes = ""

    def import_libraries(self) -> None:
        """Import the system's libraries (raise ImportError with a hint when missing)."""

    def versions(self) -> dict[str, str]:
        """Return the versions of the packages this system runs on."""
        return {}

    def create(self, path: Path) -> None:
        """Create an empty store in the folder `path` and keep it open."""
        raise NotImplementedError

    def bulk_load(self, items: Items) -> None:
        """Add a chunk of items by the system's fastest documented bulk path."""
        raise NotImplementedError

    def open(self, path: Path) -> None:
        """Open the existing store in the folder `path`."""
        raise NotImplementedError

    def knn(self, query: np.ndarray[Any, Any], k: int, agent: str | None) -> list[str]:
        """Return the ids of the k nearest items (within `agent` when given), nearest first."""
        raise NotImplementedError

    def keyword(self, term: str, k: int, agent: str) -> list[str]:
        """Return the ids of up to k items of `agent` whose text has `term`, best first."""
        raise Unsupported

    def insert_one(self, item_id: str, agent: str, text: str, vector: np.ndarray[Any, Any]) -> None:
        """Store one item durably (its own commit)."""
        raise NotImplementedError

    def insert_in_transaction(
        self, items: Items, query: np.ndarray[Any, Any], k: int
    ) -> float | None:
        """Store items in one transaction; return ms of a k-NN query run inside it, if possible.

        The default stores them with `bulk_load` (one call is one transaction for the systems
        that use it) and cannot query inside.
        """
        self.bulk_load(items)
        return None

    def close(self) -> None:
        """Close the store."""


def require_pysqlite3() -> Any:
    """Return pysqlite3's dbapi2 (this Python's stdlib sqlite3 cannot load extensions).

    Raises:
        ImportError: pysqlite3-binary is not installed.
    """
    try:
        from pysqlite3 import dbapi2  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ImportError(
            "pysqlite3-binary is missing (the stdlib sqlite3 cannot load sqlite-vec here): "
            "install the bench extra"
        ) from exc
    return dbapi2


def adapters() -> dict[str, str]:
    """Return {name: module} of every adapter module in this package (`sys_<name>.py`)."""
    folder = Path(__file__).parent
    found = {}
    for info in pkgutil.iter_modules([str(folder)]):
        if info.name.startswith("sys_"):
            found[info.name.removeprefix("sys_")] = f"bench.peers.{info.name}"
    return found


def load_adapter(name: str) -> Adapter:
    """Import the adapter module of `name` and return its ADAPTER."""
    module = importlib.import_module(adapters()[name])
    adapter: Adapter = module.ADAPTER
    return adapter


def proc_status() -> dict[str, int]:
    """Return this process's VmRSS, VmHWM, RssAnon and RssFile in bytes (/proc/self/status).

    RssFile counts pages of files mapped into the process (SQLite's mmap of the store, shared
    libraries): page cache the kernel can drop; RssAnon is the process's own memory.
    """
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) * 1024
    return out


def folder_bytes(path: Path) -> int:
    """Return the bytes on disk under `path` (du), 0 if it does not exist."""
    if not path.exists():
        return 0
    if shutil.which("du"):
        done = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return int(done.stdout.split()[0])
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def package_version(name: str) -> str:
    """Return the installed version of a distribution, or 'missing'."""
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "missing"
