"""A generic repository over one table, mapping rows to frozen dataclasses and back."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, Table, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from thecloud.domain.common import ListQuery, Page
from thecloud.domain.errors import Conflict, InvalidInput

T = TypeVar("T")


class SqlRepository(Generic[T]):
    """CRUD and filtered, paginated listing of one entity type in one table."""

    entity: type[T]
    table: Table
    key = "id"
    label = "resource"

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    def encode(self, item: T) -> dict[str, Any]:
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(self.entity)}  # type: ignore[arg-type]

    def decode(self, row: Mapping[Any, Any]) -> T:
        names = {f.name for f in dataclasses.fields(self.entity)}  # type: ignore[arg-type]
        return self.entity(**{k: v for k, v in row.items() if k in names})

    def _col(self, name: str) -> Any:
        try:
            return self.table.c[name]
        except KeyError:
            raise InvalidInput(f"cannot filter {self.label}s by {name!r}") from None

    def _where(
        self, filters: Mapping[str, object], tenant_id: str | None = None
    ) -> ColumnElement[bool]:
        clauses = [
            self._col(k) == v if v is not None else self._col(k).is_(None)
            for k, v in filters.items()
        ]
        if tenant_id is not None:
            clauses.append(self.table.c.tenant_id == tenant_id)
        return and_(True, *clauses)

    async def add(self, item: T) -> None:
        await self._write(insert(self.table).values(**self.encode(item)))

    async def update(self, item: T) -> None:
        values = self.encode(item)
        key = values.pop(self.key)
        await self._write(update(self.table).where(self._col(self.key) == key).values(**values))

    async def _write(self, stmt: Any) -> None:
        try:
            await self._conn.execute(stmt)
        except IntegrityError as exc:
            raise Conflict(f"a {self.label} with the same unique fields already exists") from exc

    async def get(self, ident: str, tenant_id: str | None = None) -> T | None:
        return await self.find_one_where(self._where({self.key: ident}, tenant_id))

    async def delete(self, ident: str, tenant_id: str | None = None) -> bool:
        result = await self._conn.execute(
            delete(self.table).where(self._where({self.key: ident}, tenant_id))
        )
        return bool(result.rowcount)

    async def find_one(self, **filters: object) -> T | None:
        return await self.find_one_where(self._where(filters))

    async def find_one_where(self, where: ColumnElement[bool]) -> T | None:
        row = (
            (await self._conn.execute(select(self.table).where(where).limit(1))).mappings().first()
        )
        return self.decode(row) if row is not None else None

    async def find(self, **filters: object) -> list[T]:
        rows = await self._conn.execute(select(self.table).where(self._where(filters)))
        return [self.decode(r) for r in rows.mappings()]

    async def count(self, **filters: object) -> int:
        stmt = select(func.count()).select_from(self.table).where(self._where(filters))
        return int((await self._conn.execute(stmt)).scalar_one())

    async def list(self, query: ListQuery, tenant_id: str | None = None) -> Page[T]:
        return await self.page(self._query_where(query, tenant_id), query)

    def _query_where(self, query: ListQuery, tenant_id: str | None) -> ColumnElement[bool]:
        where = self._where(query.filters, tenant_id)
        if query.since is not None:
            where = and_(where, self.table.c.created_at >= query.since)
        if query.until is not None:
            where = and_(where, self.table.c.created_at < query.until)
        return where

    async def page(self, where: ColumnElement[bool], query: ListQuery) -> Page[T]:
        total_stmt = select(func.count()).select_from(self.table).where(where)
        total = int((await self._conn.execute(total_stmt)).scalar_one())
        stmt = self._ordered(select(self.table).where(where), query)
        stmt = stmt.limit(query.page.limit).offset(query.page.offset)
        rows = (await self._conn.execute(stmt)).mappings().all()
        items = [self.decode(r) for r in rows]
        return Page(items=items, total=total, limit=query.page.limit, offset=query.page.offset)

    def _ordered(self, stmt: Select[Any], query: ListQuery) -> Select[Any]:
        order = self.table.c.get("created_at")
        if order is None:
            return stmt.order_by(self._col(self.key))
        tie = self._col(self.key)
        if query.newest_first:
            return stmt.order_by(order.desc(), tie.desc())
        return stmt.order_by(order, tie)
