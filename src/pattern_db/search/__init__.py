"""Search over a constellation: full text (FTS5), vectors and the hybrid of both.

`pattern_db.search` is the hybrid builder the seed calls as `search(db).text(...).execute()`;
its submodules are the layers under it:

* `tables`: the searchable tables and the one visibility rule (agent scope, archived, deleted,
  inactive, folders) every retriever applies;
* `fts_query` and `fts`: query text and full-text search (no numpy needed);
* `vector`: the vector index (a plain table) and its exact k-NN, with an in-process cache;
* `neighbours`: vector hits checked against the visibility rule;
* `fusion` and `hybrid`: ranked lists fused into one result list.

`pattern_db.fts` and `pattern_db.vector` are the same modules under the seed's names.
"""

from pattern_db.search.fusion import vector_similarity
from pattern_db.search.hybrid import (
    ContentFilter,
    FusionMethod,
    HybridSearchBuilder,
    ScoreBreakdown,
    SearchMode,
    SearchResult,
    search,
)

__all__ = [
    "ContentFilter",
    "FusionMethod",
    "HybridSearchBuilder",
    "ScoreBreakdown",
    "SearchMode",
    "SearchResult",
    "search",
    "vector_similarity",
]
