"""Store items as archival entries: ids, stored metadata, indexed text, and rows back to Items."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import msgspec
from langgraph.store.base import (
    Item,
    MatchCondition,
    PutOp,
    SearchItem,
    get_text_at_path,
    tokenize_path,
)

from pattern_db.models.memory import ArchivalEntry
from pattern_db.timeutil import format_ts, parse_ts

__all__ = [
    "Fields",
    "Stored",
    "StoredRow",
    "entry_for",
    "entry_id",
    "expiry",
    "index_texts",
    "literal_head",
    "namespace_matches",
    "row_item",
    "tokenize_fields",
]

# (path as written, tokenized path; "$" stays "$", the whole value) for each indexed field.
Fields = list[tuple[str, str | list[str]]]
StoredRow = tuple[str, str, str, str]  # id, content, metadata, created_at

_ID_PREFIX = "lgs_"


def entry_id(agent_id: str, namespace: tuple[str, ...], key: str) -> str:
    """Return the archival entry id of an item: a digest of (owner, namespace, key).

    Deterministic, so a put is one upsert and a get one primary-key lookup.
    """
    digest = hashlib.sha256(
        json.dumps([agent_id, list(namespace), key], ensure_ascii=False).encode()
    ).hexdigest()
    return _ID_PREFIX + digest[:32]


def tokenize_fields(fields: Sequence[str]) -> Fields:
    """Return each field path with its tokens (LangGraph's path syntax: `a.b`, `c[*].d`, `$`)."""
    return [(f, f if f == "$" else tokenize_path(f)) for f in fields]


def index_texts(value: Mapping[str, Any], fields: Fields) -> list[str]:
    """Return the texts of an item at the given field paths (missing fields are skipped)."""
    texts: list[str] = []
    for _, tokens in fields:
        texts.extend(t for t in get_text_at_path(dict(value), tokens) if t)
    return texts


def expiry(ttl_minutes: float | None, at: datetime) -> str | None:
    """Return when an item with this TTL expires if touched at `at` (None: never)."""
    if ttl_minutes is None:
        return None
    return format_ts(at + timedelta(minutes=ttl_minutes))


def entry_for(eid: str, agent_id: str, op: PutOp, texts: list[str], at: datetime) -> ArchivalEntry:
    """Return the archival entry holding a put's item; `content` is its indexed text (for FTS)."""
    value = dict(op.value or {})
    content = "\n".join(texts) if texts else json.dumps(value, ensure_ascii=False)
    stored = {
        "namespace": ".".join(op.namespace),
        "key": str(op.key),
        "value": value,
        "updated_at": format_ts(at),
        "expires_at": expiry(op.ttl, at),
        "ttl": op.ttl,
    }
    return ArchivalEntry(
        id=eid, agent_id=agent_id, content=content, metadata={"langgraph": stored}, created_at=at
    )


def row_item(row: StoredRow, score: float | None = None, *, search: bool = False) -> Stored:
    """Return the LangGraph Item (a SearchItem when `search`) in an archival row, with its TTL."""
    stored = msgspec.json.decode(row[2])["langgraph"]
    namespace = tuple(stored["namespace"].split("."))
    created = parse_ts(row[3])
    updated = parse_ts(stored["updated_at"])
    item: Item
    if search:
        item = SearchItem(namespace, stored["key"], stored["value"], created, updated, score)
    else:
        item = Item(
            value=stored["value"],
            key=stored["key"],
            namespace=namespace,
            created_at=created,
            updated_at=updated,
        )
    ttl = stored.get("ttl")
    return Stored(row[0], item, None if ttl is None else float(ttl), stored.get("expires_at"))


class Stored(NamedTuple):
    """An item read from the database: entry id, Item, TTL in minutes and expiry (or None)."""

    entry_id: str
    item: Item
    ttl: float | None
    expires_at: str | None


def literal_head(path: Sequence[str]) -> Iterator[str]:
    """Yield the labels of a namespace pattern before its first "*"."""
    for label in path:
        if label == "*":
            return
        yield label


def namespace_matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """Return whether a namespace matches a prefix or suffix condition ("*" matches any label)."""
    path = tuple(condition.path)
    if len(namespace) < len(path):
        return False
    part = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    if not path:
        return True
    return all(p == "*" or p == n for p, n in zip(path, part, strict=True))
