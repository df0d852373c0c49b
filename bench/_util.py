"""Small helpers shared by the benchmarks: timing, tables and result files."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apsw

RESULTS = Path(__file__).parent / "results"


def median_seconds(fn: Callable[[], object], *, repeat: int = 21, warmup: int = 3) -> float:
    """Return the median wall time of `fn` over `repeat` runs after `warmup` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def environment() -> dict[str, Any]:
    """Return what a reader needs to compare figures across machines."""
    import os

    return {
        "python": platform.python_version(),
        "sqlite": apsw.sqlite_lib_version(),
        "apsw": apsw.apswversion(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def report(name: str, rows: list[dict[str, Any]], *, notes: str = "") -> None:
    """Print rows as an aligned table and write them to bench/results/<name>.json."""
    if rows:
        keys = list(rows[0])
        widths = {k: max(len(k), *(len(_fmt(r.get(k))) for r in rows)) for k in keys}
        print("  ".join(k.ljust(widths[k]) for k in keys))
        for row in rows:
            print("  ".join(_fmt(row.get(k)).ljust(widths[k]) for k in keys))
    if notes:
        print(notes)
    RESULTS.mkdir(exist_ok=True)
    payload = {"benchmark": name, "environment": environment(), "rows": rows, "notes": notes}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
