"""Vector retrieval for hybrid search, under the same visibility rules as full-text search.

`vector.knn_search` filters by content type and by the agent a vector was stored with, inside the
KNN. What an agent may see is wider or narrower than that (shared blocks, constellation rows and
folder passages are stored under other owners; archived messages and inactive blocks keep their
vectors), so the hits are checked against the FTS visibility predicate of `_search_sql` and given
their content in the same query, and k grows until enough visible hits are in hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pattern_db.codec import json_text
from pattern_db.connection import Executor, scalar
from pattern_db.models.content import ContentType
from pattern_db.models.memory import CONSTELLATION_OWNER
from pattern_db.search import vector
from pattern_db.search.fusion import vector_similarity as vector_similarity
from pattern_db.search.tables import TABLES_BY_TYPE, Detail, Visibility, content_sql

if TYPE_CHECKING:
    from pattern_db.search import ContentFilter

__all__ = ["index_metric", "knn_plans", "visible_neighbours"]

# Growth factor of k when visibility checks removed vector hits and more may exist.
_K_GROWTH = 4


_Plan = tuple[ContentType | None, str | None]

_SHARING_OWNERS = """
SELECT DISTINCT b.agent_id
FROM shared_block_agents AS s JOIN memory_blocks AS b ON b.id = s.block_id
WHERE s.agent_id = ? ORDER BY b.agent_id
"""
_HAS_FOLDERS = "SELECT EXISTS (SELECT 1 FROM folder_attachments WHERE agent_id = ?)"


def index_metric(db: Executor) -> str:
    """Return the metric of the constellation's vector index ("cosine" when there is none yet)."""
    meta = vector.get_index_config(db)
    return "cosine" if meta is None else meta.metric


def knn_plans(f: ContentFilter, db: Executor) -> list[_Plan]:
    """Return the (content type, agent) KNN searches whose union covers what `f` can see.

    The vector index partitions by the agent a vector was stored with, so everything owned by an
    agent is searched with that agent inside the KNN: the agent's own rows, and with
    `include_shared` the constellation's (`_constellation_`) rows and the rows of each agent that
    shares a block with it (whose unshared blocks the visibility check then drops). File passages
    belong to no agent: they are searched unscoped and kept when their folder is attached to the
    agent (or is the filter's folder).
    """
    agent = f.agent_id
    if agent is None:
        return [(f.content_type, None)]
    types = f.content_types()
    plans: list[_Plan] = []
    owned = [t for t in types if t is not ContentType.FILE_PASSAGE]
    if owned:
        plans.append((f.content_type, agent))
    with db.reader() as conn:
        if f.include_shared and any(t is not ContentType.MESSAGE for t in owned):
            shared_type = None if f.content_type is None else f.content_type
            plans.append((shared_type, CONSTELLATION_OWNER))
            if ContentType.MEMORY_BLOCK in owned:
                owners = [row[0] for row in conn.execute(_SHARING_OWNERS, (agent,))]
                plans.extend(
                    (ContentType.MEMORY_BLOCK, owner)
                    for owner in owners
                    if owner not in (agent, CONSTELLATION_OWNER)
                )
        if ContentType.FILE_PASSAGE in types and (
            f.folder_id is not None or scalar(conn, _HAS_FOLDERS, (agent,))
        ):
            plans.append((ContentType.FILE_PASSAGE, None))
    return plans


def visible_neighbours(
    db: Executor,
    embedding: Any,
    f: ContentFilter,
    fetch: int,
    max_distance: float | None,
    details: dict[tuple[str, str], Detail],
) -> list[vector.VectorSearchResult]:
    """Return up to `fetch` nearest visible items (one per content item, its nearest chunk).

    Each plan's KNN starts at k = 1.5 * fetch and grows k (x4, up to vector.MAX_K) until it has
    `fetch` visible items, runs out of vectors or passes `max_distance`; a hidden row (archived
    message, inactive block, another agent's folder) is thus never counted, and the list does not
    come up short because of it (unless more than vector.MAX_K hidden rows are nearer).
    """
    visibility = f.visibility()
    found: dict[tuple[str, str], vector.VectorSearchResult] = {}
    hidden: set[tuple[str, str]] = set()
    for content_type, agent in knn_plans(f, db):
        # Ask for half as many again at once: a scan costs about the same for any small k, and
        # one call then usually survives the rows the visibility check drops.
        k = min(fetch + fetch // 2, vector.MAX_K)
        while True:
            raw = vector.knn_search(db, embedding, k, content_type, agent_id=agent)
            near = [r for r in raw if max_distance is None or r.distance <= max_distance]
            mine: dict[tuple[str, str], vector.VectorSearchResult] = {}
            for r in near:
                mine.setdefault((r.content_type, r.content_id), r)
            fresh = {key: r for key, r in mine.items() if key not in found and key not in hidden}
            visible = check_visible(db, fresh, visibility, details)
            hidden.update(key for key in fresh if key not in visible)
            found.update((key, fresh[key]) for key in visible)
            seen = sum(1 for key in mine if key in found)
            exhausted = len(raw) < k or len(near) < len(raw) or k >= vector.MAX_K
            if exhausted or seen >= fetch:
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
