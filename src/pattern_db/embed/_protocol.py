"""What an embedding model must offer (`Embedder`), word-window chunking, and a fake for tests.

An embedder is anything with `dimensions`, `model_name` and `embed(texts)`. One that knows its
own input limit also offers `chunk_text(text)` and `chunking` (see `ChunkingEmbedder`); for the
others `index_pending` cuts long text into overlapping word windows (`WordChunker`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pattern_db.errors import InvalidData

__all__ = ["ChunkingEmbedder", "Embedder", "HashEmbedder", "WordChunker"]

_WORD = re.compile(r"\w+", re.UNICODE)


@runtime_checkable
class Embedder(Protocol):
    """A text embedding model: `embed(texts)` returns one row of `dimensions` floats per text.

    `model_name` is recorded with the constellation's vector index, so vectors of two models are
    never mixed. Example: `embedder.embed(["hello"]).shape == (1, embedder.dimensions)`.
    """

    @property
    def dimensions(self) -> int:
        """Length of every vector."""
        ...

    @property
    def model_name(self) -> str:
        """The id recorded with the index (e.g. "all-MiniLM-L6-v2-onnx-int8")."""
        ...

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """Return a float32 array of shape (len(texts), dimensions)."""
        ...


@runtime_checkable
class ChunkingEmbedder(Embedder, Protocol):
    """An embedder that cuts long text itself, in units its model counts (tokens)."""

    @property
    def chunking(self) -> str:
        """The chunking parameters as a short id (part of every content hash)."""
        ...

    def chunk_text(self, text: str) -> list[str]:
        """Return the pieces of `text` to embed, each within the model's input limit."""
        ...


class WordChunker:
    """Cut text into windows of at most `max_words` words that overlap by `overlap` words.

    For embedders without a tokenizer of their own. Example: `WordChunker(3, 1).split("a b c d e")
    == ["a b c", "c d e"]`.

    Raises:
        InvalidData: `max_words` < 1 or `overlap` outside 0..max_words-1.
    """

    def __init__(self, max_words: int = 180, overlap: int = 30) -> None:
        if max_words < 1 or not 0 <= overlap < max_words:
            raise InvalidData(f"need max_words >= 1 and 0 <= overlap < max_words, got {max_words}")
        self.max_words = max_words
        self.overlap = overlap

    @property
    def chunking(self) -> str:
        """The parameters as an id, e.g. "words:180/30"."""
        return f"words:{self.max_words}/{self.overlap}"

    def split(self, text: str) -> list[str]:
        """Return the windows of `text` (the text itself when it is short enough)."""
        spans = [m.span() for m in re.finditer(r"\S+", text)]
        if len(spans) <= self.max_words:
            return [text]
        step = self.max_words - self.overlap
        pieces = []
        for start in range(0, len(spans), step):
            window = spans[start : start + self.max_words]
            pieces.append(text[window[0][0] : window[-1][1]])
            if start + self.max_words >= len(spans):
                break
        return pieces


class HashEmbedder:
    """A deterministic fake model for tests: hashed bag of words, L2-normalised.

    Each word (lower-cased) maps to a fixed pseudo-random vector seeded by its hash and a text is
    the normalised sum of its words' vectors, so texts sharing words are near each other and the
    same text always gives the same vector. Text without words gets a vector seeded by the whole
    text. `calls` counts the texts embedded so far.

    Example: `HashEmbedder(16).embed(["red apple", "red car"])`.
    """

    def __init__(self, dimensions: int = 32, *, name: str | None = None) -> None:
        if dimensions < 1:
            raise InvalidData(f"dimensions must be >= 1, got {dimensions}")
        self._dimensions = dimensions
        self._name = name or f"hash-bow-{dimensions}"
        self.calls = 0
        self._cache: dict[str, np.ndarray[Any, Any]] = {}

    @property
    def dimensions(self) -> int:
        """Length of every vector."""
        return self._dimensions

    @property
    def model_name(self) -> str:
        """The recorded id ("hash-bow-<dimensions>" unless named)."""
        return self._name

    def _unit(self, token: str) -> np.ndarray[Any, Any]:
        found = self._cache.get(token)
        if found is None:
            digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
            rng = np.random.default_rng(int.from_bytes(digest, "little"))
            found = rng.standard_normal(self._dimensions)
            self._cache[token] = found
        return found

    def embed(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """Return one unit float32 row per text."""
        out = np.zeros((len(texts), self._dimensions), dtype=np.float64)
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            for word in words or [f"\x00{text}"]:
                out[i] += self._unit(word)
            norm = np.linalg.norm(out[i])
            if norm == 0.0:
                # Words whose vectors cancel exactly: fall back to the text's own vector.
                out[i] = self._unit(f"\x00{text}")
                norm = np.linalg.norm(out[i])
            out[i] /= norm
        self.calls += len(texts)
        return out.astype(np.float32)
