"""The scale plot: how each figure grows with the number of items, one line per system."""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANELS = [
    ("knn_ms", "k=10, all items (ms)"),
    ("knn_agent_ms", "k=10, one agent (ms)"),
    ("keyword_ms", "keyword, one agent (ms)"),
    ("load_items_per_s", "bulk load (items/s)"),
    ("open_first_ms", "open + first result (ms)"),
    ("rss_delta_mib", "memory after open + 3 queries (MiB)"),
    ("insert_p50_ms", "single insert p50 (ms)"),
    ("tx_first_after_ms", "1st query after 1,000-insert tx (ms)"),
    ("store_mib", "store on disk (MiB)"),
]


def plot_scale(payload: dict[str, Any], path: Path) -> None:
    """Write a 3x3 grid of log-log plots of the scale sweep to `path` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = payload["sizes"]
    labels = payload["labels"]
    systems = list(dict.fromkeys(s for size in sizes for s in size["figures"]))
    fig, axes = plt.subplots(3, 3, figsize=(12, 10))
    for ax, (key, title) in zip(axes.flat, PANELS, strict=True):
        for system in systems:
            points = [
                (size["n"], size["figures"][system][key])
                for size in sizes
                if system in size["figures"] and size["figures"][system].get(key) is not None
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, marker="o", label=labels.get(system, system))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    for ax in axes[-1]:
        ax.set_xlabel("items")
    fig.suptitle("pattern-db and peers: figures against the number of items (384-d, 10 agents)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
