"""SQLite readers on the event-loop thread: an AsyncConnection look-alike over a sync connection.

A WAL-mode SQLite read never waits for a writer and takes microseconds, which is less than
handing the query to aiosqlite's worker thread and back (two thread switches and a GIL
handoff per call). Writers keep using aiosqlite, where waiting for a lock is harmless.
Connections are kept on a free list and run in autocommit: each statement reads its own
snapshot, the same semantics as PostgreSQL's READ COMMITTED readers (see uow.py), and no
BEGIN/ROLLBACK round trips.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.sql import Executable


class InlinePool:
    """Idle autocommit connections of the inline reader engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._idle: list[Connection] = []

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

    async def execute(self, statement: Executable, parameters: Any = None) -> CursorResult[Any]:
        assert self._conn is not None  # noqa: S101
        return self._conn.execute(statement, parameters)

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
