"""From raw child results to figures (medians over rounds), ratios against pattern-db, tables."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.peers.workload import K

MIB = 1 << 20
OURS = "pattern_db"


@dataclass(frozen=True)
class Row:
    """One measure of the table: figure key, label, unit, and whether higher is better."""

    key: str
    label: str
    unit: str
    higher_is_better: bool = False


ROWS = [
    Row("knn_ms", "k=10 over all items (exact, or the system's default)", "ms"),
    Row("knn_agent_ms", "k=10 within one agent", "ms"),
    Row("keyword_ms", "keyword, one agent (k=10)", "ms"),
    Row("insert_p50_ms", "single insert p50 (text + vector, own commit)", "ms"),
    Row("insert_p99_ms", "single insert p99", "ms"),
    Row("load_items_per_s", "bulk load", "items/s", higher_is_better=True),
    Row("open_first_ms", "open + first k=10 result (fresh process, after imports)", "ms"),
    Row("import_ms", "imports of that process", "ms"),
    Row("rss_delta_mib", "memory after open + 3 queries (RSS minus RSS after imports)", "MiB"),
    Row("anon_delta_mib", "  of which the process's own (RssAnon)", "MiB"),
    Row("file_delta_mib", "  of which mapped file pages (RssFile: mmap, page cache)", "MiB"),
    Row("rss_total_mib", "RSS after open + 3 queries (imports included)", "MiB"),
    Row("tx_first_after_ms", "first k=10 query after 1,000 inserts in a transaction", "ms"),
    Row("tx_inside_ms", "k=10 query inside that transaction", "ms"),
    Row("store_mib", "store on disk after bulk load", "MiB"),
]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _recall(found: list[list[str]], truth: list[list[str]]) -> float:
    hits = [len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=False)]
    return statistics.mean(hits) if hits else 0.0


def _pick(rounds: list[dict[str, Any]], phase: str, get: Callable[[Any], Any]) -> list[float]:
    out = []
    for r in rounds:
        result = r.get(phase)
        if result is None or "error" in result or "skipped" in result:
            continue
        value = get(result)
        if value is not None:
            out.append(float(value))
    return out


def warm(name: str, key: str) -> Callable[[Any], Any]:
    """Return a getter of result[name][key] of a warm phase (None when the measure is absent)."""
    return lambda res: (res.get(name) or {}).get(key)


def figures(measured: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return {system: {figure: median over rounds}} from `driver.measure`'s result."""
    truth = measured["truth"]
    out: dict[str, dict[str, Any]] = {}
    for system in measured["systems"]:
        rounds = [r[system] for r in measured["raw"]]

        f: dict[str, Any] = {
            "knn_ms": _median(_pick(rounds, "warm", warm("knn", "ms"))),
            "knn_recall": _median(
                _pick(rounds, "warm", lambda res: _recall(res["knn"]["ids"], truth["unscoped"]))
            ),
            "knn_agent_ms": _median(_pick(rounds, "warm", warm("knn_agent", "ms"))),
            "knn_agent_recall": _median(
                _pick(
                    rounds,
                    "warm",
                    lambda res: _recall(res["knn_agent"]["ids"], truth["scoped"]),
                )
            ),
            "keyword_ms": _median(_pick(rounds, "warm", warm("keyword", "ms"))),
            "keyword_hits": _median(
                _pick(
                    rounds,
                    "warm",
                    lambda res: (
                        statistics.mean(len(x) for x in res["keyword"]["ids"])
                        if res.get("keyword")
                        else None
                    ),
                )
            ),
            "insert_p50_ms": _median(_pick(rounds, "warm", warm("insert", "p50_ms"))),
            "insert_p99_ms": _median(_pick(rounds, "warm", warm("insert", "p99_ms"))),
            "tx_first_after_ms": _median(_pick(rounds, "warm", warm("tx", "first_after_ms"))),
            "tx_second_after_ms": _median(_pick(rounds, "warm", warm("tx", "second_after_ms"))),
            "tx_inside_ms": _median(_pick(rounds, "warm", warm("tx", "inside_ms"))),
            "tx_insert_ms": _median(_pick(rounds, "warm", warm("tx", "insert_ms"))),
            "load_items_per_s": _median(_pick(rounds, "load", lambda res: res["items_per_s"])),
            # A stopped load's store holds only part of the items: no size for it.
            "store_mib": _median(
                _pick(
                    rounds,
                    "load",
                    lambda res: None if res["stopped"] else res["store_bytes"] / MIB,
                )
            ),
            "open_first_ms": _median(_pick(rounds, "cold", lambda res: res["open_first_ms"])),
            "open_first_recall": _median(
                _pick(rounds, "cold", lambda res: _recall(res["ids"], truth["unscoped"][:1]))
            ),
            "import_ms": _median(_pick(rounds, "cold", lambda res: res["import_ms"])),
            "rss_delta_mib": _median(_pick(rounds, "memory", lambda res: res["rss_delta"] / MIB)),
            "anon_delta_mib": _median(
                _pick(
                    rounds,
                    "memory",
                    lambda res: res["anon_delta"] / MIB if "anon_delta" in res else None,
                )
            ),
            "file_delta_mib": _median(
                _pick(
                    rounds,
                    "memory",
                    lambda res: res["file_delta"] / MIB if "file_delta" in res else None,
                )
            ),
            "rss_total_mib": _median(
                _pick(rounds, "memory", lambda res: res["rss_after_queries"] / MIB)
            ),
            "hwm_mib": _median(_pick(rounds, "memory", lambda res: res["hwm"] / MIB)),
            "samples": len(rounds),
        }
        stopped = [r["load"]["stopped"] for r in rounds if r.get("load", {}).get("stopped")]
        errors = [
            f"{phase}: {res['error']}"
            for r in rounds
            for phase, res in r.items()
            if isinstance(res, dict) and "error" in res
        ]
        f["problems"] = stopped + errors
        out[system] = f
    return out


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float, ours: float | None) -> str:
    if not ours:
        return ""
    ratio = value / ours
    return f" ({ratio:.2g}x)" if ratio < 10 else f" ({ratio:,.0f}x)"


def cell(system: str, row: Row, fig: dict[str, Any], ours: dict[str, Any] | None) -> str:
    """Return one table cell: the figure, the ratio to pattern-db, recall or hits where useful."""
    value = fig.get(row.key)
    if value is None:
        return "none" if row.key in ("keyword_ms", "tx_inside_ms", "insert_p50_ms") else "-"
    text = f"{_fmt(value)} {row.unit}"
    if system != OURS and ours is not None:
        text += _ratio(value, ours.get(row.key))
    if row.key in ("knn_ms", "knn_agent_ms"):
        recall = fig.get(row.key.replace("_ms", "_recall"))
        if recall is not None:
            text += f", recall {recall:.2f}"
    if row.key == "keyword_ms" and fig.get("keyword_hits") is not None:
        text += f", {fig['keyword_hits']:.1f} hits"
    return text


def table(figs: dict[str, dict[str, Any]], labels: dict[str, str], *, markdown: bool) -> str:
    """Return the side-by-side table (rows = measures, columns = systems) as text or markdown."""
    systems = list(figs)
    ours = figs.get(OURS)
    header = ["measure", *(labels.get(s, s) for s in systems)]
    body = [[row.label, *(cell(s, row, figs[s], ours) for s in systems)] for row in ROWS]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *body]
    )
