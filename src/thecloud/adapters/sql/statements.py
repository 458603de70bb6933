"""Prebuilt, parameterised statements per table and filter shape.

Building a SQLAlchemy statement and computing its cache key costs more than running a
simple indexed query on SQLite; statements built once per shape and reused with bound
parameters keep a point lookup in the tens of microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, false, func, select, true

from thecloud.adapters.sql.rawread import RAW
from thecloud.domain.errors import InvalidInput

# (column, how it is matched): None = a bound parameter; "null" = IS NULL; True/False = the
# SQL literal. Booleans are literals because a bound value hides a partial index's
# condition (`WHERE is_latest = 1`) from SQLite's planner until the value is bound, and
# SQLite then prepares the statement again on every execution (25 us instead of 8).
Match = bool | str | None
Shape = tuple[tuple[str, Match], ...]
TENANT = "tenant_id"
NULL = "null"


def _match(value: object) -> Match:
    if value is None:
        return NULL
    return value if isinstance(value, bool) else None


def shape_of(filters: Mapping[str, object], tenant_id: str | None) -> tuple[Shape, dict[str, Any]]:
    """The filter shape (names, and how each is matched) and the bound parameter values."""
    items = dict(filters)
    if tenant_id is not None:
        items[TENANT] = tenant_id
    shape = tuple(sorted((name, _match(value)) for name, value in items.items()))
    params = {f"p_{name}": value for name, value in items.items() if _match(value) is None}
    return shape, params


def readonly(stmt: Select[Any]) -> Select[Any]:
    """Mark a long-lived SELECT for the inline readers' raw path (see rawread.py)."""
    return stmt.execution_options(**{RAW: True})


def prebuilt(stmt: Any) -> Any:
    """Mark a long-lived INSERT, UPDATE or DELETE for SQLite writers' raw path."""
    return stmt.execution_options(**{RAW: True})


class Statements:
    """Statements of one table over the given columns, cached by kind and filter shape."""

    def __init__(
        self,
        table: Table,
        columns: tuple[str, ...],
        label: str,
        key: str,
        fixed: tuple[str, ...] = (),
    ) -> None:
        """`fixed`: columns selected after `columns` and inserted, but never updated."""
        self.table, self.columns, self.label, self.key = table, columns, label, key
        self.fixed = fixed
        self._cache: dict[tuple[object, ...], Any] = {}

    def cached(self, signature: tuple[object, ...], build: Callable[[], Any]) -> Any:
        stmt = self._cache.get(signature)
        if stmt is None:
            stmt = self._cache[signature] = build()
        return stmt

    def col(self, name: str) -> Any:
        try:
            return self.table.c[name]
        except KeyError:
            raise InvalidInput(f"cannot filter {self.label}s by {name!r}") from None

    def where(self, shape: Shape) -> ColumnElement[bool]:
        return and_(True, *(self._clause(name, match) for name, match in shape))

    def _clause(self, name: str, match: Match) -> ColumnElement[bool]:
        column = self.col(name)
        if match == NULL:
            return column.is_(None)  # type: ignore[no-any-return]
        if isinstance(match, bool):
            return column == (true() if match else false())  # type: ignore[no-any-return]
        return column == bindparam(f"p_{name}")  # type: ignore[no-any-return]

    def select(self) -> Select[Any]:
        """The entity's columns in field order, so a row maps to the dataclass by position
        (then the fixed ones)."""
        return select(*(self.table.c[name] for name in self.columns + self.fixed))

    def find(self, shape: Shape, one: bool) -> Select[Any]:
        def build() -> Select[Any]:
            stmt = self.select().where(self.where(shape))
            return readonly(stmt.limit(1) if one else stmt)

        return self.cached(("find", shape, one), build)  # type: ignore[no-any-return]

    def count(self, shape: Shape) -> Select[Any]:
        def build() -> Select[Any]:
            return readonly(select(func.count()).select_from(self.table).where(self.where(shape)))

        return self.cached(("count", shape), build)  # type: ignore[no-any-return]

    def delete(self, shape: Shape) -> Any:
        return self.cached(
            ("delete", shape), lambda: prebuilt(self.table.delete().where(self.where(shape)))
        )

    def insert(self) -> Any:
        return self.cached(("insert",), lambda: prebuilt(self.table.insert()))

    def update(self) -> Any:
        def build() -> Any:
            values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in self.columns if c != self.key}
            where = self.col(self.key) == bindparam("p_key")
            return prebuilt(self.table.update().where(where).values(values))

        return self.cached(("update",), build)

    def page(self, shape: Shape, since: bool, until: bool, newest_first: bool) -> tuple[Any, Any]:
        """(count, page) statements; the page takes p_limit and p_offset.

        The count is a statement of its own: evaluated in the page's statement, it
        made the database count every matching row for every page, also for the
        pages that show the whole collection (most lists of most tenants).
        """

        def build() -> tuple[Any, Any]:
            where = self.where(shape)
            if since:
                where = and_(where, self.table.c.created_at >= bindparam("p_since"))
            if until:
                where = and_(where, self.table.c.created_at < bindparam("p_until"))
            total = select(func.count()).select_from(self.table).where(where)
            stmt = self.ordered(self.select().where(where), newest_first)
            page = stmt.limit(bindparam("p_limit")).offset(bindparam("p_offset"))
            return readonly(total), readonly(page)

        return self.cached(("page", shape, since, until, newest_first), build)  # type: ignore[no-any-return]

    def ordered(self, stmt: Select[Any], newest_first: bool) -> Select[Any]:
        order, tie = self.table.c.get("created_at"), self.col(self.key)
        if order is None:
            return stmt.order_by(tie)
        return (
            stmt.order_by(order.desc(), tie.desc()) if newest_first else stmt.order_by(order, tie)
        )
