"""Writer process for bench_safety: keeps one ConstellationDb open across restores.

Usage: `python -m bench._restore_writer DB_PATH AFTER MAX PREFIX`. Each write is one transaction
creating agent `{PREFIX}{i}` that also reads whether agent `marker` (only in the backup) is
there; after the commit it prints `{PREFIX}{i} {0|1}`. It stops after AFTER writes into the
restored content, or MAX writes.
"""

from __future__ import annotations

import sys
import time

from pattern_db import ConstellationDb
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent, get_agent


def main() -> None:
    path, after, most, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    seen = 0
    with ConstellationDb.open(path) as db:
        print("ready", flush=True)
        for i in range(most):
            with db.transaction() as tx:
                restored = get_agent(tx, "marker") is not None
                name = f"{prefix}{i}"
                create_agent(tx, Agent(id=name, name=name, model_provider="p", model_name="m"))
            print(f"{prefix}{i} {int(restored)}", flush=True)
            seen += restored
            if seen >= after:
                break
            time.sleep(0.002)  # a busy agent, not a tight loop: leave the lock to others


if __name__ == "__main__":
    main()
