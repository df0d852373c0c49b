"""Run every benchmark module in bench/ (`python -m bench [--quick]`)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    """Import and run each bench_* module's main()."""
    folder = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(folder)]), key=lambda m: m.name):
        if info.name.startswith("bench_"):
            print(f"\n== {info.name} ==", flush=True)
            module = importlib.import_module(f"bench.{info.name}")
            module.main(sys.argv[1:])


if __name__ == "__main__":
    main()
