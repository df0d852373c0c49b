"""The in-memory vector cache: load policy, budget, and staying in step with every writer."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from pattern_db import ConstellationDb, vector
from pattern_db.errors import InvalidData
from pattern_db.search.vector import cache as _vector_cache
from pattern_db.search.vector import store as _vector_store
from pattern_db.vector import ContentType
from tests.vector_support import Dataset, Row, as_tuples, brute_force, random_dataset, use_path

Q = np.array([1.0, 0.2, -0.3, 0.4], np.float32)


def _ids(results: list[vector.VectorSearchResult]) -> list[str]:
    return [r.content_id for r in results]


def _check(db: ConstellationDb, data: Dataset, k: int = 15) -> None:
    for content_type, agent_id in [(None, None), (ContentType.MESSAGE, "a1"), (None, "a2")]:
        got = vector.knn_search(db, Q, k, content_type, agent_id=agent_id)
        want = brute_force(data, Q, k, content_type, agent_id)
        assert [(c, ch) for c, ch, _ in as_tuples(got)] == [(c, ch) for c, ch, _ in want]


def test_small_index_loads_on_first_query(db: ConstellationDb) -> None:
    random_dataset(db, 30, 4)
    assert not vector.vector_cache_info(db).loaded
    vector.knn_search(db, Q, 3)
    info = vector.vector_cache_info(db)
    assert (info.loaded, info.vectors, info.generation) == (True, 30, 30)


def test_large_index_loads_on_second_query(
    db: ConstellationDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_vector_cache, "_EAGER_LOAD_FLOATS", 10)
    data = random_dataset(db, 30, 4)
    first = vector.knn_search(db, Q, 5)  # answered by sqlite-vec
    assert not vector.vector_cache_info(db).loaded
    second = vector.knn_search(db, Q, 5)
    assert vector.vector_cache_info(db).loaded
    assert first == second
    _check(db, data)


def test_over_budget_the_cache_stays_cold(db: ConstellationDb) -> None:
    data = random_dataset(db, 40, 4)
    vector.configure_vector_cache(db, max_bytes=1000)
    assert vector.warm_vector_cache(db) == 0
    _check(db, data)
    info = vector.vector_cache_info(db)
    assert (info.loaded, info.max_bytes) == (False, 1000)
    vector.configure_vector_cache(db)
    assert vector.warm_vector_cache(db) == 40
    with pytest.raises(InvalidData):
        vector.configure_vector_cache(db, max_bytes=-1)


def test_writes_of_this_handle_are_applied_without_rereading(db: ConstellationDb) -> None:
    data = random_dataset(db, 50, 4)
    use_path(db, "cache")
    data.insert(db, Row(ContentType.MESSAGE, "new", Q * 2, agent_id="a1"))
    info = vector.vector_cache_info(db)
    assert (info.vectors, info.generation) == (51, 51)  # applied at commit
    assert _ids(vector.knn_search(db, Q, 1, agent_id="a1")) == ["new"]
    data.delete(db, ContentType.MESSAGE, "new")
    assert vector.vector_cache_info(db).vectors == 50
    victim = next(iter(data.rows.values()))
    vector.update_embedding(db, victim.content_type, victim.content_id, -Q, agent_id="a3")
    data.delete(db, victim.content_type, victim.content_id)  # already gone: keeps the oracle
    data.insert(db, Row(victim.content_type, victim.content_id, -Q, agent_id="a3"))
    assert vector.vector_cache_info(db).loaded
    _check(db, data)
    assert _ids(vector.knn_search(db, -Q, 1, agent_id="a3")) == [victim.content_id]
    many = np.random.default_rng(1).standard_normal((20, 4)).astype(np.float32)
    vector.insert_embeddings(
        db, "memory_block", [f"bulk{i}" for i in range(20)], many, agent_ids="a1"
    )
    for i in range(20):
        data.rows[-1 - i] = Row(ContentType.MEMORY_BLOCK, f"bulk{i}", many[i], agent_id="a1")
    assert vector.vector_cache_info(db).vectors == 70
    _check(db, data, k=40)


def test_transaction_writes_show_after_commit_only(db: ConstellationDb) -> None:
    data = random_dataset(db, 20, 4)
    use_path(db, "cache")
    with db.transaction() as tx:
        vector.insert_embedding(tx, "message", "committed", Q * 3, agent_id="a1")
        data.rows[-1] = Row(ContentType.MESSAGE, "committed", Q * 3, agent_id="a1")
    assert _ids(vector.knn_search(db, Q, 1)) == ["committed"]

    def fail() -> None:
        with db.transaction() as tx:
            vector.insert_embedding(tx, "message", "rolled-back", Q * 4)
            vector.delete_embeddings(tx, "message", "committed")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert _ids(vector.knn_search(db, Q, 1)) == ["committed"]
    _check(db, data)


def _generation(db: ConstellationDb) -> int:
    with db.reader() as conn:
        return int(conn.execute("SELECT generation FROM embedding_meta").fetchone()[0])


def test_another_handle_writes_are_found(
    file_db: ConstellationDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = random_dataset(file_db, 60, 4)
    use_path(file_db, "cache")
    loads: list[int] = []
    real_load = _vector_cache.VectorCache._load

    def counting_load(self: _vector_cache.VectorCache, *args: object) -> bool:
        loads.append(1)
        return real_load(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(_vector_cache.VectorCache, "_load", counting_load)
    assert file_db.path is not None
    with ConstellationDb.open(file_db.path) as other:
        data.insert(other, Row(ContentType.MESSAGE, "other", Q, agent_id="a1"))
        assert _ids(vector.knn_search(file_db, Q, 1, "message", agent_id="a1")) == ["other"]
        for row in list(data.rows.values())[:10]:
            data.delete(other, row.content_type, row.content_id)
        vector.update_embedding(other, "message", "other", -Q, agent_id="a2")
        data.rows = {r: row for r, row in data.rows.items() if row.content_id != "other"}
        data.rows[10_000] = Row(ContentType.MESSAGE, "other", -Q, agent_id="a2")
        _check(file_db, data)
        info = vector.vector_cache_info(file_db)
        assert (info.vectors, info.generation, len(loads)) == (51, _generation(file_db), 0)
        # A large change is read by reloading everything.
        rng = np.random.default_rng(2)
        bulk = rng.standard_normal((1100, 4)).astype(np.float32)
        vector.insert_embeddings(
            other, "message", [f"b{i}" for i in range(1100)], bulk, agent_ids="a1"
        )
        for i in range(1100):
            data.rows[20_000 + i] = Row(ContentType.MESSAGE, f"b{i}", bulk[i], agent_id="a1")
        _check(file_db, data)
        assert (vector.vector_cache_info(file_db).vectors, len(loads)) == (1151, 1)


_CHILD = """
import sys
from pattern_db import ConstellationDb, vector
with ConstellationDb.open(sys.argv[1]) as db:
    if sys.argv[2] == "insert":
        vector.insert_embedding(db, "message", sys.argv[3], [1.0, 0.2, -0.3, 0.4], agent_id="a1")
    else:
        vector.delete_embeddings(db, "message", sys.argv[3])
