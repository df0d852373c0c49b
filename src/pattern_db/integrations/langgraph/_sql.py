"""SQL of the LangGraph store over `archival_entries`: builders only, no I/O.

A store item is an archival entry whose `metadata` holds `{"langgraph": {"namespace": "a.b",
"key": ..., "value": {...}, "updated_at": ..., "expires_at": ..., "ttl": ...}}`. Namespaces are
stored dot-joined (LangGraph forbids dots in labels, so the text is unambiguous). Every value a
caller gives, JSON paths included, is bound; the only text formatted into SQL comes from the
constants here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pattern_db.errors import InvalidData

__all__ = [
    "NS",
    "filter_sql",
    "list_namespaces_sql",
    "namespace_sql",
    "search_sql",
    "select_ids_sql",
]

NS = "json_extract(metadata, '$.langgraph.namespace')"
_UPDATED = "json_extract(metadata, '$.langgraph.updated_at')"
_EXPIRES = "json_extract(metadata, '$.langgraph.expires_at')"
_VALUE_PATH = "$.langgraph.value"
COLUMNS = "id, content, metadata, created_at"
# Newest first, as LangGraph's SQL stores list unranked results; id breaks ties.
_ORDER = f"ORDER BY {_UPDATED} DESC, id"

GET = f"SELECT {COLUMNS} FROM archival_entries WHERE id = ?"
EXISTING = "SELECT id FROM archival_entries WHERE id IN (SELECT value FROM json_each(?))"
REFRESH = """
UPDATE archival_entries SET metadata = json_set(metadata, '$.langgraph.expires_at', ?) WHERE id = ?
"""
SWEEP = f"""
DELETE FROM archival_entries WHERE agent_id = ? AND {NS} IS NOT NULL AND {_EXPIRES} <= ?
RETURNING id
"""

_COMPARISONS = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _path(parent: str, key: str) -> str:
    if not isinstance(key, str):
        raise InvalidData(f"filter keys must be strings, got {key!r}")
    if '"' in key or "\\" in key:
        raise InvalidData(f"filter key {key!r} holds a quote or backslash; rename the field")
    return f'{parent}."{key}"'


def _equals(path: str, expected: Any) -> tuple[str, list[Any]]:
    """Return a condition that is 1 when the value at `path` equals `expected`, else 0 (not NULL).

    Python equality is the model (LangGraph's InMemoryStore): True == 1 == 1.0, a missing field
    equals None, and a string never equals an object whose JSON text it happens to be.
    """
    if expected is None:
        return "(json_type(metadata, ?) IS NULL OR json_type(metadata, ?) = 'null')", [path, path]
    if isinstance(expected, str):
        return (
            "(json_type(metadata, ?) IS 'text' AND json_extract(metadata, ?) IS ?)",
            [path, path, expected],
        )
    if isinstance(expected, bool | int | float):
        return (
            "(json_type(metadata, ?) IN ('integer', 'real', 'true', 'false')"
            " AND json_extract(metadata, ?) IS ?)",
            [path, path, float(expected) if isinstance(expected, float) else int(expected)],
        )
    if isinstance(expected, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in expected):
            return _operators(path, expected)
        parts = ["(json_type(metadata, ?) IS 'object')"]
        params: list[Any] = [path]
        for key, sub in expected.items():
            sql, sub_params = _equals(_path(path, key), sub)
            parts.append(sql)
            params.extend(sub_params)
        return "(" + " AND ".join(parts) + ")", params
    if isinstance(expected, list | tuple):
        parts = ["(json_type(metadata, ?) IS 'array')", "(json_array_length(metadata, ?) IS ?)"]
        params = [path, path, len(expected)]
        for i, sub in enumerate(expected):
            sql, sub_params = _equals(f"{path}[{i}]", sub)
            parts.append(sql)
            params.extend(sub_params)
        return "(" + " AND ".join(parts) + ")", params
    raise InvalidData(f"cannot filter on a value of type {type(expected).__name__}: {expected!r}")


def _operators(path: str, ops: Mapping[str, Any]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    params: list[Any] = []
    for op, operand in ops.items():
        if op == "$eq":
            sql, sub = _equals(path, operand)
        elif op == "$ne":
            sql, sub = _equals(path, operand)
            sql = f"(NOT {sql})"
        elif op in _COMPARISONS:
            sql, sub = _compare(path, _COMPARISONS[op], op, operand)
        else:
            raise InvalidData(
                f"unsupported filter operator {op!r}; use $eq, $ne, $gt, $gte, $lt or $lte"
            )
        parts.append(sql)
        params.extend(sub)
    return "(" + " AND ".join(parts) + ")", params


def _compare(path: str, sign: str, op: str, operand: Any) -> tuple[str, list[Any]]:
    # Numbers compare with numbers and strings with strings (ISO dates order as text); SQLite
    # would otherwise rank every string above every number.
    if isinstance(operand, int | float) and not isinstance(operand, bool):
        types = "('integer', 'real')"
    elif isinstance(operand, str):
        types = "('text')"
    else:
        raise InvalidData(f"{op} needs a number or a string, got {operand!r}")
    return (
        f"(json_type(metadata, ?) IN {types} AND json_extract(metadata, ?) {sign} ?)",
        [path, path, operand],
    )


def filter_sql(filter: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """Return the WHERE condition (and its parameters) for a LangGraph `filter` on item values.

    Example: `filter_sql({"score": {"$gte": 3}, "color": "red"})`.

    Raises:
        InvalidData: an unknown operator, a comparison with a non-number/non-string, or a key
            that holds a double quote or backslash.
    """
    if not filter:
        return "1", []
    parts: list[str] = []
    params: list[Any] = []
    for key, expected in filter.items():
        sql, sub = _equals(_path(_VALUE_PATH, key), expected)
        parts.append(sql)
        params.extend(sub)
    return " AND ".join(parts), params


def namespace_sql(prefix: tuple[str, ...]) -> tuple[str, list[Any]]:
    """Return the condition selecting store items whose namespace starts with `prefix`."""
    if not prefix:
        return f"{NS} IS NOT NULL", []
    text = ".".join(prefix)
    dotted = text + "."
    return f"({NS} = ? OR substr({NS}, 1, ?) = ?)", [text, len(dotted), dotted]


def _where(
    agent_id: str, prefix: tuple[str, ...], filter: Mapping[str, Any] | None, now: str | None
) -> tuple[str, list[Any]]:
    ns_sql, ns_params = namespace_sql(prefix)
    f_sql, f_params = filter_sql(filter)
    sql = f"agent_id = ? AND {ns_sql} AND {f_sql}"
    params: list[Any] = [agent_id, *ns_params, *f_params]
    if now is not None:
        sql += f" AND ({_EXPIRES} IS NULL OR {_EXPIRES} > ?)"
        params.append(now)
    return sql, params


def search_sql(
    agent_id: str,
    prefix: tuple[str, ...],
    filter: Mapping[str, Any] | None,
    limit: int,
    offset: int,
    *,
    now: str | None = None,
    exclude_ids: str | None = None,
) -> tuple[str, list[Any]]:
    """Return the query listing matching items newest first, one page.

    `now` (canonical timestamp text) leaves out items expired by then; `exclude_ids` is a JSON
    array of entry ids to leave out.
    """
    where, params = _where(agent_id, prefix, filter, now)
    if exclude_ids is not None:
        where += " AND id NOT IN (SELECT value FROM json_each(?))"
        params.append(exclude_ids)
    sql = f"SELECT {COLUMNS} FROM archival_entries WHERE {where} {_ORDER} LIMIT ? OFFSET ?"
    return sql, [*params, limit, offset]


def select_ids_sql(
    agent_id: str,
    prefix: tuple[str, ...],
    filter: Mapping[str, Any] | None,
    ids_json: str,
    *,
    now: str | None = None,
) -> tuple[str, list[Any]]:
    """Return the query keeping, of the entries in `ids_json` (a JSON array), the matching items."""
    where, params = _where(agent_id, prefix, filter, now)
    sql = (
        f"SELECT {COLUMNS} FROM archival_entries "
        f"WHERE id IN (SELECT value FROM json_each(?)) AND {where}"
    )
    return sql, [ids_json, *params]


def list_namespaces_sql(
    agent_id: str, prefix: tuple[str, ...], *, now: str | None = None
) -> tuple[str, list[Any]]:
    """Return the query listing the distinct namespaces (dot-joined) under a literal prefix."""
    where, params = _where(agent_id, prefix, None, now)
    return f"SELECT DISTINCT {NS} FROM archival_entries WHERE {where}", params
