"""Vector writes inside a transaction: queries in it see them from the cache, commit folds them."""

from __future__ import annotations

import numpy as np
import pytest

from pattern_db import ConstellationDb, vector
from pattern_db.connection import Transaction
from pattern_db.models import Agent, Message, MessageRole
from pattern_db.queries import message as mq
from pattern_db.queries.agent import create_agent
from pattern_db.search.vector import cache as _vector_cache
from pattern_db.search.vector import sql as _vector_sql
from pattern_db.vector import ContentType
from tests.vector_support import Dataset, Row, as_tuples, brute_force, random_dataset, use_path

Q = np.array([1.0, 0.2, -0.3, 0.4], np.float32)
FILTERS = [(None, None), (ContentType.MESSAGE, None), (None, "a1"), (ContentType.MESSAGE, "a2")]


class Paths:
    """Counts which path answered: sqlite-vec in SQL, and cache reads from the database."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sql = self.syncs = self.loads = 0
        real_knn = _vector_sql.sqlite_vec_knn
        real_sync = _vector_cache.VectorCache._sync
        real_load = _vector_cache.VectorCache._load

        def knn(*args: object) -> object:
            self.sql += 1
            return real_knn(*args)  # type: ignore[arg-type]

        def sync(cache: _vector_cache.VectorCache, *args: object) -> bool:
            self.syncs += 1
            return real_sync(cache, *args)  # type: ignore[arg-type]

        def load(cache: _vector_cache.VectorCache, *args: object) -> bool:
            self.loads += 1
            return real_load(cache, *args)  # type: ignore[arg-type]

        monkeypatch.setattr(_vector_sql, "sqlite_vec_knn", knn)
        monkeypatch.setattr(_vector_cache.VectorCache, "_sync", sync)
        monkeypatch.setattr(_vector_cache.VectorCache, "_load", load)

    def reset(self) -> None:
        self.sql = self.syncs = self.loads = 0

    def reads(self) -> tuple[int, int, int]:
        return self.sql, self.syncs, self.loads


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Paths:
    return Paths(monkeypatch)


def _check(db: ConstellationDb | Transaction, data: Dataset, k: int = 12) -> None:
    for content_type, agent_id in FILTERS:
        got = vector.knn_search(db, Q, k, content_type, agent_id=agent_id)
        want = brute_force(data, Q, k, content_type, agent_id)
        assert [(c, ch) for c, ch, _ in as_tuples(got)] == [(c, ch) for c, ch, _ in want]


def _generation(db: ConstellationDb) -> int:
    with db.reader() as conn:
        return int(conn.execute("SELECT generation FROM embedding_meta").fetchone()[0])


def _write_some(tx: Transaction, data: Dataset, rng: np.random.Generator, tag: str) -> None:
    """Insert, bulk insert, update and delete inside `tx`, keeping the oracle in step."""
    data.insert(tx, Row(ContentType.MESSAGE, f"{tag}-near", Q * 2, agent_id="a1"))
    many = rng.standard_normal((6, 4)).astype(np.float32)
    ids = vector.insert_embeddings(
        tx, "message", [f"{tag}-b{i}" for i in range(6)], many, agent_ids="a2"
    )
    for i, rowid in enumerate(ids):
        data.rows[rowid] = Row(ContentType.MESSAGE, f"{tag}-b{i}", many[i], agent_id="a2")
    committed = next(r for r in data.rows.values() if r.content_type == ContentType.MESSAGE)
    data.delete(tx, committed.content_type, committed.content_id)
    victim = next(r for r in data.rows.values() if r.agent_id == "a3")
    data.delete(tx, victim.content_type, victim.content_id)
    data.insert(tx, Row(victim.content_type, victim.content_id, -Q, agent_id="a3"))
    # An update of a row written in this same transaction.
    data.delete(tx, ContentType.MESSAGE, f"{tag}-b0")
    data.insert(tx, Row(ContentType.MESSAGE, f"{tag}-b0", Q * 0.5 + 0.1, agent_id="a2"))


def test_a_query_inside_the_transaction_sees_its_writes_from_the_cache(
    db: ConstellationDb, paths: Paths
) -> None:
    data = random_dataset(db, 60, 4)
    use_path(db, "cache")
    paths.reset()
    rng = np.random.default_rng(5)
    with db.transaction() as tx:
        _write_some(tx, data, rng, "t")
        _check(tx, data)
        _check(db, data)  # the same thread through the handle reads the transaction too
        assert [r.content_id for r in vector.knn_search(tx, Q, 1)] == ["t-near"]
    assert paths.reads() == (0, 0, 0)
    # Committed: folded into the cache, nothing read back from the database.
    _check(db, data)
    assert paths.reads() == (0, 0, 0)
    info = vector.vector_cache_info(db)
    assert (info.vectors, info.generation) == (len(data.rows), _generation(db))


def test_rollback_drops_the_transaction_writes(db: ConstellationDb, paths: Paths) -> None:
    data = random_dataset(db, 60, 4)
    use_path(db, "cache")
    paths.reset()
    before = Dataset(dict(data.rows))
    rng = np.random.default_rng(6)

    def fail() -> None:
        with db.transaction() as tx:
            _write_some(tx, data, rng, "r")
            _check(tx, data)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    _check(db, before)
    assert paths.reads() == (0, 0, 0)
    info = vector.vector_cache_info(db)
    assert (info.vectors, info.generation) == (len(before.rows), _generation(db))


def test_back_to_back_transactions_fold_without_reading(db: ConstellationDb, paths: Paths) -> None:
    data = random_dataset(db, 30, 4)
    use_path(db, "cache")
    paths.reset()
    rng = np.random.default_rng(7)
    for i in range(20):
        with db.transaction() as tx:
            data.insert(
                tx, Row(ContentType.MESSAGE, f"s{i}", rng.standard_normal(4), agent_id="a1")
            )
    _check(db, data)
    assert paths.reads() == (0, 0, 0)


def test_a_rolled_back_savepoint_makes_the_transaction_use_sql(
    db: ConstellationDb, paths: Paths
) -> None:
    data = random_dataset(db, 40, 4)
    use_path(db, "cache")
    with db.transaction() as tx:
        data.insert(tx, Row(ContentType.MESSAGE, "kept", Q * 3, agent_id="a1"))

        def undone() -> None:
            with db.writer():
                vector.insert_embedding(tx, "message", "undone", Q * 5, agent_id="a1")
                raise RuntimeError

        with pytest.raises(RuntimeError):
            undone()
        _check(tx, data)
        assert [r.content_id for r in vector.knn_search(tx, Q, 1)] == ["kept"]
        assert paths.sql > 0
        data.insert(tx, Row(ContentType.MESSAGE, "later", -Q, agent_id="a2"))
        _check(tx, data)
    _check(db, data)
    info = vector.vector_cache_info(db)
    assert (info.vectors, info.generation) == (len(data.rows), _generation(db))


def test_a_trigger_changing_vectors_inside_the_transaction_is_seen(
    db: ConstellationDb, paths: Paths
) -> None:
    data = random_dataset(db, 40, 4)
    create_agent(db, Agent(id="a1", name="a1", model_provider="x", model_name="x"))
    message = Message(
        id="m1", agent_id="a1", role=MessageRole.USER, content_json={}, content_preview="m"
    )
    mq.create_message(db, message)
    data.insert(db, Row(ContentType.MESSAGE, "m1", Q * 2, agent_id="a1"))
    use_path(db, "cache")
    with db.transaction() as tx:
        data.insert(tx, Row(ContentType.MESSAGE, "n1", -Q, agent_id="a1"))
        mq.delete_message(tx, "m1")  # its vectors go with it, by trigger
        data.rows = {r: row for r, row in data.rows.items() if row.content_id != "m1"}
        _check(tx, data)
    _check(db, data)
    assert vector.vector_cache_info(db).vectors == len(data.rows)


def test_a_transaction_over_a_stale_cache_stays_exact(file_db: ConstellationDb) -> None:
    data = random_dataset(file_db, 40, 4)
    use_path(file_db, "cache")
    assert file_db.path is not None
    with ConstellationDb.open(file_db.path) as other:
        data.insert(other, Row(ContentType.MESSAGE, "other", Q * 4, agent_id="a1"))
    with file_db.transaction() as tx:
        data.insert(tx, Row(ContentType.MESSAGE, "mine", -Q, agent_id="a2"))
        _check(tx, data)
    _check(file_db, data)
    info = vector.vector_cache_info(file_db)
    assert (info.vectors, info.generation) == (len(data.rows), _generation(file_db))


def test_another_thread_does_not_see_an_open_transaction(file_db: ConstellationDb) -> None:
    import threading

    data = random_dataset(file_db, 40, 4)
    use_path(file_db, "cache")
    before = Dataset(dict(data.rows))
    seen: list[list[str]] = []
    with file_db.transaction() as tx:
        data.insert(tx, Row(ContentType.MESSAGE, "pending", Q * 3, agent_id="a1"))
        worker = threading.Thread(
            target=lambda: seen.append([r.content_id for r in vector.knn_search(file_db, Q, 1)])
        )
        worker.start()
        worker.join()
    assert seen == [[brute_force(before, Q, 1)[0][0]]]
    assert [r.content_id for r in vector.knn_search(file_db, Q, 1)] == ["pending"]
