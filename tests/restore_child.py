"""Child process for test_restore: a writer that keeps one ConstellationDb open across a restore.

Usage: `python restore_child.py DB_PATH AFTER MAX`. Each write is one transaction that creates
agent `w{i}` and reads whether agent `marker` (only in the backup) is there, so the write knows
whether it landed in the restored content. After its commit it prints `{i} {0|1}` (an
acknowledged write). It stops after AFTER writes into the restored content, or MAX writes.
"""

from __future__ import annotations

import sys
import time

from pattern_db import ConstellationDb
from pattern_db.models import Agent
from pattern_db.queries.agent import create_agent, get_agent


def main() -> None:
    path, after, most = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seen = 0
    with ConstellationDb.open(path) as db:
        print("ready", flush=True)
        for i in range(most):
            with db.transaction() as tx:
                restored = get_agent(tx, "marker") is not None
                create_agent(
                    tx, Agent(id=f"w{i}", name=f"w{i}", model_provider="p", model_name="m")
                )
            print(f"{i} {int(restored)}", flush=True)
            seen += restored
            if seen >= after:
                break
            time.sleep(0.002)  # a busy agent, not a tight loop: leave the lock to others


if __name__ == "__main__":
    main()
