"""PatternStore: LangGraph's BaseStore contract over a constellation, checked through langgraph."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest

pytest.importorskip("langgraph")

import numpy as np
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchOp,
)

from pattern_db import ConstellationDb, fts, vector
from pattern_db.errors import InvalidData
from pattern_db.integrations.langgraph import PatternStore
from pattern_db.queries import memory

VOCAB = ["pizza", "pasta", "rain", "sun", "cat", "dog", "code", "python"]


def embed_words(texts: list[str]) -> list[list[float]]:
    """A deterministic embedder: how often each vocabulary word occurs (plus a floor)."""
    return [[t.lower().count(w) + 0.01 for w in VOCAB] for t in texts]


async def aembed_words(texts: list[str]) -> list[list[float]]:
    return embed_words(texts)


class WordEmbedder:
    """The shape of a pattern-db Embedder: dimensions, model_name, embed(texts) -> array."""

    dimensions = len(VOCAB)
    model_name = "word-counts-v1"

    def embed(self, texts: list[str]) -> np.ndarray[Any, Any]:
        return np.asarray(embed_words(list(texts)), dtype=np.float32)


@pytest.fixture
def db() -> Iterator[ConstellationDb]:
    with ConstellationDb.open_in_memory() as handle:
        yield handle


@pytest.fixture
def store(db: ConstellationDb) -> Iterator[PatternStore]:
    s = PatternStore(db)
    yield s
    s.close()


@pytest.fixture
def vstore(db: ConstellationDb) -> Iterator[PatternStore]:
    s = PatternStore(db, index={"dims": len(VOCAB), "embed": embed_words, "fields": ["text"]})
    yield s
    s.close()


def keys(items: list[Any]) -> list[str]:
    return [i.key for i in items]


# -- put / get / delete ------------------------------------------------------------------------


def test_put_get_roundtrip_and_missing_keys(store: PatternStore) -> None:
    store.put(("users", "u1"), "prefs", {"food": "pizza", "n": 3, "tags": ["a", "b"]})
    item = store.get(("users", "u1"), "prefs")
    assert isinstance(item, Item)
    assert (item.namespace, item.key, item.value) == (
        ("users", "u1"),
        "prefs",
        {"food": "pizza", "n": 3, "tags": ["a", "b"]},
    )
    assert item.created_at == item.updated_at
    assert item.created_at.tzinfo is not None
    assert store.get(("users", "u1"), "other") is None
    assert store.get(("users", "u2"), "prefs") is None
    assert store.get(("users",), "prefs") is None
    assert store.get(("nobody",), "x") is None


def test_update_in_place_keeps_created_at(store: PatternStore) -> None:
    store.put(("docs",), "d1", {"v": 1})
    first = store.get(("docs",), "d1")
    store.put(("docs",), "d1", {"v": 2})
    second = store.get(("docs",), "d1")
    assert first is not None
    assert second is not None
    assert second.value == {"v": 2}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert len(store.search(("docs",))) == 1


def test_delete_and_deleting_a_missing_key(store: PatternStore) -> None:
    store.put(("docs",), "d1", {"v": 1})
    store.delete(("docs",), "d1")
    assert store.get(("docs",), "d1") is None
    store.delete(("docs",), "d1")
    store.delete(("never",), "was")
    assert store.search(()) == []


def test_namespaces_are_validated(store: PatternStore) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put((), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(("a.b",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.put(("langgraph",), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(("a", ""), "k", {"v": 1})])
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("a.b",), "k")])
    with pytest.raises(InvalidData):
        store.put(("a",), "k", {"v": object()})
    assert store.search(()) == []


def test_a_batch_is_one_transaction_and_runs_in_order(store: PatternStore) -> None:
    results = store.batch(
        [
            GetOp(("n",), "k"),
            PutOp(("n",), "k", {"v": 1}),
            GetOp(("n",), "k"),
            SearchOp(("n",)),
            ListNamespacesOp(),
            PutOp(("n",), "k", None),
            GetOp(("n",), "k"),
        ]
    )
    assert results[0] is None
    assert isinstance(results[2], Item)
    assert results[2].value == {"v": 1}
    assert isinstance(results[3], list)
    assert keys(results[3]) == ["k"]
    assert results[4] == [("n",)]
    assert results[1] is None
    assert results[5] is None
    assert results[6] is None
    with pytest.raises(InvalidData):
        store.batch([PutOp(("n",), "a", {"v": 1}), PutOp(("n",), "b", {"v": {1, 2}.__iter__()})])
    # The failed batch left nothing behind.
    assert store.search(("n",)) == []


# -- search ------------------------------------------------------------------------------------


def test_search_by_namespace_prefix_newest_first_with_paging(store: PatternStore) -> None:
    for i in range(5):
        store.put(("a", "b"), f"k{i}", {"i": i})
    store.put(("a",), "top", {"i": 9})
    store.put(("ab",), "other", {"i": 9})
    assert keys(store.search(("a", "b"), limit=10)) == ["k4", "k3", "k2", "k1", "k0"]
    assert keys(store.search(("a", "b"), limit=2, offset=1)) == ["k3", "k2"]
    assert keys(store.search(("a", "b"), limit=2, offset=4)) == ["k0"]
    assert store.search(("a", "b"), limit=2, offset=9) == []
    assert store.search(("a", "b"), limit=0) == []
    assert keys(store.search(("a",))) == ["top", "k4", "k3", "k2", "k1", "k0"]
    assert len(store.search(())) == 7
    assert store.search(("zzz",)) == []
    assert all(r.score is None for r in store.search(("a",)))
    with pytest.raises(InvalidData):
        store.search(("a",), limit=-1)


def test_search_filters_every_operator(store: PatternStore) -> None:
    rows = {
        "r1": {"score": 1, "color": "red", "meta": {"lang": "en"}, "tags": ["x"], "ok": True},
        "r2": {"score": 2.5, "color": "blue", "meta": {"lang": "de"}, "tags": ["x", "y"]},
        "r3": {"score": 4, "color": "red", "meta": {"lang": "en", "v": 2}, "ok": False},
        "r4": {"color": "{}", "when": "2026-01-02"},
    }
    for key, value in rows.items():
        store.put(("f",), key, value)

    def found(flt: dict[str, Any]) -> list[str]:
        return sorted(keys(store.search(("f",), filter=flt)))

    assert found({"color": "red"}) == ["r1", "r3"]
    assert found({"color": {"$eq": "blue"}}) == ["r2"]
    assert found({"color": {"$ne": "red"}}) == ["r2", "r4"]
    assert found({"score": {"$gt": 2.5}}) == ["r3"]
    assert found({"score": {"$gte": 2.5}}) == ["r2", "r3"]
    assert found({"score": {"$lt": 2.5}}) == ["r1"]
    assert found({"score": {"$lte": 2.5}}) == ["r1", "r2"]
    assert found({"score": {"$gt": 1, "$lt": 4}}) == ["r2"]
    assert found({"score": {"$gte": 1}, "color": "red"}) == ["r1", "r3"]
    assert found({"meta": {"lang": "en"}}) == ["r1", "r3"]
    assert found({"tags": ["x"]}) == ["r1"]
    assert found({"ok": True}) == ["r1"]
    assert found({"ok": False}) == ["r3"]
    assert found({"score": 4.0}) == ["r3"]
    assert found({"missing": None}) == ["r1", "r2", "r3", "r4"]
    assert found({"color": "{}"}) == ["r4"]
    assert found({"when": {"$gte": "2026-01-01"}}) == ["r4"]
    assert found({"nope": "x"}) == []
    with pytest.raises(InvalidData):
        store.search(("f",), filter={"score": {"$in": [1]}})
    with pytest.raises(InvalidData):
        store.search(("f",), filter={'a"b': 1})


def test_list_namespaces_as_documented(store: PatternStore) -> None:
    for ns in [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"), ("a", "b", "f")]:
        store.put(ns, "k", {"v": 1})
    store.put(("a", "c", "f"), "k", {"v": 1})
    assert store.list_namespaces(prefix=("a", "b"), max_depth=3) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("a", "b", "f"),
    ]
    assert store.list_namespaces(suffix=("f",)) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")]
    assert store.list_namespaces(prefix=("a", "b"), suffix=("d", "*")) == [
        ("a", "b", "d", "e"),
        ("a", "b", "d", "i"),
    ]
    assert store.list_namespaces(max_depth=1) == [("a",)]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d", "e"), ("a", "b", "d", "i")]
    assert store.list_namespaces(prefix=("x",)) == []
    assert store.batch(
        [ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("a", "c")),))]
    ) == [[("a", "c", "f")]]


def test_vector_search_ranks_by_similarity(vstore: PatternStore) -> None:
    vstore.put(("m", "u1"), "food", {"text": "I love pizza and pizza again"})
    vstore.put(("m", "u1"), "weather", {"text": "rain rain and some sun"})
    vstore.put(("m", "u2"), "pets", {"text": "my cat and my dog"})
    vstore.put(("m", "u1"), "plain", {"text": "pizza"}, index=False)
    found = vstore.search(("m",), query="pizza", limit=4)
    # Hybrid: "food" is first in both lists; "plain" has no vector but its words match.
    assert keys(found)[0] == "food"
    assert found[0].score == 1.0
    assert sorted(keys(found)) == ["food", "pets", "plain", "weather"]
    assert all(r.score is not None for r in found)
    # Words that match no item: ranked by the vectors alone, the unindexed item last.
    unmatched = vstore.search(("m",), query="pizza please", limit=4)
    assert keys(unmatched)[0] == "food"
    assert keys(unmatched)[3] == "plain"
    assert unmatched[3].score is None
    vector_only = PatternStore(
        vstore.db,
        index={"dims": len(VOCAB), "embed": embed_words, "fields": ["text"]},
        query_mode="vector",
    )
    ranked = vector_only.search(("m",), query="pizza", limit=4)
    assert keys(ranked) == ["food", "pets", "weather", "plain"]
    assert ranked[3].score is None
    assert [round(r.score or 0, 3) for r in ranked[:1]] == [1.0]
    assert keys(vector_only.search(("m", "u2"), query="pizza")) == ["pets"]
    assert keys(
        vector_only.search(("m",), query="dog", filter={"text": {"$ne": "x"}}, limit=1)
    ) == ["pets"]
    assert keys(vector_only.search(("m",), query="pizza", limit=2, offset=1)) == [
        "pets",
        "weather",
    ]
    vector_only.close()


def test_index_fields_per_put_and_multiple_vectors(vstore: PatternStore) -> None:
    vstore.put(("d",), "two", {"title": "python code", "body": "cat"}, index=["title", "body"])
    vstore.put(("d",), "one", {"text": "code"})
    stats = vector.get_embedding_stats(vstore.db)
    assert stats.total_embeddings == 3
    ranked = vstore.search(("d",), query="cat")
    assert keys(ranked)[0] == "two"
    vstore.put(("d",), "two", {"title": "no vectors now"}, index=False)
    assert vector.get_embedding_stats(vstore.db).total_embeddings == 1
    vstore.delete(("d",), "one")
    assert vector.get_embedding_stats(vstore.db).total_embeddings == 0


def test_keyword_search_without_an_index(store: PatternStore) -> None:
    store.put(("n",), "a", {"text": "the dentist is on tuesday"})
    store.put(("n",), "b", {"text": "buy oat milk"})
    store.put(("n",), "c", {"text": "call the dentist back"})
    found = store.search(("n",), query="dentist")
    assert sorted(keys(found[:2])) == ["a", "c"]
    assert all(r.score is not None for r in found[:2])
    # A query ranks, it never hides: the other item follows without a score.
    assert keys(found[2:]) == ["b"]
    assert found[2].score is None
    assert keys(store.search(("n",), query="dentist", limit=1, offset=2)) == ["b"]
    assert keys(store.search(("n",), query="what's up? a:b \"", limit=3)) == ["c", "b", "a"]


def test_pattern_embedder_records_its_model(db: ConstellationDb) -> None:
    s = PatternStore(db, index={"dims": len(VOCAB), "embed": WordEmbedder()})  # type: ignore[typeddict-item]
    s.put(("d",), "k", {"text": "sun and rain"})
    assert keys(s.search(("d",), query="sun")) == ["k"]
    meta = vector.get_index_config(db)
    assert meta is not None
    assert (meta.dimensions, meta.model) == (len(VOCAB), "word-counts-v1")
    with pytest.raises(InvalidData):
        PatternStore(db, index={"dims": 3, "embed": embed_words})
    with pytest.raises(InvalidData):
        PatternStore(db, index={"dims": 8})  # type: ignore[typeddict-item]


# -- TTL ---------------------------------------------------------------------------------------


def _expires_at(db: ConstellationDb, store: PatternStore, key: str) -> str | None:
    entries = memory.list_archival_entries(db, store.agent_id)
    [entry] = [e for e in entries if e.metadata["langgraph"]["key"] == key]  # type: ignore[index]
    return entry.metadata["langgraph"]["expires_at"]  # type: ignore[index,no-any-return]


def test_ttl_refreshes_on_read_and_sweeps(db: ConstellationDb) -> None:
    store = PatternStore(db, ttl={"default_ttl": 60, "refresh_on_read": True})
    store.put(("t",), "kept", {"v": 1})
    store.put(("t",), "forever", {"v": 1}, ttl=None)
    store.put(("t",), "gone", {"v": 1}, ttl=0)
    before = _expires_at(db, store, "kept")
    assert before is not None
    assert _expires_at(db, store, "forever") is None
    store.get(("t",), "kept", refresh_ttl=False)
    assert _expires_at(db, store, "kept") == before
    store.get(("t",), "kept")
    after = _expires_at(db, store, "kept")
    assert after is not None
    assert after > before
    store.search(("t",), refresh_ttl=True)
    assert (_expires_at(db, store, "kept") or "") > after
    # Expired but not yet swept: still visible, as omit_expired is off by default.
    assert store.get(("t",), "gone", refresh_ttl=False) is not None
    assert store.sweep_ttl() == 1
    assert sorted(keys(store.search(("t",)))) == ["forever", "kept"]
    assert store.sweep_ttl() == 0
    store.close()


def test_omit_expired_hides_items_before_the_sweep(db: ConstellationDb) -> None:
    store = PatternStore(db, ttl={"omit_expired": True})
    store.put(("t",), "gone", {"v": 1}, ttl=0)
    store.put(("t",), "here", {"v": 1}, ttl=60)
    assert store.get(("t",), "gone") is None
    assert keys(store.search(("t",))) == ["here"]
    assert store.list_namespaces() == [("t",)]
    store.delete(("t",), "here")
    assert store.list_namespaces() == []
    store.start_ttl_sweeper(sweep_interval_minutes=60)
    assert "pattern-store-ttl" in [t.name for t in threading.enumerate()]
    assert store.stop_ttl_sweeper(timeout=5) is True
    assert "pattern-store-ttl" not in [t.name for t in threading.enumerate()]
    store.close()
    configured = PatternStore(db, ttl={"sweep_interval_minutes": 30})
    assert "pattern-store-ttl" in [t.name for t in threading.enumerate()]
    configured.close()
    assert "pattern-store-ttl" not in [t.name for t in threading.enumerate()]


# -- storage, isolation, construction ----------------------------------------------------------


def test_items_are_archival_memory_of_the_store_agent(db: ConstellationDb) -> None:
    alice = PatternStore(db, agent_id="alice")
    bob = PatternStore(db, agent_id="bob")
    alice.put(("notes",), "n1", {"text": "alice likes pasta"})
    bob.put(("notes",), "n1", {"text": "bob likes rain"})
    assert alice.get(("notes",), "n1").value == {"text": "alice likes pasta"}  # type: ignore[union-attr]
    assert bob.get(("notes",), "n1").value == {"text": "bob likes rain"}  # type: ignore[union-attr]
    [entry] = memory.list_archival_entries(db, "alice")
    assert entry.content == '{"text": "alice likes pasta"}'
    assert [m.id for m in fts.search_archival(db, "pasta", agent_id="alice")] == [entry.id]
    assert fts.search_archival(db, "pasta", agent_id="bob") == []
    alice.close()
    bob.close()


def test_from_conn_string_persists(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with PatternStore.from_conn_string(path) as store:
        store.put(("p",), "k", {"v": "kept"})
    with PatternStore.from_conn_string(str(path)) as store:
        item = store.get(("p",), "k")
        assert item is not None
        assert item.value == {"v": "kept"}
    with PatternStore.from_conn_string(":memory:") as store:
        assert store.get(("p",), "k") is None


def test_async_api_with_an_async_embedder(db: ConstellationDb) -> None:
    store = PatternStore(db, index={"dims": len(VOCAB), "embed": aembed_words, "fields": ["text"]})

    async def main() -> None:
        await store.aput(("a",), "k1", {"text": "python code"})
        await store.aput(("a",), "k2", {"text": "sun sun"})
        got = await store.aget(("a",), "k1")
        assert got is not None
        assert got.value == {"text": "python code"}
        assert keys(await store.asearch(("a",), query="sun")) == ["k2", "k1"]
        assert await store.alist_namespaces() == [("a",)]
        await store.adelete(("a",), "k1")
        results = await store.abatch([GetOp(("a",), "k1"), GetOp(("a",), "k2")])
        assert results[0] is None
        assert isinstance(results[1], Item)

    asyncio.run(main())
    store.close()


class State(TypedDict):
    user: str
    reply: str


def test_a_real_langgraph_graph_reads_and_writes_the_store(tmp_path: Path) -> None:
    def remember(state: State, *, store: BaseStore) -> dict[str, str]:
        namespace = ("memories", state["user"])
        seen = store.search(namespace)
        store.put(namespace, f"visit{len(seen)}", {"text": f"visit number {len(seen) + 1}"})
        return {"reply": f"{len(seen) + 1} visit(s)"}

    builder = StateGraph(State)
    builder.add_node("remember", remember)
    builder.add_edge(START, "remember")
    builder.add_edge("remember", END)
    with PatternStore.from_conn_string(tmp_path / "graph.db") as store:
        graph = builder.compile(store=store)
        assert graph.invoke({"user": "u1", "reply": ""})["reply"] == "1 visit(s)"
        assert graph.invoke({"user": "u1", "reply": ""})["reply"] == "2 visit(s)"
        assert graph.invoke({"user": "u2", "reply": ""})["reply"] == "1 visit(s)"
        assert asyncio.run(graph.ainvoke({"user": "u1", "reply": ""}))["reply"] == "3 visit(s)"
        assert store.list_namespaces() == [("memories", "u1"), ("memories", "u2")]


def test_pattern_db_never_imports_langgraph_or_mcp() -> None:
    code = (
        "import sys, pattern_db, pattern_db.cli, pattern_db.integrations; "
        "print(sorted(m for m in ('langgraph', 'mcp', 'langchain_core') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
