"""Prebuilt statements run straight on the driver (the hot path of readers and writers).

A statement marked with the RAW execution option is compiled once per dialect (a write,
once per set of parameter names); running it is then one driver call plus a converter
per column or parameter that needs one, without SQLAlchemy's per-execution and per-row
machinery. Reads: on SQLite (inline.py) timestamps, JSON and booleans need converting; on
PostgreSQL (pgread.py) asyncpg returns them ready; a parameter that would need SQLAlchemy's
bind processing takes the ordinary path. Writes take this path on SQLite only (inline.py),
with each parameter's bind processor applied as SQLAlchemy would. Anything else takes the
ordinary path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import JSON, Boolean
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.sql import Select

from thecloud.adapters.sql.codegen import Convert, row_converter
from thecloud.adapters.sql.types import UtcDateTime, sqlite_utc

RAW = "thecloud_raw"
_SIMPLE = (str, int, type(None))
Accepts = Callable[[Any], bool]


def sqlite_accepts(value: Any) -> bool:
    return isinstance(value, _SIMPLE)


def json_loads(text: str | bytes) -> Any:
    """A stored JSON document: orjson (a fifth of the time), or the standard library for
    what orjson refuses and `json.dumps` may have written (NaN, integers past 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def json_dumps(value: Any) -> str:
    """A JSON column's text on SQLite: orjson (compact, a sixth of the time), or the standard
    library for what orjson refuses (keys that are not strings, integers past 64 bits).
    orjson writes NaN and infinities as null, which is also all PostgreSQL would take."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def _json(value: str | None) -> Any:
    return None if value is None else json_loads(value)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def sqlite_converter(column_type: Any) -> Convert:
    if isinstance(column_type, UtcDateTime):
        return sqlite_utc
    if isinstance(column_type, JSON):
        return _json
    return _bool if isinstance(column_type, Boolean) else None


@dataclass(frozen=True, slots=True)
class Plan:
    sql: str
    names: tuple[str, ...]
    literals: dict[str, Any]
    converters: tuple[Convert, ...]
    accepts: Accepts
    rows: Callable[[Sequence[Any]], list[Any]] | None

    def arguments(self, params: dict[str, Any] | None) -> list[Any] | None:
        """Positional values, or None when one needs SQLAlchemy's bind processing."""
        given = params or {}
        values = [given[n] if n in given else self.literals[n] for n in self.names]
        return values if all(self.accepts(v) for v in values) else None

    def convert(self, rows: Sequence[Any]) -> Sequence[Any]:
        return rows if self.rows is None else self.rows(rows)


def plan(
    statement: Select[Any],
    dialect: Dialect,
    converter: Callable[[Any], Convert] = sqlite_converter,
    accepts: Accepts = sqlite_accepts,
) -> Plan | None:
    if statement.is_dml:
        return None  # see write_plan
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    if any(compiled.binds[n].expanding for n in names):
        return None
    literals = {n: compiled.binds[n].value for n in names if not compiled.binds[n].required}
    types = [column.type for column in statement.selected_columns]
    converters = tuple(converter(t) for t in types)
    return Plan(str(compiled), names, literals, converters, accepts, row_converter(converters))


@dataclass(frozen=True, slots=True)
class WritePlan:
    """A prebuilt INSERT, UPDATE or DELETE compiled for one set of parameter names, with
    each parameter's bind processor (what SQLAlchemy would apply: JSON to text, UTC
    datetimes to SQLite's text form, ...)."""

    sql: str
    names: tuple[str, ...]
    literals: dict[str, Any]
    processors: tuple[Convert, ...]

    def arguments(self, params: dict[str, Any] | None) -> list[Any] | None:
        """Positional values, or None when one is missing or refused by its processor (a
        naive datetime, say): SQLAlchemy's own path then raises its usual error."""
        given = params or {}
        values = []
        for name, process in zip(self.names, self.processors, strict=True):
            if name in given:
                value = given[name]
            elif name in self.literals:
                value = self.literals[name]
            else:
                return None
            try:
                values.append(value if process is None else process(value))
            except Exception:  # noqa: BLE001 - reported by the ordinary path, as it words it
                return None
        return values


def write_plan(statement: Any, dialect: Dialect, keys: tuple[str, ...]) -> WritePlan | None:
    """The plan of a prebuilt DML statement executed with parameters named `keys`, or None
    when it needs more than bound values (Python-side column defaults, expanding IN lists,
    or names that are not its columns: SQLAlchemy's own path handles and reports those)."""
    try:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    except CompileError:
        return None
    if compiled.insert_prefetch or compiled.update_prefetch:
        return None
    names = tuple(compiled.positiontup or ())
    binds = [compiled.binds[n] for n in names]
    if any(b.expanding for b in binds):
        return None
    literals = {n: b.value for n, b in zip(names, binds, strict=True) if not b.required}
    processors = tuple(b.type.dialect_impl(dialect).bind_processor(dialect) for b in binds)
    return WritePlan(str(compiled), names, literals, processors)


class RawRows:
    """The part of a SQLAlchemy result the repositories read, over fetched tuples."""

    def __init__(self, rows: Sequence[Any], rowcount: int = -1) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._rows)

    def all(self) -> Sequence[tuple[Any, ...]]:
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]

    def scalar_one_or_none(self) -> Any:
        return self._rows[0][0] if self._rows else None
