"""What the LangGraph-store adapters share: a stand-in embedding function and the store calls.

The stores embed text themselves (LangGraph's API); `LookupEmbed` returns the workload's
precomputed vector of each text, so they index exactly the vectors the others are given, and
nothing is computed or downloaded. A query vector is passed as a token the function swaps back.
`BaseStoreAdapter` makes the same `put` / `batch` / `search` calls on any `BaseStore`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.peers.base import Adapter
from bench.peers.workload import Items


class LookupEmbed:
    """`embed(texts) -> list[list[float]]`, the function form LangGraph's IndexConfig accepts."""

    def __init__(self) -> None:
        self.by_text: dict[str, np.ndarray[Any, Any]] = {}
        self.queries: dict[str, np.ndarray[Any, Any]] = {}
        self._next = 0

    def __call__(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            vector = self.queries.pop(text, None)
            if vector is None:
                vector = self.by_text.pop(text)
            out.append(vector.tolist())
        return out

    def expect(self, items: Items) -> None:
        """Make the items' texts embeddable (each once) by the next calls."""
        self.by_text.update(zip(items.texts, items.vectors, strict=True))

    def expect_one(self, text: str, vector: np.ndarray[Any, Any]) -> None:
        """Make one text embeddable once."""
        self.by_text[text] = vector

    def token(self, query: np.ndarray[Any, Any]) -> str:
        """Return a query string the next call embeds as `query`."""
        self._next += 1
        token = f"__query_{self._next}__"
        self.queries[token] = query
        return token


class BaseStoreAdapter(Adapter):
    """Items as `put((agent,), id, {"text": ..., "agent": ...})` on a LangGraph `BaseStore`."""

    def __init__(self) -> None:
        self.store: Any = None
        self.embed = LookupEmbed()

    def bulk_load(self, items: Items) -> None:
        from langgraph.store.base import PutOp

        self.embed.expect(items)
        self.store.batch(
            [
                PutOp(namespace=(a,), key=i, value={"text": t, "agent": a})
                for i, a, t in zip(items.ids, items.agents, items.texts, strict=True)
            ]
        )

    def knn(self, query: np.ndarray[Any, Any], k: int, agent: str | None) -> list[str]:
        prefix = () if agent is None else (agent,)
        found = self.store.search(prefix, query=self.embed.token(query), limit=k)
        return [item.key for item in found]

    def insert_one(self, item_id: str, agent: str, text: str, vector: np.ndarray[Any, Any]) -> None:
        self.embed.expect_one(text, vector)
        self.store.put((agent,), item_id, {"text": text, "agent": agent})
