"""SQLite readers on the event-loop thread: an AsyncConnection look-alike over a sync connection.

A WAL-mode SQLite read never waits for a writer and takes microseconds, which is less than
handing the query to aiosqlite's worker thread and back (two thread switches and a GIL
handoff per call). Writers keep using aiosqlite, where waiting for a lock is harmless.
Connections are kept on a free list and run in autocommit: each statement reads its own
snapshot, the same semantics as PostgreSQL's READ COMMITTED readers (see uow.py), and no
BEGIN/ROLLBACK round trips.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from thecloud.adapters.sql.rawread import RAW, Plan, RawRows, plan
from thecloud.adapters.sql.rows import Rows
from thecloud.domain.errors import BackendUnavailable


class InlinePool:
    """Idle autocommit connections of the inline reader engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[Connection] = []
        self._plans: dict[int, Plan | None] = {}

    def plan(self, statement: Any, dialect: Dialect) -> Plan | None:
        """The compiled plan of a long-lived (RAW-marked) statement, made on first use."""
        key = id(statement)
        if key not in self._plans:
            self._plans[key] = plan(statement, dialect)
        return self._plans[key]

    def acquire(self) -> Connection:
        return self._idle.pop() if self._idle else self._engine.connect()

    def release(self, conn: Connection) -> None:
        if len(self._idle) < 16:
            self._idle.append(conn)
        else:
            conn.close()

    def dispose(self) -> None:
        while self._idle:
            self._idle.pop().close()
        self._engine.dispose()


class InlineConnection:
    """The subset of AsyncConnection the repositories use, for readers."""

    def __init__(self, pool: InlinePool) -> None:
        self._pool = pool
        self._conn: Connection | None = pool.acquire()

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows:
        assert self._conn is not None  # noqa: S101
        if statement.get_execution_options().get(RAW):
            rows = self._raw(self._conn, statement, parameters)
            if rows is not None:
                return rows
        return self._conn.execute(statement, parameters)

    def _raw(self, conn: Connection, statement: Any, parameters: Any) -> RawRows | None:
        found = self._pool.plan(statement, conn.dialect)
        args = found.arguments(parameters) if found is not None else None
        if found is None or args is None:
            return None
        driver = conn.connection.driver_connection
        assert driver is not None  # noqa: S101
        try:
            return RawRows(found.convert(driver.execute(found.sql, args).fetchall()))
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"the metadata database failed a read: {exc}") from exc

    @property
    def dialect(self) -> Dialect:
        assert self._conn is not None  # noqa: S101
        return self._conn.dialect

    def in_transaction(self) -> bool:
        return self._conn is not None

    async def commit(self) -> None:
        await self.rollback()

    async def rollback(self) -> None:
        """Give the connection back (a reader has nothing to commit or undo)."""
        if self._conn is not None:
            self._pool.release(self._conn)
            self._conn = None

    async def close(self) -> None:
        await self.rollback()
