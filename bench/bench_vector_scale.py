"""How the vector figures grow from 10k to 1M items: pattern-db beside numpy's brute force.

Run: env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python -m bench.bench_vector_scale
    [--sizes 10000,100000,1000000] [--max-bytes N] [--scratch /tmp/vector-scale]

The peers workload (`bench/peers/workload.py`: 10 agents, clustered 384-d unit vectors) at each
size, loaded once per system; then each measure in a fresh process (`bench.peers.run`'s
phases, one BLAS thread): open + first k=10 result, memory after open + 3 queries, and the warm
measures (k=10 over all messages and within one agent, 1,000 inserts in one transaction, the
query inside it and the first after it). `--max-bytes` raises pattern-db's cache budget (its
default, 1 GiB, keeps 1M x 384 out of memory: every query then scans in SQL). Writes
bench/results/vector_scale.json, and vector_scale.png when matplotlib is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SYSTEMS = ("pattern_db", "numpy")


def _env() -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    }
    env["OPENBLAS_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run(args: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.bench_vector_scale", *args],
        env=_env(),
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[7:])
            return result
    return {"error": done.stderr[-1500:]}


def _child(system: str, phase: str, data: Path, store: Path, max_bytes: int) -> dict[str, Any]:
    from bench.peers import run
    from bench.peers.base import load_adapter

    adapter = load_adapter(system)
    adapter.import_libraries()
    if system == "pattern_db" and max_bytes:
        from pattern_db import vector

        opened = adapter.open

        def open_with_budget(path: Path) -> None:
            opened(path)
            vector.configure_vector_cache(adapter.db, max_bytes=max_bytes)  # type: ignore[attr-defined]

        adapter.open = open_with_budget  # type: ignore[method-assign]
    ns = argparse.Namespace(data=data, store=store, max_bytes=0, max_seconds=0)
    if phase == "load":
        return run.phase_load(adapter, ns)
    if phase == "cold":
        return run.phase_cold(adapter, ns, 0.0)
    if phase == "memory":
        return run.phase_memory(adapter, ns)
    return run.phase_warm(adapter, ns)


def _figures(system: str, got: dict[str, Any], raw_bytes: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cold, memory, warm = got.get("cold", {}), got.get("memory", {}), got.get("warm", {})
    out["load_items_per_s"] = got.get("load", {}).get("items_per_s")
    out["open_first_ms"] = cold.get("open_first_ms")
    if "rss_delta" in memory:
        out["rss_delta_mib"] = round(memory["rss_delta"] / 2**20, 1)
        out["rss_over_raw"] = round(memory["rss_delta"] / raw_bytes, 3)
        out["hwm_mib"] = round(memory["hwm"] / 2**20, 1)
    for key in ("knn", "knn_agent"):
        if warm.get(key):
            out[f"{key}_ms"] = warm[key]["ms"]
    tx = warm.get("tx") or {}
    for key in ("inside_ms", "first_after_ms", "second_after_ms"):
        if tx.get(key) is not None:
            out[f"tx_{key}"] = tx[key]
    errors = {p: r["error"][-300:] for p, r in got.items() if isinstance(r, dict) and "error" in r}
    if errors:
        out["errors"] = errors
    return out


def _plot(payload: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["open_first_ms", "rss_delta_mib", "knn_ms", "knn_agent_ms", "tx_first_after_ms"]
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.5))
    for ax, key in zip(axes, keys, strict=True):
        for system in SYSTEMS:
            points = [
                (s["n"], s["figures"][system].get(key))
                for s in payload["sizes"]
                if s["figures"].get(system, {}).get(key) is not None
            ]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=system)
        ax.set(xscale="log", yscale="log", title=key, xlabel="items")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.bench_vector_scale")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--max-bytes", type=int, default=0)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/vector-scale"))
    parser.add_argument("--out", type=Path, default=RESULTS / "vector_scale.json")
    parser.add_argument("--child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        system, phase, data, store = args.child
        try:
            result = _child(system, phase, Path(data), Path(store), args.max_bytes)
        except Exception as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"}
        result.pop("ids", None)
        for value in result.values():
            if isinstance(value, dict):
                value.pop("ids", None)
        print("RESULT " + json.dumps(result), flush=True)
        return
    from bench.peers import workload as wl

    sizes = []
    for n in [int(x) for x in args.sizes.split(",")]:
        data = args.scratch / f"w{n}"
        summary = wl.generate(data, n)
        figures = {}
        for system in SYSTEMS:
            store = args.scratch / f"{system}-{n}"
            shutil.rmtree(store, ignore_errors=True)
            got: dict[str, Any] = {}
            for phase in ("load", "cold", "memory", "warm"):
                started = time.perf_counter()
                extra = ["--max-bytes", str(args.max_bytes)] if args.max_bytes else []
                got[phase] = _run([*extra, "--child", system, phase, str(data), str(store)])
                print(f"n={n} {system} {phase}: {time.perf_counter() - started:.1f} s", flush=True)
                if "error" in got[phase] and phase == "load":
                    break
            shutil.rmtree(store, ignore_errors=True)
            figures[system] = _figures(system, got, summary["raw_bytes"])
            print(n, system, figures[system], flush=True)
        sizes.append({"n": n, "raw_vector_bytes": n * 384 * 4, "figures": figures})
        shutil.rmtree(data, ignore_errors=True)
        payload = {
            "benchmark": "vector_scale",
            "max_bytes": args.max_bytes or "default (1 GiB)",
            "load_average": [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]],
            "sizes": sizes,
        }
        args.out.write_text(json.dumps(payload, indent=1) + "\n")
    plotted = _plot(payload, args.out.with_suffix(".png"))
    print("plot:", args.out.with_suffix(".png") if plotted else "skipped (no matplotlib)")


if __name__ == "__main__":
    main(sys.argv[1:])
