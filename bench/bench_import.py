"""Import throughput: messages per second for a 100,000-message CAR.

Cases, each into a fresh file database:
* legacy v2 agent CAR (100 chunks of 1000 messages, built with the test builders from the
  documented layout) through `import_car`: scan + BLAKE3 verification, decoding, mapping,
  insert with FTS triggers, audit row with one entity per message;
* the same messages re-exported as v3 (`export_car`) and imported again;
* the floor: the same 100,000 Message records inserted with `create_messages` alone, in one
  transaction (what any import must at least pay);
* scan only: opening and verifying the CAR (varints, CIDs, hashes), no decoding.
One run each (an import is seconds long); the figures go to bench/results/import.json.

Run: `.venv/bin/python -m bench.bench_import` (or `--quick` for 10,000 messages).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests import car_support as cs

from bench._util import report
from pattern_db import ConstellationDb
from pattern_db.importers import export_car, import_car
from pattern_db.importers.car.reader import open_car
from pattern_db.queries import message as mq
from pattern_db.queries.agent import list_agents


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n = 10_000 if args.quick else 100_000
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp_dir:
        tmp = Path(tmp_dir)
        started = time.perf_counter()
        car_path = cs.build_legacy(tmp, 2, "Agent", n_messages=n)
        build_s = time.perf_counter() - started
        size_mb = car_path.stat().st_size / 1e6

        started = time.perf_counter()
        with open_car(car_path) as car:
            blocks = car.block_count
        scan_s = time.perf_counter() - started
        rows.append(_row("scan + verify v2 CAR", n, scan_s, size_mb))

        with ConstellationDb.open(tmp / "v2.db") as db:
            started = time.perf_counter()
            result = import_car(db, car_path)
            v2_s = time.perf_counter() - started
            assert result.counts["messages"] == n
            rows.append(_row("import_car v2 (legacy)", n, v2_s, size_mb))
            (agent,) = list_agents(db)
            messages = mq.get_messages_with_archived(db, agent.id, n + 10, include_deleted=True)
            started = time.perf_counter()
            export_car(db, tmp / "v3.car")
            export_s = time.perf_counter() - started
            rows.append(_row("export_car v3", n, export_s, (tmp / "v3.car").stat().st_size / 1e6))

        with ConstellationDb.open(tmp / "v3.db") as db:
            started = time.perf_counter()
            result = import_car(db, tmp / "v3.car")
            v3_s = time.perf_counter() - started
            assert result.counts["messages"] == n
            rows.append(_row("import_car v3", n, v3_s, (tmp / "v3.car").stat().st_size / 1e6))

        with ConstellationDb.open(tmp / "floor.db") as db:
            from pattern_db.queries.agent import create_agent

            create_agent(db, agent)
            started = time.perf_counter()
            with db.transaction() as tx:
                mq.create_messages(tx, messages)
            floor_s = time.perf_counter() - started
            rows.append(_row("floor: create_messages only", n, floor_s, 0.0))
    for row in rows:
        row["x_floor"] = round(row["seconds"] / floor_s, 2)
    report(
        "import",
        rows,
        notes=(
            f"{n} messages, {blocks} blocks in the v2 CAR ({size_mb:.1f} MB, built in "
            f"{build_s:.1f} s); x_floor = time / time of create_messages alone"
        ),
    )


def _row(case: str, n: int, seconds: float, mb: float) -> dict[str, object]:
    return {
        "case": case,
        "messages": n,
        "seconds": round(seconds, 3),
        "messages_per_s": round(n / seconds),
        "file_mb": round(mb, 1),
    }


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
