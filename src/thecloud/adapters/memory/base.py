"""A generic in-memory repository with the semantics of adapters/sql/base.py::SqlRepository."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

from thecloud.adapters.memory.schema import TABLES, TableSpec
from thecloud.adapters.memory.store import MemoryState
from thecloud.domain.common import ListQuery, Page
from thecloud.domain.errors import Conflict, InvalidInput

T = TypeVar("T")


class MemoryRepository(Generic[T]):
    """CRUD and filtered, paginated listing of one entity type in one in-memory table."""

    entity: type[T]
    table: str
    label = "resource"

    def __init__(self, state: MemoryState) -> None:
        self._state = state
        self._spec: TableSpec = TABLES[self.table]
        self._columns = frozenset(f.name for f in dataclasses.fields(self.entity))  # type: ignore[arg-type]

    @property
    def _rows(self) -> dict[Any, T]:
        return self._state.tables[self.table]

    def _key(self, item: T) -> Any:
        return getattr(item, self._spec.key)

    def _check(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self._columns:
                raise InvalidInput(f"cannot filter {self.label}s by {name!r}")

    def _conflict(self) -> Conflict:
        return Conflict(f"a {self.label} with the same unique fields already exists")

    def _clashes(self, item: T, own_key: object) -> bool:
        """SQL UNIQUE semantics: a set with a NULL in it never clashes."""
        for fields in self._spec.unique:
            values = tuple(getattr(item, f) for f in fields)
            if None in values:
                continue
            if any(
                k != own_key and tuple(getattr(r, f) for f in fields) == values
                for k, r in self._rows.items()
            ):
                return True
        return False

    def _store(self, key: object, item: T) -> None:
        self._state.touch()
        self._state.check_parents(self._spec, item)
        self._rows[key] = item

    async def add(self, item: T) -> None:
        key = self._key(item)
        if key in self._rows or self._clashes(item, key):
            raise self._conflict()
        self._store(key, item)

    async def update(self, item: T) -> None:
        key = self._key(item)
        if key not in self._rows:
            return
        if self._clashes(item, key):
            raise self._conflict()
        self._store(key, item)

    def _select(self, filters: Mapping[str, object], tenant_id: str | None = None) -> list[T]:
        wanted = dict(filters)
        if tenant_id is not None:
            wanted["tenant_id"] = tenant_id
        self._check(wanted)
        return [r for r in self._rows.values() if _matches(r, wanted)]

    async def get(self, ident: str, tenant_id: str | None = None) -> T | None:
        found = self._select({self._spec.key: ident}, tenant_id)
        return found[0] if found else None

    async def delete(self, ident: str, tenant_id: str | None = None) -> bool:
        found = self._select({self._spec.key: ident}, tenant_id)
        return bool(found) and self._state.remove(self.table, self._key(found[0]))

    async def find_one(self, **filters: object) -> T | None:
        found = self._select(filters)
        return found[0] if found else None

    async def find(self, **filters: object) -> list[T]:
        return self._select(filters)

    async def count(self, **filters: object) -> int:
        return len(self._select(filters))

    async def list(self, query: ListQuery, tenant_id: str | None = None) -> Page[T]:
        rows = self._select(query.filters, tenant_id)
        if query.since is not None or query.until is not None:
            self._check(["created_at"])
            rows = [r for r in rows if _within(_created(r), query.since, query.until)]
        return self.page(rows, query)

    def page(self, rows: builtins.list[T], query: ListQuery) -> Page[T]:
        """Order by created_at then key (or by key alone), then slice."""
        if "created_at" in self._columns:
            rows = sorted(rows, key=lambda r: (_created(r), self._key(r)))
            if query.newest_first:
                rows.reverse()
        else:
            rows = sorted(rows, key=self._key)
        start, limit = query.page.offset, query.page.limit
        items = rows[start : start + limit]
        return Page(items=items, total=len(rows), limit=limit, offset=start)


def _matches(row: object, filters: Mapping[str, object]) -> bool:
    """Equality on every field; None matches only None (SQL `IS NULL`)."""
    for name, value in filters.items():
        have = getattr(row, name)
        if value is None:
            if have is not None:
                return False
        elif have != value:
            return False
    return True


def _created(row: object) -> datetime:
    created: datetime = getattr(row, "created_at")  # noqa: B009 - generic rows
    return created


def _within(when: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or when >= since) and (until is None or when < until)