"""


def _child(path: Path, op: str, content_id: str) -> None:
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), op, content_id], check=True, timeout=120
    )


def test_a_vector_written_by_another_process_is_found(file_db: ConstellationDb) -> None:
    random_dataset(file_db, 40, 4)
    use_path(file_db, "cache")
    assert file_db.path is not None
    before = _ids(vector.knn_search(file_db, Q, 1, agent_id="a1"))
    _child(file_db.path, "insert", "from-child")
    assert _ids(vector.knn_search(file_db, Q, 1, agent_id="a1")) == ["from-child"]
    info = vector.vector_cache_info(file_db)
    assert (info.loaded, info.vectors, info.generation) == (True, 41, _generation(file_db))
    _child(file_db.path, "delete", "from-child")
    assert _ids(vector.knn_search(file_db, Q, 1, agent_id="a1")) == before


def test_reset_reloads_with_the_new_settings(db: ConstellationDb) -> None:
    random_dataset(db, 20, 4)
    use_path(db, "cache")
    vector.reset_embeddings(db, 2)
    vector.insert_embedding(db, "message", "flat", [1, 0])
    assert _ids(vector.knn_search(db, [1, 0.1], 5)) == ["flat"]
    assert vector.vector_cache_info(db).vectors == 1


def test_concurrent_queries_and_writes(file_db: ConstellationDb) -> None:
    data = random_dataset(file_db, 200, 4)
    use_path(file_db, "cache")
    errors: list[BaseException] = []
    stop = threading.Event()

    def query() -> None:
        try:
            while not stop.is_set():
                for result in vector.knn_search(file_db, Q, 10, agent_id="a1"):
                    assert result.content_id.startswith(("c", "w"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    readers = [threading.Thread(target=query) for _ in range(3)]
    for t in readers:
        t.start()
    rng = np.random.default_rng(3)
    for i in range(60):
        row = Row(
            ContentType.MESSAGE, f"w{i}", rng.standard_normal(4).astype(np.float32), None, "a1"
        )
        data.insert(file_db, row)
        if i % 3 == 0:
            data.delete(file_db, ContentType.MESSAGE, f"w{i // 2}")
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    _check(file_db, data, k=30)


def test_the_cache_belongs_to_its_handle_and_close_frees_it(tmp_path: Path) -> None:
    first = ConstellationDb.open(tmp_path / "c.db")
    random_dataset(first, 10, 4)
    vector.warm_vector_cache(first)
    with ConstellationDb.open(tmp_path / "c.db") as second:
        assert not vector.vector_cache_info(second).loaded
    assert _vector_cache.existing_cache(first) is not None
    first.close()
    # close() frees the handle's state, whoever still holds the handle.
    assert _vector_cache.existing_cache(first) is None


@pytest.mark.parametrize(("max_slices", "blas_min_rows"), [(64, 32_768), (64, 0), (1, 32_768)])
def test_tail_dead_rows_and_rebuilds_stay_exact(
    db: ConstellationDb, monkeypatch: pytest.MonkeyPatch, max_slices: int, blas_min_rows: int
) -> None:
    # Small thresholds so that rows pass through the tail, die, and get rebuilt in many orders;
    # max_slices=1 makes type-only queries scan the whole matrix with a mask; blas_min_rows=0
    # scores every slice through BLAS rather than numpy's loop.
    monkeypatch.setattr(_vector_store, "_REBUILD_MIN_ROWS", 3)
    monkeypatch.setattr(_vector_store, "_MAX_SLICES", max_slices)
    monkeypatch.setattr(_vector_store, "_BLAS_MIN_ROWS", blas_min_rows)
    data = random_dataset(db, 40, 4, agents=("a1", "a2", None))
    use_path(db, "cache")
    store = _vector_cache.cache_for(db).store
    assert store is not None
    rng = np.random.default_rng(4)
    rebuilds = 0
    for step in range(60):
        if step % 3 == 2:
            victim = list(data.rows.values())[int(rng.integers(0, len(data.rows)))]
            data.delete(db, victim.content_type, victim.content_id)
        else:
            agent = ("a1", "a2", "a3", None)[step % 4]
            ctype = list(ContentType)[int(rng.integers(0, 4))]
            data.insert(
                db, Row(ctype, f"s{step}", rng.standard_normal(4).astype(np.float32), None, agent)
            )
        store = _vector_cache.cache_for(db).store
        assert store is not None
        rebuilds += store.n == store.n_main and not store.dead
        for content_type, agent_id in [
            (None, None),
            (ContentType.MESSAGE, None),
            (None, "a3"),
            (ContentType.MEMORY_BLOCK, "a1"),
        ]:
            got = vector.knn_search(db, Q, 8, content_type, agent_id=agent_id)
            want = brute_force(data, Q, 8, content_type, agent_id)
            assert [(c, ch) for c, ch, _ in as_tuples(got)] == [(c, ch) for c, ch, _ in want]
    assert rebuilds > 5
    assert vector.vector_cache_info(db).vectors == len(data.rows)
