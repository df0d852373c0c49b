"""Loading the vector cache: batches, rows written around pattern-db, the file map given back."""

from __future__ import annotations

import numpy as np
import pytest

from pattern_db import ConstellationDb, vector
from pattern_db.search.vector import load as _vector_load
from pattern_db.vector import ContentType
from tests.vector_support import as_tuples, brute_force, random_dataset, use_path

Q = np.array([1.0, 0.2, -0.3, 0.4], np.float32)


@pytest.mark.parametrize("batch", [3, 4096])
def test_a_load_in_batches_skips_unusable_rows(
    db: ConstellationDb, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(_vector_load, "_BATCH", batch)
    data = random_dataset(db, 40, 4)
    with db.writer() as conn:
        # Written around pattern-db: a blob of another length, and a vector of NaNs.
        conn.execute(
            "INSERT INTO embeddings (content_type, content_id, agent_id, embedding) "
            "VALUES ('message', 'short', 'a1', ?), ('message', 'nan', 'a1', ?)",
            (np.ones(3, np.float32).tobytes(), np.full(4, np.nan, np.float32).tobytes()),
        )
        conn.execute("UPDATE embedding_meta SET generation = generation + 1")
    use_path(db, "sqlite-vec")
    by_sql = vector.knn_search(db, Q, 50)
    use_path(db, "cache")
    assert vector.vector_cache_info(db).vectors == 40
    got = vector.knn_search(db, Q, 50)
    assert got == by_sql
    want = brute_force(data, Q, 50)
    assert [(c, ch) for c, ch, _ in as_tuples(got)] == [(c, ch) for c, ch, _ in want]
    for content_type, agent_id in [(ContentType.MESSAGE, "a1"), (None, "a2")]:
        found = vector.knn_search(db, Q, 7, content_type, agent_id=agent_id)
        expected = brute_force(data, Q, 7, content_type, agent_id)
        assert [(c, ch) for c, ch, _ in as_tuples(found)] == [(c, ch) for c, ch, _ in expected]


def test_a_load_gives_back_the_file_map_and_keeps_the_setting(
    file_db: ConstellationDb,
) -> None:
    random_dataset(file_db, 30, 4)
    with file_db.reader() as conn:
        before = conn.execute("PRAGMA mmap_size").fetchone()[0]
    assert before > 0
    assert vector.warm_vector_cache(file_db) == 30
    with file_db.reader() as conn:
        assert conn.execute("PRAGMA mmap_size").fetchone()[0] == before
    vector.configure_vector_cache(file_db, enabled=False)
    assert len(vector.knn_search(file_db, Q, 5)) == 5  # SQL still reads through the map
