"""A generic repository over one table, mapping rows to frozen dataclasses and back."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, Table, and_, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from thecloud.adapters.sql.codegen import entity_loader
from thecloud.adapters.sql.rows import Rows
from thecloud.adapters.sql.statements import Statements, shape_of
from thecloud.domain.common import ListQuery, Page
from thecloud.domain.errors import Conflict

T = TypeVar("T")


@functools.cache
def field_names(entity: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(entity))


class Conn(Protocol):
    """What repositories need of a connection: AsyncConnection, or the inline SQLite reader."""

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows: ...

    @property
    def dialect(self) -> Dialect: ...


class SqlRepository(Generic[T]):
    """CRUD and filtered, paginated listing of one entity type in one table."""

    entity: type[T]
    table: Table
    key = "id"
    label = "resource"
    _statements: ClassVar[dict[type, Statements]] = {}

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._names = field_names(self.entity)  # type: ignore[arg-type]
        self._plain = type(self).decode is SqlRepository.decode
        self._fast = entity_loader(self.entity) if self._plain else None  # type: ignore[arg-type]
        self._s = self._statements.get(type(self)) or self._prepare()

    def _prepare(self) -> Statements:
        stmts = Statements(self.table, self._names, self.label, self.key)
        self._statements[type(self)] = stmts
        return stmts

    def encode(self, item: T) -> dict[str, Any]:
        return {name: getattr(item, name) for name in self._names}

    def decode(self, row: Mapping[str, Any]) -> T:
        """Column values by name -> entity; subclasses convert JSON columns here."""
        return self.entity(**row)

    def _load(self, row: Sequence[Any]) -> T:
        if self._fast is not None:
            return self._fast(row)  # type: ignore[no-any-return]
        return self.decode(dict(zip(self._names, row, strict=True)))

    def _select(self) -> Select[Any]:
        return self._s.select()

    async def add(self, item: T) -> None:
        await self._write(self._s.insert(), self.encode(item))

    async def update(self, item: T) -> None:
        values = self.encode(item)
        params = {f"v_{k}": v for k, v in values.items() if k != self.key}
        await self._write(self._s.update(), {**params, "p_key": values[self.key]})

    async def _write(self, stmt: Any, params: dict[str, Any]) -> Any:
        try:
            return await self._conn.execute(stmt, params)
        except IntegrityError as exc:
            raise Conflict(f"a {self.label} with the same unique fields already exists") from exc

    async def get(self, ident: str, tenant_id: str | None = None) -> T | None:
        return await self._first({self.key: ident}, tenant_id)

    async def _first(self, filters: Mapping[str, object], tenant_id: str | None = None) -> T | None:
        shape, params = shape_of(filters, tenant_id)
        row = (await self._conn.execute(self._s.find(shape, True), params)).first()
        return self._load(row) if row is not None else None

    async def delete(self, ident: str, tenant_id: str | None = None) -> bool:
        shape, params = shape_of({self.key: ident}, tenant_id)
        return bool((await self._conn.execute(self._s.delete(shape), params)).rowcount)

    async def find_one(self, **filters: object) -> T | None:
        return await self._first(filters)

    async def find(self, **filters: object) -> list[T]:
        shape, params = shape_of(filters, None)
        return [self._load(r) for r in await self._conn.execute(self._s.find(shape, False), params)]

    async def count(self, **filters: object) -> int:
        shape, params = shape_of(filters, None)
        return int((await self._conn.execute(self._s.count(shape), params)).scalar_one())

    async def list(self, query: ListQuery, tenant_id: str | None = None) -> Page[T]:
        """A page, and the total: counted only when the page does not show where the
        collection ends (a row past the page is fetched to tell)."""
        shape, params = shape_of(query.filters, tenant_id)
        since, until = query.since is not None, query.until is not None
        total_stmt, page_stmt = self._s.page(shape, since, until, query.newest_first)
        limit, offset = query.page.limit, query.page.offset
        params.update(p_since=query.since, p_until=query.until)
        params.update(p_limit=limit + 1, p_offset=offset)
        rows = (await self._conn.execute(page_stmt, params)).all()
        if len(rows) > limit or (offset and not rows):
            rows = rows[:limit]
            total = int((await self._conn.execute(total_stmt, params)).scalar_one())
        else:
            total = offset + len(rows)
        load = self._fast or self._load
        return Page(items=[load(r) for r in rows], total=total, limit=limit, offset=offset)

    async def page(self, where: ColumnElement[bool], query: ListQuery) -> Page[T]:
        """A page of an ad-hoc query (the special repositories' joins)."""
        total_stmt = select(func.count()).select_from(self.table).where(where)
        total = int((await self._conn.execute(total_stmt)).scalar_one())
        stmt = self._s.ordered(self._select().where(where), query.newest_first)
        stmt = stmt.limit(query.page.limit).offset(query.page.offset)
        items = [self._load(r) for r in await self._conn.execute(stmt)]
        return Page(items=items, total=total, limit=query.page.limit, offset=query.page.offset)

    def _where(self, filters: Mapping[str, object]) -> ColumnElement[bool]:
        """An ad-hoc filter clause with literal values (for the special repositories)."""
        return and_(
            True,
            *[
                self._s.col(k) == v if v is not None else self._s.col(k).is_(None)
                for k, v in filters.items()
            ],
        )
