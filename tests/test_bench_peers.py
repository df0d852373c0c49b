"""The peers benchmark's harness: its workload, pattern-db's adapter and the table (no timings)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bench.peers import table
from bench.peers import workload as wl
from bench.peers.base import adapters, load_adapter


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "w300"
    wl.generate(folder, 300)
    return folder


def test_adapters_are_found_by_module_name() -> None:
    assert sorted(adapters()) == [
        "chroma",
        "langgraph",
        "numpy",
        "pattern_db",
        "patternstore",
        "sqlite_utils",
    ]
    assert load_adapter("pattern_db").label == "pattern-db"


def test_workload_is_deterministic_and_truth_is_exact(data: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    wl.generate(again, 300)
    for name in ("vectors.npy", "texts.json", "truth.json", "terms.json"):
        assert (data / name).read_bytes() == (again / name).read_bytes()
    items = wl.load_items(data)
    queries = wl.load_queries(data)
    truth = wl.load_truth(data)
    assert items.ids[:2] == ["item_0000000", "item_0000001"]
    assert len(items) == 300
    assert items.vectors.shape == (300, 384)
    assert np.allclose(np.linalg.norm(items.vectors, axis=1), 1.0, atol=1e-5)
    scores = items.vectors @ queries.vectors[0]
    assert truth["unscoped"][0][0] == items.ids[int(np.argmax(scores))]
    agent = queries.agents[3]
    assert all(items.agents[items.ids.index(i)] == agent for i in truth["scoped"][3])
    assert len(queries.terms) == len(set(queries.terms)) == wl.QUERIES
    extra = wl.load_items(data, extra=True)
    assert len(extra) == wl.EXTRA
    assert not set(extra.ids) & set(items.ids)


def test_pattern_db_adapter_returns_the_exact_answers(data: Path, tmp_path: Path) -> None:
    adapter = load_adapter("pattern_db")
    adapter.import_libraries()
    items = wl.load_items(data)
    queries = wl.load_queries(data)
    truth = wl.load_truth(data)
    store = tmp_path / "store"
    adapter.create(store)
    adapter.bulk_load(items.slice(0, 200))
    adapter.bulk_load(items.slice(200, 300))
    adapter.close()
    adapter.open(store)
    try:
        for i in range(5):
            assert adapter.knn(queries.vectors[i], wl.K, None) == truth["unscoped"][i]
            scoped = adapter.knn(queries.vectors[i], wl.K, queries.agents[i])
            assert scoped == truth["scoped"][i]
        term, agent = queries.terms[0], queries.agents[0]
        found = adapter.keyword(term, wl.K, agent)
        expected = {
            i
            for i, a, t in zip(items.ids, items.agents, items.texts, strict=True)
            if a == agent and term in t.split()
        }
        assert set(found) <= expected
        assert len(found) == min(wl.K, len(expected))
        extra = wl.load_items(data, extra=True)
        adapter.insert_one(extra.ids[0], extra.agents[0], extra.texts[0], extra.vectors[0])
        inside = adapter.insert_in_transaction(extra.slice(1, 11), extra.vectors[5], 1)
        assert inside is not None
        # The new items are found: each one's own vector is its nearest neighbour.
        assert adapter.knn(extra.vectors[0], 1, None) == [extra.ids[0]]
        assert adapter.knn(extra.vectors[5], 1, None) == [extra.ids[5]]
    finally:
        adapter.close()


def _measured() -> dict[str, object]:
    truth = {"unscoped": [["a", "b"]], "scoped": [["a", "c"]]}

    def warm(ms: float, ids: list[str]) -> dict[str, object]:
        return {
            "knn": {"ms": ms, "ids": [ids]},
            "knn_agent": {"ms": ms / 2, "ids": [ids]},
            "keyword": None,
            "insert": {"p50_ms": 1.0, "p99_ms": 3.0},
            "tx": {"first_after_ms": 5.0, "inside_ms": None},
        }

    load = {"items_per_s": 1000.0, "store_bytes": 2 * table.MIB, "stopped": None}
    rounds = [
        {
            "pattern_db": {"load": load, "warm": warm(2.0, ["a", "b"])},
            "chroma": {"load": load, "warm": warm(8.0, ["a", "x"])},
        }
        for _ in range(3)
    ]
    return {"systems": ["pattern_db", "chroma"], "truth": truth, "raw": rounds}


def test_figures_ratios_and_recall() -> None:
    figs = table.figures(_measured())
    assert figs["chroma"]["knn_ms"] == 8.0
    assert figs["chroma"]["knn_recall"] == 0.1
    assert figs["pattern_db"]["knn_recall"] == 0.2
    assert figs["chroma"]["keyword_ms"] is None
    text = table.table(figs, {"pattern_db": "pattern-db", "chroma": "Chroma"}, markdown=True)
    lines = text.splitlines()
    assert lines[0] == "| measure | pattern-db | Chroma |"
    assert lines[2] == (
        "| k=10 over all items (exact, or the system's default) | 2.00 ms, recall 0.20 "
        "| 8.00 ms (4x), recall 0.10 |"
    )
    assert lines[4] == "| keyword, one agent (k=10) | none | none |"
    assert "| bulk load | 1,000 items/s | 1,000 items/s (1x) |" in lines
    assert json.dumps(figs)
