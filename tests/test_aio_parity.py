"""pattern_db.aio mirrors the sync API: every public function and method has an async twin."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import pattern_db.queries
from pattern_db.aio import _codegen
from pattern_db.aio._handles import AsyncConstellationDb
from pattern_db.connection import ConstellationDb

# ConstellationDb methods that hand out connections or per-handle state: no async twin.
_CONNECTION_INTERNALS = {
    "reader",
    "writer",
    "exclusive",
    "snapshot",
    "handle_state",
    "existing_state",
    "in_transaction",
}


def _shape(fn: Any, *, skip_first: bool = False) -> list[tuple[str, Any, Any]]:
    params = list(inspect.signature(fn).parameters.values())
    if skip_first:
        params = params[1:]
    return [(p.name, p.kind, p.default) for p in params]


def _takes_db(fn: Any) -> bool:
    return any(
        isinstance(p.annotation, str) and p.annotation.strip() in _codegen.HANDLE_TYPES
        for p in inspect.signature(fn).parameters.values()
    )


def test_the_checked_in_files_are_what_the_generator_writes() -> None:
    stale = [
        str(path.relative_to(_codegen.AIO))
        for path, text in _codegen.generate().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run `python -m pattern_db.aio._codegen`"


def test_every_query_domain_is_generated() -> None:
    package = Path(pattern_db.queries.__file__).parent
    domains = {m.name for m in pkgutil.iter_modules([str(package)]) if not m.name.startswith("_")}
    domains -= {"recurrence", "preview"}  # pure helpers of other domains, not in queries.__all__
    generated = {Path(m.path).stem for m in _codegen.MODULES if m.path.startswith("queries/")}
    assert domains <= generated


def _pairs() -> list[tuple[ModuleType, ModuleType, str]]:
    found = []
    for spec in _codegen.MODULES:
        sync = importlib.import_module(spec.source)
        twin = importlib.import_module("pattern_db.aio." + spec.path[:-3].replace("/", "."))
        found.extend((sync, twin, name) for name in sync.__all__)
    return found


@pytest.mark.parametrize(
    ("sync", "twin", "name"), _pairs(), ids=lambda v: getattr(v, "__name__", str(v))
)
def test_every_public_function_has_an_async_twin(
    sync: ModuleType, twin: ModuleType, name: str
) -> None:
    original = getattr(sync, name)
    assert hasattr(twin, name), f"{twin.__name__} lacks {name}"
    mirrored = getattr(twin, name)
    assert name in twin.__all__
    if not inspect.isfunction(original):
        assert mirrored is original  # classes and constants are the sync ones
        return
    if not _takes_db(original):
        assert mirrored is original  # pure helpers stay sync
        return
    assert _shape(mirrored) == _shape(original)
    if name == "search":  # the builder: set up in sync code, `await builder.execute()`
        assert not inspect.iscoroutinefunction(mirrored)
    else:
        assert inspect.iscoroutinefunction(mirrored), f"{twin.__name__}.{name} is not async"


def _class_pairs() -> list[tuple[type, type, str]]:
    from pattern_db.aio.global_db import AsyncGlobalDb
    from pattern_db.aio.memory_docs import AsyncMemoryDocs
    from pattern_db.aio.search import AsyncHybridSearchBuilder
    from pattern_db.global_db import GlobalDb
    from pattern_db.memory_docs import MemoryDocs
    from pattern_db.search import HybridSearchBuilder

    found = []
    for sync, twin in [
        (MemoryDocs, AsyncMemoryDocs),
        (GlobalDb, AsyncGlobalDb),
        (HybridSearchBuilder, AsyncHybridSearchBuilder),
        (ConstellationDb, AsyncConstellationDb),
    ]:
        names = [n for n in dir(sync) if not n.startswith("_")]
        if sync is ConstellationDb:
            names = [n for n in names if n not in _CONNECTION_INTERNALS]
        found.extend((sync, twin, n) for n in names)
    return found


@pytest.mark.parametrize(
    ("sync", "twin", "name"), _class_pairs(), ids=lambda v: getattr(v, "__name__", str(v))
)
def test_every_public_method_has_an_async_twin(sync: type, twin: type, name: str) -> None:
    original = inspect.getattr_static(sync, name)
    assert hasattr(twin, name), f"{twin.__name__} lacks {name}"
    mirrored = inspect.getattr_static(twin, name)
    if isinstance(original, property):
        assert isinstance(mirrored, property)
        return
    if isinstance(original, classmethod):  # open, open_in_memory: async constructors
        assert isinstance(mirrored, classmethod)
        assert inspect.iscoroutinefunction(mirrored.__func__)
        assert _shape(mirrored.__func__, skip_first=True) == _shape(
            original.__func__, skip_first=True
        )
        return
    assert _shape(mirrored, skip_first=True) == _shape(original, skip_first=True)
    returns = inspect.signature(original).return_annotation
    if returns == sync.__name__ and sync.__name__ == "HybridSearchBuilder":
        assert not inspect.iscoroutinefunction(mirrored)  # a builder step returns the builder
    elif name in {"transaction", "require_vec"}:
        assert not inspect.iscoroutinefunction(mirrored)  # `async with`; no I/O
    else:
        assert inspect.iscoroutinefunction(mirrored), f"{twin.__name__}.{name} is not async"
