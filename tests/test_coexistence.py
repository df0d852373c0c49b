"""pattern-db and another SQLite library that loads sqlite-vec work in one process, in any order.

Each scenario runs in a fresh subprocess (tests/coexistence_child.py), so a crash fails the test
instead of killing pytest.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import apsw
import pytest
import sqlite_vec

from pattern_db import _vec_loader

CHILD = Path(__file__).with_name("coexistence_child.py")
OURS = ["m3", "m4", "m2"]
OTHER = [4, 5]
ROUNDS = [[OURS, OTHER, OURS, OTHER], ["v0.1.9", OTHER, OURS]] * 3
ISOLATED = {"loaded": True, "fallback": None, "memfd_mapped": True, "wheel_mapped": True}

_STDLIB_LOADS_EXTENSIONS = hasattr(sqlite3.Connection, "enable_load_extension")
OTHERS = [
    "pysqlite3",
    pytest.param(
        "sqlite3",
        marks=pytest.mark.skipif(
            not _STDLIB_LOADS_EXTENSIONS, reason="this Python's sqlite3 cannot load extensions"
        ),
    ),
]


def _run_child(order: str, other: str, tmp_path: Path) -> dict[str, object]:
    if other == "pysqlite3":
        pytest.importorskip("pysqlite3")
    proc = subprocess.run(
        [sys.executable, str(CHILD), order, other, str(tmp_path / "c.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"child exited {proc.returncode}:\n{proc.stderr[-3000:]}"
    result: dict[str, object] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize(
    ("order", "alone"),
    [("ours-first", {"ours_alone": OURS}), ("other-first", {"other_alone": OTHER})],
    ids=["pattern-db-first", "other-first"],
)
def test_both_libraries_use_sqlite_vec_in_one_process(
    order: str, alone: dict[str, object], other: str, tmp_path: Path
) -> None:
    result = _run_child(order, other, tmp_path)
    assert result == {
        **alone,
        "rounds": ROUNDS,
        "threads": ['["m3", "m4", "m2"]', "[4, 5]"],
        "thread_count": 4,
        "private": ISOLATED,
    }


# -- the private copy --------------------------------------------------------------------------


def _wheel_library() -> bytes:
    return Path(sqlite_vec.loadable_path() + ".so").read_bytes()


def _dynamic_symbols(image: bytes, tmp_path: Path) -> dict[str, str]:
    """Return the binding (GLOBAL, LOCAL, ...) of each defined dynamic symbol, read by readelf."""
    library = tmp_path / "library.so"
    library.write_bytes(image)
    listing = subprocess.run(
        ["readelf", "--dyn-syms", "-W", str(library)], capture_output=True, text=True, check=True
    ).stdout
    bindings: dict[str, str] = {}
    for line in listing.splitlines():
        fields = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(fields) == 8 and fields[0][:-1].isdigit() and fields[6] != "UND":
            bindings[fields[7]] = fields[4]
    return bindings


@pytest.mark.skipif(shutil.which("readelf") is None, reason="needs readelf (binutils)")
def test_private_copy_keeps_only_the_entry_points_global(tmp_path: Path) -> None:
    before = _dynamic_symbols(_wheel_library(), tmp_path)
    after = _dynamic_symbols(_vec_loader.localize_symbols(_wheel_library()), tmp_path)
    assert (before["sqlite3_api"], after["sqlite3_api"]) == ("GLOBAL", "LOCAL")
    assert len(after) == 102
    assert sorted(name for name, bind in after.items() if bind == "GLOBAL") == [
        "sqlite3_vec_init",
        "sqlite3_vec_numpy_init",
        "sqlite3_vec_static_blobs_init",
    ]
    assert sorted(after) == sorted(before)


def test_a_library_that_is_not_sqlite_vec_is_refused() -> None:
    with pytest.raises(ValueError, match="not a 64-bit ELF shared object"):
        _vec_loader.localize_symbols(b"MZ\x90\x00 not an ELF file")
    apsw_library = Path(apsw.__file__).read_bytes()
    with pytest.raises(ValueError, match="no dynamic symbol sqlite3_vec_init"):
        _vec_loader.localize_symbols(apsw_library)


def test_a_missing_library_falls_back_to_the_given_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-lib")
    path, reason = _vec_loader.private_library(missing)
    assert path == missing
    assert reason is not None
    assert "No such file or directory" in reason
    conn = apsw.Connection(":memory:")
    try:
        with pytest.raises(apsw.ExtensionLoadingError):
            _vec_loader.load_into(conn, missing)
    finally:
        conn.close()


_REUSED_FD = """
import os, sys, sqlite_vec
from pattern_db import ConstellationDb, _vec_loader
library = sqlite_vec.loadable_path()
ConstellationDb.open_in_memory().close()  # the last connection closes: vec0 is unloaded
first, _ = _vec_loader.private_library(library)
os.close(int(first.rsplit("/", 1)[1]))  # other code closes our memfd ...
stray = open(sys.argv[1], "rb")  # ... and the number now names another file
with ConstellationDb.open_in_memory() as db:
    path, reason = _vec_loader.private_library(library)
    print(db.vec_version, path != first, reason)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memfd copies are Linux only")
def test_a_closed_private_copy_is_made_again(tmp_path: Path) -> None:
    stray = tmp_path / "stray.txt"
    stray.write_text("not a library")
    proc = subprocess.run(
        [sys.executable, "-c", _REUSED_FD, str(stray)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["v0.1.9", "True", "None"]
