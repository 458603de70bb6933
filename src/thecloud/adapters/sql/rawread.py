"""Prebuilt SELECTs run straight on the driver (the readers' hot path).

A statement marked with the RAW execution option is compiled once per dialect; running
it is then one driver call plus a converter per column that needs one, without
SQLAlchemy's per-execution and per-row machinery. On SQLite (inline.py) timestamps, JSON
and booleans need converting; on PostgreSQL (pgread.py) asyncpg returns them ready.
Anything else, or a parameter that would need SQLAlchemy's bind processing, takes the
ordinary path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Boolean
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select

from thecloud.adapters.sql.codegen import Convert, row_converter
from thecloud.adapters.sql.types import UtcDateTime, sqlite_utc

RAW = "thecloud_raw"
_SIMPLE = (str, int, type(None))
Accepts = Callable[[Any], bool]


def sqlite_accepts(value: Any) -> bool:
    return isinstance(value, _SIMPLE)


def _json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


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
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    if any(compiled.binds[n].expanding for n in names):
        return None
    literals = {n: compiled.binds[n].value for n in names if not compiled.binds[n].required}
    types = [column.type for column in statement.selected_columns]
    converters = tuple(converter(t) for t in types)
    return Plan(str(compiled), names, literals, converters, accepts, row_converter(converters))


class RawRows:
    """The part of a SQLAlchemy result the repositories read, over fetched tuples."""

    rowcount = -1

    def __init__(self, rows: Sequence[Any]) -> None:
        self._rows = rows

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
