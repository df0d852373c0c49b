"""numpy brute force, the floor: the vectors in one .npy file sorted by agent, `M @ q`, top k.

Not a store (no text, no inserts, no keyword search): it shows what the hardware does with the
same vectors. Load writes the matrix grouped by agent (so an agent is one contiguous slice) with
`np.save`; open is `np.load`; k-NN is one matrix-vector product over all rows or the agent's
slice, exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.peers.base import Adapter, Unsupported, package_version
from bench.peers.workload import AGENTS, Items


class Numpy(Adapter):
    name = "numpy"
    label = "numpy"
    order = 90
    notes = __doc__ or ""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.parts: list[Items] = []
        self.matrix: np.ndarray[Any, Any] | None = None
        self.ids: list[str] = []
        self.slices: dict[str, tuple[int, int]] = {}

    def versions(self) -> dict[str, str]:
        return {"numpy": package_version("numpy")}

    def create(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.parts = []

    def bulk_load(self, items: Items) -> None:
        self.parts.append(items)

    def _save(self) -> None:
        assert self.path is not None
        ids = [i for p in self.parts for i in p.ids]
        agents = np.array([AGENTS.index(a) for p in self.parts for a in p.agents])
        order = np.argsort(agents, kind="stable")
        matrix = np.concatenate([p.vectors for p in self.parts])[order]
        np.save(self.path / "vectors.npy", matrix)
        bounds = np.searchsorted(agents[order], np.arange(len(AGENTS) + 1))
        meta = {
            "ids": [ids[i] for i in order.tolist()],
            "slices": {a: [int(bounds[j]), int(bounds[j + 1])] for j, a in enumerate(AGENTS)},
        }
        (self.path / "meta.json").write_text(json.dumps(meta))
        self.parts = []

    def open(self, path: Path) -> None:
        self.matrix = np.load(path / "vectors.npy")
        meta = json.loads((path / "meta.json").read_text())
        self.ids = meta["ids"]
        self.slices = {a: (s[0], s[1]) for a, s in meta["slices"].items()}

    def knn(self, query: np.ndarray[Any, Any], k: int, agent: str | None) -> list[str]:
        assert self.matrix is not None
        start, stop = (0, len(self.matrix)) if agent is None else self.slices[agent]
        scores = self.matrix[start:stop] @ query
        top = np.argpartition(-scores, k - 1)[:k]
        ordered = top[np.argsort(-scores[top])]
        return [self.ids[start + int(i)] for i in ordered]

    def insert_one(self, item_id: str, agent: str, text: str, vector: np.ndarray[Any, Any]) -> None:
        raise Unsupported

    def insert_in_transaction(
        self, items: Items, query: np.ndarray[Any, Any], k: int
    ) -> float | None:
        raise Unsupported

    def close(self) -> None:
        if self.parts:
            self._save()
        self.matrix = None


ADAPTER = Numpy()
