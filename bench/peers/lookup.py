"""A stand-in embedding function for the stores that embed text themselves (LangGraph's API).

It returns the workload's precomputed vector of each text, so those stores index exactly the
vectors the others are given, and nothing is computed or downloaded. A query vector is passed
as a token that the function swaps back for the vector.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
