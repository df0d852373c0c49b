"""Vector retrieval for hybrid search, under the same visibility rules as full-text search.

`vector.knn_search` applies the content type, the agent's scope and the folder inside the k-NN.
The flags are not vector properties (archived and deleted messages, inactive blocks keep their
vectors), so the hits are checked against the visibility predicate of `search.tables` and given
their content in the same query (a vector whose content is not stored has nothing to show and
is left out), and k grows until enough visible hits are in hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pattern_db.codec import json_text
from pattern_db.connection import Executor
from pattern_db.models.content import ContentType
from pattern_db.search import vector
from pattern_db.search.fusion import vector_similarity as vector_similarity
from pattern_db.search.tables import TABLES_BY_TYPE, Detail, Visibility, content_sql

if TYPE_CHECKING:
    from pattern_db.search import ContentFilter

__all__ = ["check_visible", "index_metric", "visible_neighbours"]

# Growth factor of k when visibility checks removed vector hits and more may exist.
_K_GROWTH = 4


def index_metric(db: Executor) -> str:
    """Return the metric of the constellation's vector index ("cosine" when there is none yet)."""
    meta = vector.get_index_config(db)
    return "cosine" if meta is None else meta.metric


def visible_neighbours(
    db: Executor,
    embedding: Any,
    f: ContentFilter,
    fetch: int,
    max_distance: float | None,
    details: dict[tuple[str, str], Detail],
) -> list[vector.VectorSearchResult]:
    """Return up to `fetch` nearest visible items (one per content item, its nearest chunk).

    The k-NN starts at k = 1.5 * fetch and grows k (x4, up to vector.MAX_K) until it has `fetch`
    visible items, runs out of vectors or passes `max_distance`; a hidden row (archived message,
    inactive block) is thus never counted, and the list does not come up short because of it
    (unless more than vector.MAX_K hidden rows are nearer).
    """
    visibility = f.visibility()
    found: dict[tuple[str, str], vector.VectorSearchResult] = {}
    hidden: set[tuple[str, str]] = set()
    # Ask for half as many again at once: a scan costs about the same for any small k, and one
    # call then usually survives the rows the visibility check drops.
    k = min(fetch + fetch // 2, vector.MAX_K)
    while True:
        raw = vector.knn_search(
            db,
            embedding,
            k,
            f.content_type,
            agent_id=f.agent_id,
            include_shared=f.include_shared,
            folder_id=f.folder_id,
        )
        near = [r for r in raw if max_distance is None or r.distance <= max_distance]
        mine: dict[tuple[str, str], vector.VectorSearchResult] = {}
        for r in near:
            mine.setdefault((r.content_type, r.content_id), r)
        fresh = {key: r for key, r in mine.items() if key not in found and key not in hidden}
        visible = check_visible(db, fresh, visibility, details)
        hidden.update(key for key in fresh if key not in visible)
        found.update((key, fresh[key]) for key in visible)
        exhausted = len(raw) < k or len(near) < len(raw) or k >= vector.MAX_K
        if exhausted or len(found) >= fetch:
            break
        k = min(k * _K_GROWTH, vector.MAX_K)
    ordered = sorted(found.values(), key=lambda r: (r.distance, r.content_type, r.content_id))
    return ordered[:fetch]


def check_visible(
    db: Executor,
    fresh: dict[tuple[str, str], vector.VectorSearchResult],
    visibility: Visibility,
    details: dict[tuple[str, str], Detail],
) -> set[tuple[str, str]]:
    """Return the keys of `fresh` the visibility rules allow, recording content for new ones."""
    visible = set()
    wanted: dict[ContentType, list[str]] = {}
    for key, r in fresh.items():
        known = details.get(key)
        if known is not None:
            # Found by FTS under the same rules, so visible; keep the chunk the vector matched.
            known.chunk_index = r.chunk_index
            visible.add(key)
        else:
            wanted.setdefault(r.content_type, []).append(r.content_id)
    if not wanted:
        return visible
    with db.reader() as conn:
        for content_type, ids in wanted.items():
            sql, params = content_sql(TABLES_BY_TYPE[content_type], visibility)
            params["ids"] = json_text(ids)
            for id_, agent_id, content in conn.execute(sql, params):
                key = (content_type, id_)
                details[key] = Detail(
                    content_type, id_, content, agent_id, None, fresh[key].chunk_index
                )
                visible.add(key)
    return visible
