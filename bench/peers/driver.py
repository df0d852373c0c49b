"""The parent side: run every system's phases in fresh processes, round after round, and collect.

Within a round every phase runs for every system before the next phase (load all, then cold
opens, then memory, then warm measures), in an order rotated each round, so load from other
work on the machine falls on all systems alike. Each round builds its own stores and deletes
them at its end. A system whose load fails, stops (store past the size guard, or load past
the time guard) or is skipped (not installed) gets no further phases at that size.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.peers import workload as wl

PHASES = ("load", "cold", "memory", "warm")
ROOT = Path(__file__).resolve().parents[2]
MIN_STORE_CAP = 2 << 30


@dataclass
class Plan:
    """What to run: systems in column order, size, rounds, where to put files, the guards."""

    systems: list[str]
    n: int
    rounds: int
    scratch: Path
    vectors: str = "clustered"
    max_growth: float = 3.0
    max_load_seconds: float = 1800.0
    keep_blas_env: bool = False
    blas_threads: int = 1
    #: {system: folder} put first on that system's PYTHONPATH (e.g. an unmerged branch's src).
    pythonpath: dict[str, str] = field(default_factory=dict)
    log: Any = field(default=sys.stderr)


def child_env(plan: Plan, system: str | None = None) -> dict[str, str]:
    """Return the children's environment: offline, numpy's own BLAS kernel, BLAS threads.

    This machine sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for old OpenBLAS builds; they slow
    a current numpy, so both are removed together for the benchmark (unless asked not to).
    BLAS runs on `blas_threads` threads (0: OpenBLAS's default, one per core): on a shared
    machine a two-thread product stalls whenever the other core is busy, and with one thread
    every system answers a query on one core.
    """
    env = dict(os.environ)
    if not plan.keep_blas_env:
        env.pop("OPENBLAS_CORETYPE", None)
        env.pop("OPENBLAS_L2_SIZE", None)
    if plan.blas_threads > 0:
        env["OPENBLAS_NUM_THREADS"] = str(plan.blas_threads)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    first = [str(ROOT)]
    if system in plan.pythonpath:
        first.insert(0, plan.pythonpath[system])
    env["PYTHONPATH"] = os.pathsep.join([*first, env.get("PYTHONPATH", "")])
    return env


def run_child(
    system: str, phase: str, plan: Plan, *, data: Path | None, store: Path | None
) -> dict[str, Any]:
    """Run `python -m bench.peers.run` once and return its result (error text on failure)."""
    cmd = [sys.executable, "-m", "bench.peers.run", system, phase]
    if data is not None:
        cmd += ["--data", str(data)]
    if store is not None:
        cmd += ["--store", str(store)]
    if phase == "load":
        summary = json.loads((data / "summary.json").read_text()) if data else {}
        cap = max(int(plan.max_growth * summary.get("raw_bytes", 0)), MIN_STORE_CAP)
        cmd += ["--max-bytes", str(cap), "--max-seconds", str(plan.max_load_seconds)]
    started = time.perf_counter()
    done = subprocess.run(
        cmd, capture_output=True, text=True, env=child_env(plan, system), check=False
    )
    wall = time.perf_counter() - started
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("PEERS_RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("PEERS_RESULT "))
            result["wall_s"] = round(wall, 2)
            if "error" in result:
                result["stderr_tail"] = done.stderr[-2000:]
            return result
    return {
        "system": system,
        "phase": phase,
        "error": f"exit code {done.returncode}, no result line",
        "stderr_tail": done.stderr[-2000:],
        "wall_s": round(wall, 2),
    }


def check_systems(plan: Plan) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Return (versions of each usable system, reason of each skipped one)."""
    versions, skipped = {}, {}
    for system in plan.systems:
        result = run_child(system, "check", plan, data=None, store=None)
        if "skipped" in result or "error" in result:
            skipped[system] = result.get("skipped") or result["error"]
        else:
            versions[system] = result["versions"]
    return versions, skipped


def run_rounds(plan: Plan, systems: list[str], data: Path) -> list[dict[str, dict[str, Any]]]:
    """Run plan.rounds rounds over `systems`; return per round {system: {phase: result}}."""
    rounds = []
    for r in range(plan.rounds):
        order = systems[r % len(systems) :] + systems[: r % len(systems)]
        folder = plan.scratch / f"stores-{plan.n}-r{r}"
        shutil.rmtree(folder, ignore_errors=True)
        results: dict[str, dict[str, Any]] = {s: {} for s in systems}
        try:
            for phase in PHASES:
                for system in order:
                    load = results[system].get("load")
                    if phase != "load" and (load is None or "error" in load or load["stopped"]):
                        continue
                    print(
                        f"  n={plan.n} round {r + 1}/{plan.rounds}: {system} {phase} ...",
                        end="",
                        file=plan.log,
                        flush=True,
                    )
                    result = run_child(system, phase, plan, data=data, store=folder / system)
                    results[system][phase] = result
                    status = result.get("error") or result.get("stopped") or "ok"
                    print(f" {result['wall_s']} s, {status}", file=plan.log, flush=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rounds.append(results)
    return rounds


def load_average() -> list[float]:
    """Return the 1, 5 and 15 minute load averages."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def blas_report(plan: Plan) -> Any:
    """Return threadpoolctl's view of numpy's BLAS in a child's environment."""
    code = "import json, numpy, threadpoolctl; print(json.dumps(threadpoolctl.threadpool_info()))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=child_env(plan),
        check=False,
    )
    if done.returncode != 0:
        return {"error": "threadpoolctl not installed (bench extra)"}
    return json.loads(done.stdout)


def measure(plan: Plan) -> dict[str, Any]:
    """Generate the workload of plan.n items, run the rounds; return raw results and context."""
    data = plan.scratch / f"w{plan.n}-{plan.vectors}"
    print(f"workload: {plan.n} items ({plan.vectors}) -> {data}", file=plan.log, flush=True)
    summary = wl.generate(data, plan.n, plan.vectors)
    versions, skipped = check_systems(plan)
    for system, reason in skipped.items():
        print(f"skipped {system}: {reason}", file=plan.log, flush=True)
    systems = [s for s in plan.systems if s in versions]
    before = load_average()
    started = time.time()
    rounds = run_rounds(plan, systems, data)
    return {
        "n": plan.n,
        "rounds": plan.rounds,
        "workload": summary,
        "truth": wl.load_truth(data),
        "systems": systems,
        "versions": versions,
        "skipped": skipped,
        "load_average_before": before,
        "load_average_after": load_average(),
        "minutes": round((time.time() - started) / 60, 1),
        "blas": blas_report(plan),
        "blas_threads": plan.blas_threads or "default",
        "raw": rounds,
    }
