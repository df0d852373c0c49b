"""Opening a fresh database (create + migrate) against opening an existing one.

Also shows the floor: a bare apsw connection with the same pragmas and sqlite-vec loaded.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import apsw
import sqlite_vec

from bench._util import report
from pattern_db import ConstellationDb


def _time(fn: object, repeat: int) -> list[float]:
    times = []
    for i in range(repeat):
        started = time.perf_counter()
        fn(i)  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return times


def main(argv: list[str]) -> None:
    repeat = 5 if "--quick" in argv else 30
    folder = Path(tempfile.mkdtemp(prefix="pattern-db-bench-open-"))
    try:
        fresh = _time(lambda i: ConstellationDb.open(folder / f"fresh{i}.db").close(), repeat)
        existing_path = folder / "existing.db"
        ConstellationDb.open(existing_path).close()
        existing = _time(lambda i: ConstellationDb.open(existing_path).close(), repeat)
        read_only = _time(
            lambda i: ConstellationDb.open(existing_path, migrate=False).close(), repeat
        )

        def bare(i: int) -> None:
            conn = apsw.Connection(str(existing_path))
            conn.setbusytimeout(30_000)
            for pragma in (
                "journal_mode = WAL",
                "synchronous = NORMAL",
                "cache_size = -64000",
                "mmap_size = 268435456",
                "temp_store = MEMORY",
                "foreign_keys = ON",
            ):
                conn.execute(f"PRAGMA {pragma}").fetchall()
            conn.enable_load_extension(True)
            conn.load_extension(sqlite_vec.loadable_path())
            conn.close()

        raw = _time(bare, repeat)
        in_memory = _time(lambda i: ConstellationDb.open_in_memory().close(), repeat)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    floor = statistics.median(raw)
    rows = [
        {
            "case": name,
            "median_ms": statistics.median(t) * 1000,
            "x_raw_connect": statistics.median(t) / floor,
        }
        for name, t in (
            ("open fresh file (create + migrate)", fresh),
            ("open existing file", existing),
            ("open existing, migrate=False", read_only),
            ("open_in_memory (migrate)", in_memory),
            ("raw apsw connect + pragmas + sqlite-vec", raw),
        )
    ]
    report("open", rows, notes=f"{repeat} runs each")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
