"""Turning records into bound parameters and rows back into records: the one place for both.

Field names are column names. Each field's Python type decides how its column is stored:
aware `datetime` as canonical UTC text, `bool` as 0/1, `bytes` as BLOB, str enums as their value,
`str`/`int`/`float` as themselves, and everything else as JSON text (typed JSON such as a
`GroupMemberRole` is decoded back into its Struct). An optional field stores None as NULL.

Encoders and decoders are generated once per record type as plain Python functions, because rows
are decoded in hot paths (message history, search results) where per-field dispatch would cost
more than the query.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

import msgspec

from pattern_db import _validate
from pattern_db.timeutil import parse_ts

__all__ = ["RecordCodec", "codec_for", "json_text", "json_value", "ts_text"]

R = TypeVar("R", bound=msgspec.Struct)

# Naive text (SQLite's "YYYY-MM-DD HH:MM:SS") must fail the batch conversion and go through
# parse_ts, which reads it as UTC; msgspec would otherwise return a naive datetime.
_AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]

_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode


def json_text(value: Any, what: str = "JSON value") -> str:
    """Return the JSON text of a value (`msgspec.Raw` passes through exactly as written).

    Raises:
        InvalidData: the value holds NaN, infinity, a set or something JSON cannot encode.
    """
    return _validate.json_text(value, what)


def json_value(text: str | None) -> Any:
    """Return the Python value of stored JSON text (None for NULL)."""
    return None if text is None else _json_decode(text)


def ts_text(value: datetime | str, what: str = "timestamp") -> str:
    """Return the canonical stored text of an aware datetime or zoned timestamp text.

    Raises:
        InvalidData: the datetime or the text has no time zone, or is not a time.
    """
    return _validate.timestamp(value, what)


def _bool_int(value: Any) -> int:
    return 1 if value else 0


def _enum_check(enum_type: type[enum.Enum], what: str) -> Callable[[Any], Any]:
    """Return a function passing members through and checking anything else."""

    def check(value: Any) -> Any:
        if value.__class__ is enum_type:
            return value
        return _validate.enum_value(enum_type, value, what)

    return check


class _Field:
    """How one field is stored: its kind and, for JSON, the type to decode into."""

    def __init__(self, name: str, annotation: Any, default: Any) -> None:
        self.name = name
        args = typing.get_args(annotation)
        is_union = typing.get_origin(annotation) in (typing.Union, types.UnionType)
        inner = annotation
        self.nullable = False
        if is_union and type(None) in args:
            self.nullable = True
            rest = tuple(a for a in args if a is not type(None))
            inner = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
        if annotation is Any and default is None:
            self.nullable = True
        self.inner = inner
        self.kind = self._kind(inner)

    @staticmethod
    def _kind(inner: Any) -> str:
        if inner in (str, int, float):
            return "plain"
        if inner is bool:
            return "bool"
        if inner is bytes:
            return "bytes"
        if inner is datetime:
            return "ts"
        if isinstance(inner, type) and issubclass(inner, enum.Enum):
            return "enum"
        return "json"

    def is_untyped_json(self) -> bool:
        """True when the JSON is free-form (no schema to validate on decode)."""
        if self.inner is Any:
            return True
        origin = typing.get_origin(self.inner)
        return origin in (dict, list) and all(a is Any for a in typing.get_args(self.inner)[1:])


class RecordCodec(Generic[R]):
    """Encoder and decoder of one record type.

    Example: `codec_for(Agent).decode(row)`; `codec_for(Agent).encode(agent)` -> params tuple.
    """

    def __init__(self, cls: type[R]) -> None:
        self.cls = cls
        self.fields = tuple(
            _Field(info.name, info.type, info.default) for info in msgspec.structs.fields(cls)
        )
        self.columns: tuple[str, ...] = tuple(f.name for f in self.fields)
        self.column_list = ", ".join(self.columns)
        self.placeholders = ", ".join("?" for _ in self.columns)
        self.encode: Callable[[R], tuple[Any, ...]] = self._build_encoder()
        decode_one, decode_all = self._build_decoders()
        self.decode: Callable[[Sequence[Any]], R] = decode_one
        self._decode_all: Callable[[Sequence[Sequence[Any]]], list[R]] = decode_all

    def encode_named(self, record: R) -> dict[str, Any]:
        """Return the bound parameters of a record keyed by column (for `:name` SQL)."""
        return dict(zip(self.columns, self.encode(record), strict=True))

    def assignments(self, *, exclude: Collection[str]) -> str:
        """Return `col = :col, ...` for every column not excluded (UPDATE from encode_named)."""
        return ", ".join(f"{c} = :{c}" for c in self.columns if c not in exclude)

    def excluded_assignments(self, *, exclude: Collection[str]) -> str:
        """Return `col = excluded.col, ...` for every column not excluded (upserts)."""
        return ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in exclude)

    def insert_sql(self, table: str) -> str:
        """Return the INSERT of every column with positional parameters."""
        return f"INSERT INTO {table} ({self.column_list}) VALUES ({self.placeholders})"

    def select_list(self, alias: str) -> str:
        """Return the column list qualified with a table alias (`m.id, m.agent_id, ...`)."""
        return ", ".join(f"{alias}.{c}" for c in self.columns)

    def decode_all(self, rows: Sequence[Sequence[Any]]) -> list[R]:
        """Decode many rows."""
        return self._decode_all(rows)

    def _build_encoder(self) -> Callable[[R], tuple[Any, ...]]:
        """Return the encoder: every field checked (`_validate`) and turned into its column.

        The checks cost a few type tests per field: enum fields must hold a member or one of
        its strings, timestamps an aware time, JSON what JSON holds exactly, and the fields
        `_validate.record_rules` names non-blank text.
        """
        env: dict[str, Any] = {
            "_ts": _validate.timestamp,
            "_json": _validate.json_text,
            "_bool": _bool_int,
        }
        rules = _validate.record_rules(self.cls)
        parts = []
        for i, f in enumerate(self.fields):
            attr = f"r.{f.name}"
            label = repr(f"{self.cls.__name__}.{f.name}")
            if f.name in rules:
                env[f"_rule{i}"] = rules[f.name]
                attr = f"_rule{i}(r.{f.name}, {label})"
            if f.kind in ("plain", "bytes"):
                parts.append(attr)
                continue
            if f.kind == "enum":
                env[f"_enum{i}"] = _enum_check(f.inner, f"{self.cls.__name__}.{f.name}")
                call = f"_enum{i}({attr})"
            elif f.kind == "bool":
                call = f"_bool({attr})"
            else:
                func = {"ts": "_ts", "json": "_json"}[f.kind]
                call = f"{func}({attr}, {label})"
            parts.append(f"(None if {attr} is None else {call})" if f.nullable else call)
        source = f"def encode(r):\n    return ({', '.join(parts)},)\n"
        return typing.cast(Callable[[R], tuple[Any, ...]], _compile(source, "encode", env))

    def _build_decoders(
        self,
    ) -> tuple[Callable[[Sequence[Any]], R], Callable[[Sequence[Sequence[Any]]], list[R]]]:
        """Return (decode one row, decode a list of rows).

        A list converts each timestamp column in one `msgspec.convert` call (C code, about
        three times cheaper per value than `parse_ts`) before building the records in one
        comprehension. Stored timestamps are canonical UTC text (the schema's CHECK constraints
        guarantee it), which both paths read identically; if msgspec refuses any value (naive or
        malformed text), the list is decoded row by row through `parse_ts` instead, so legacy
        readings and errors are those of the single-row decoder.
        """
        env: dict[str, Any] = {
            "_cls": self.cls,
            "_ts": parse_ts,
            "_json": _json_decode,
            "_convert": msgspec.convert,
            "_ValidationError": msgspec.ValidationError,
        }
        names = [f"c{i}" for i in range(len(self.fields))]
        row_args = []
        list_args = []
        ts_columns: list[int] = []
        for i, (f, var) in enumerate(zip(self.fields, names, strict=True)):
            if f.kind in ("plain", "bytes"):
                expr = var
            elif f.kind == "bool":
                expr = f"{var} != 0"
            elif f.kind == "ts":
                expr = f"_ts({var})"
            elif f.kind == "enum":
                env[f"_e{i}"] = {m.value: m for m in f.inner}
                expr = f"_e{i}[{var}]"
            elif f.is_untyped_json():
                expr = f"_json({var})"
            else:
                env[f"_d{i}"] = msgspec.json.Decoder(f.inner).decode
                expr = f"_d{i}({var})"
            if f.nullable and expr != var:
                expr = f"(None if {var} is None else {expr})"
            row_args.append(f"{f.name}={expr}")
            if f.kind == "ts":
                ts_columns.append(i)
                env[f"_t{i}"] = list[_AwareDatetime | None] if f.nullable else list[_AwareDatetime]
                list_args.append(f"{f.name}=t{i}")
            else:
                list_args.append(f"{f.name}={expr}")
        unpack = ", ".join(names)
        converted = "".join(
            f"        t{i}s = _convert([r[{i}] for r in rows], _t{i})\n" for i in ts_columns
        )
        if ts_columns:
            targets = ", ".join([f"({unpack},)", *(f"t{i}" for i in ts_columns)])
            loop = f"for {targets} in zip(rows, {', '.join(f't{i}s' for i in ts_columns)})"
        else:
            loop = f"for {unpack}, in rows"
        guarded = (
            f"    try:\n{converted}    except _ValidationError:\n"
            "        return [decode(row) for row in rows]\n"
            if ts_columns
            else ""
        )
        source = (
            "def decode(row):\n"
            f"    {unpack}, = row\n"
            f"    return _cls({', '.join(row_args)})\n"
            "def decode_all(rows):\n"
            f"{guarded}"
            f"    return [_cls({', '.join(list_args)}) {loop}]\n"
        )
        namespace = _compile_all(source, env)
        return (
            typing.cast(Callable[[Sequence[Any]], R], namespace["decode"]),
            typing.cast(Callable[[Sequence[Sequence[Any]]], list[R]], namespace["decode_all"]),
        )


def _compile(source: str, name: str, env: dict[str, Any]) -> Callable[..., Any]:
    return typing.cast(Callable[..., Any], _compile_all(source, env, name)[name])


def _compile_all(source: str, env: dict[str, Any], label: str = "decode") -> dict[str, Any]:
    exec(compile(source, f"<pattern_db.codec {label}>", "exec"), env)
    return env


_CODECS: dict[type[Any], RecordCodec[Any]] = {}


def codec_for(cls: type[R]) -> RecordCodec[R]:
    """Return the (cached) codec of a record type."""
    codec = _CODECS.get(cls)
    if codec is None:
        codec = _CODECS[cls] = RecordCodec(cls)
    return codec
