"""Side-by-side benchmark: pattern-db against LangGraph's SqliteStore, sqlite-utils + sqlite-vec by
hand, Chroma (and pattern-db's own LangGraph store when importable), with numpy as the floor.

Run: `make bench-peers` (installs the `bench` extra first), or
    .venv/bin/python -m bench.peers [--quick] [--items 100000] [--rounds 3] [--systems a,b]
    .venv/bin/python -m bench.peers --sizes 10000,100000,1000000   # scale sweep + plot

The same workload (`workload.py`: N items over 10 agents, text from a fixed vocabulary,
clustered 384-d unit vectors) is written once and loaded by every system, each in its own
fresh `python` process per measure (`run.py`); rounds are interleaved with the system order
rotated, figures are medians over rounds, ratios are peer / pattern-db, recall@10 is against
numpy's exact answer. Writes bench/results/peers.json (or peers_scale.json + peers_scale.png).
Adapters are `sys_<name>.py` modules in this package; adding one adds a column.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
from pathlib import Path
from typing import Any

from bench.peers import driver, table
from bench.peers.base import adapters, load_adapter

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _labels_and_notes(systems: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    labels, notes = {}, {}
    for name in systems:
        adapter = load_adapter(name)
        labels[name] = adapter.label
        notes[name] = " ".join(adapter.notes.split())
    return labels, notes


def _ordered_systems(wanted: str | None) -> list[str]:
    found = adapters()
    names = sorted(found, key=lambda n: (load_adapter(n).order, n))
    if wanted:
        chosen = [s.strip() for s in wanted.split(",") if s.strip()]
        unknown = [s for s in chosen if s not in found]
        if unknown:
            raise SystemExit(f"unknown system(s) {unknown}; known: {names}")
        names = [n for n in names if n in chosen]
    return names


def _environment() -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def _one_size(args: argparse.Namespace, systems: list[str], n: int, rounds: int) -> dict[str, Any]:
    plan = driver.Plan(
        systems=systems,
        n=n,
        rounds=rounds,
        scratch=args.scratch,
        vectors=args.vectors,
        max_growth=args.max_growth,
        max_load_seconds=args.max_load_seconds,
        keep_blas_env=args.keep_openblas_env,
        blas_threads=args.blas_threads,
        pythonpath=dict(p.split("=", 1) for p in args.pythonpath),
    )
    measured = driver.measure(plan)
    measured["figures"] = table.figures(measured)
    return measured


def _print_size(measured: dict[str, Any], labels: dict[str, str]) -> None:
    figs = measured["figures"]
    print(
        f"\n{measured['n']:,} items x 384 ({measured['workload'].get('kind', 'clustered')}), "
        f"10 agents, {measured['rounds']} round(s), "
        f"medians; (Nx) = system / pattern-db; load average {measured['load_average_before']}"
        f" -> {measured['load_average_after']}"
    )
    print(table.table(figs, labels, markdown=False))
    for system, fig in figs.items():
        for problem in fig["problems"]:
            print(f"  {labels.get(system, system)}: {problem}")
    for system, reason in measured["skipped"].items():
        print(f"  skipped {system}: {reason}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.peers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="10k items, 1 round")
    parser.add_argument("--items", type=int, default=None, help="items (default 100,000)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3)")
    parser.add_argument("--sizes", default=None, help="scale sweep, e.g. 10000,100000,1000000")
    parser.add_argument(
        "--reuse", type=Path, default=None, help="with --sizes: a size's figures from this file"
    )
    parser.add_argument(
        "--vectors",
        choices=["clustered", "random"],
        default="clustered",
        help="clustered (default) or uniform random unit vectors",
    )
    parser.add_argument("--systems", default=None, help=f"subset of {sorted(adapters())}")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/pattern-db-peers"))
    parser.add_argument("--keep-scratch", action="store_true", help="keep the workload files")
    parser.add_argument(
        "--max-growth",
        type=float,
        default=3.0,
        help="stop a load whose store passes this many times the raw data (never below 2 GiB)",
    )
    parser.add_argument("--max-load-seconds", type=float, default=1800.0)
    parser.add_argument(
        "--keep-openblas-env",
        action="store_true",
        help="keep this machine's OPENBLAS_* overrides in the children",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="OPENBLAS_NUM_THREADS for the children (0: library default)",
    )
    parser.add_argument(
        "--pythonpath",
        action="append",
        default=[],
        metavar="SYSTEM=DIR",
        help="put DIR first on one system's PYTHONPATH, e.g. "
        "patternstore=/tmp/integrations/src (a branch not yet merged)",
    )
    parser.add_argument("--markdown", action="store_true", help="also print a markdown table")
    parser.add_argument(
        "--output", default="peers", help="result name: bench/results/NAME.json (default peers)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results")
    args = parser.parse_args(argv)

    systems = _ordered_systems(args.systems)
    labels, notes = _labels_and_notes(systems)
    rounds = args.rounds or (1 if args.quick or args.sizes else 3)
    try:
        if args.sizes:
            sizes = [int(s) for s in args.sizes.split(",")]
            reused = json.loads(args.reuse.read_text()) if args.reuse else None
            results = []
            for n in sizes:
                if reused is not None and reused.get("n") == n:
                    print(f"\nn={n:,}: figures reused from {args.reuse}")
                    drop = ("benchmark", "environment", "labels", "notes", "markdown")
                    kept = {k: v for k, v in reused.items() if k not in drop}
                    results.append({**kept, "reused_from": str(args.reuse)})
                    continue
                measured = _one_size(args, systems, n, rounds)
                _print_size(measured, labels)
                results.append(_slim(measured))
            payload = {
                "benchmark": "peers_scale",
                "environment": _environment(),
                "labels": labels,
                "notes": notes,
                "sizes": results,
            }
            if not args.no_write:
                RESULTS.mkdir(exist_ok=True)
                (RESULTS / "peers_scale.json").write_text(json.dumps(payload, indent=1) + "\n")
                from bench.peers.plot import plot_scale

                plot_scale(payload, RESULTS / "peers_scale.png")
                print(f"\nwrote {RESULTS / 'peers_scale.json'} and peers_scale.png")
            return
        n = args.items or (10_000 if args.quick else 100_000)
        measured = _one_size(args, systems, n, rounds)
        _print_size(measured, labels)
        if args.markdown:
            print()
            print(table.table(measured["figures"], labels, markdown=True))
        if not args.no_write:
            payload = {
                "benchmark": "peers",
                "environment": _environment(),
                "labels": labels,
                "notes": notes,
                **_slim(measured),
            }
            payload["markdown"] = table.table(measured["figures"], labels, markdown=True)
            RESULTS.mkdir(exist_ok=True)
            out = RESULTS / f"{args.output}.json"
            out.write_text(json.dumps(payload, indent=1) + "\n")
            print(f"\nwrote {out}")
    finally:
        if not args.keep_scratch:
            shutil.rmtree(args.scratch, ignore_errors=True)


def _slim(measured: dict[str, Any]) -> dict[str, Any]:
    """Drop the bulky parts (truth and returned ids) from a size's results for the JSON file."""
    out = {k: v for k, v in measured.items() if k not in ("truth", "raw")}
    rounds = []
    for r in measured["raw"]:
        slim_round = {}
        for system, phases in r.items():
            slim_round[system] = {phase: _without_ids(res) for phase, res in phases.items()}
        rounds.append(slim_round)
    out["rounds_raw"] = rounds
    return out


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k != "ids"}
    return value


if __name__ == "__main__":
    main(sys.argv[1:])
