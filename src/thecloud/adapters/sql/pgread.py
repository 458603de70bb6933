"""PostgreSQL readers straight on asyncpg: prebuilt SELECTs without SQLAlchemy's machinery.

Through SQLAlchemy's async engine a point lookup costs a pool checkout and return, a
reset, several greenlet switches and the per-execution context: about 600 us against
140 us for the same prepared statement on a bare asyncpg connection. Read-only units of
work therefore take a connection from a small pool of their own, in autocommit (each
statement reads its own snapshot, as READ COMMITTED gives anyway), and run RAW-marked
statements (see rawread.py) on it. Any other statement, or a parameter that would need
SQLAlchemy's bind processing, goes through an ordinary SQLAlchemy connection opened for
that unit of work only.

asyncpg already returns what the column types promise for booleans and bytes; codecs set
on each connection decode JSON, and timestamps (as timezone-aware UTC datetimes).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

from thecloud.adapters.sql.codegen import Convert
from thecloud.adapters.sql.engine import BAD_TEXT, NUL_MESSAGE
from thecloud.adapters.sql.notify import asyncpg_dsn
from thecloud.adapters.sql.rawread import RAW, Plan, RawRows, json_loads, plan
from thecloud.adapters.sql.rows import Rows
from thecloud.domain.errors import BackendUnavailable, InvalidInput

APP_NAME = "thecloud-reader"
# Timestamps travel as ISO 8601 text in UTC: `datetime.fromisoformat` (C) reads a list's
# hundreds of them in a third of the time asyncpg's binary decoder takes.
_SESSION = {"application_name": APP_NAME, "timezone": "UTC", "datestyle": "ISO, YMD"}
T = TypeVar("T")
_SNAPSHOT = "SELECT pg_current_snapshot()::text"
_PLAIN = (str, int, float, bool, bytes, type(None))


def _accepts(value: Any) -> bool:
    """Values asyncpg binds exactly as SQLAlchemy would (aware datetimes as they are)."""
    if isinstance(value, datetime):
        return value.tzinfo is not None
    return isinstance(value, _PLAIN)


def _no_conversion(_column_type: Any) -> Convert:
    return None


class PgReaderPool:
    """Idle autocommit asyncpg connections for readers, at most `size` open at once."""

    def __init__(self, url: str, dialect: Dialect, size: int = 16) -> None:
        self._dsn, self._dialect, self._size = asyncpg_dsn(url), dialect, size
        self._idle: list[tuple[asyncpg.Connection, asyncio.AbstractEventLoop]] = []
        self._plans: dict[int, Plan | None] = {}
        self._slots: asyncio.Semaphore | None = None
        self._snapshot: str | None = None  # the last snapshot version() saw
        self._version = 0  # how many different snapshots it has seen
        self._probe: SharedProbe[int | None] = SharedProbe(self._read_version)

    async def version(self) -> int | None:
        """A number that moves on whenever a transaction that wrote has ended since the last
        call: PostgreSQL's current snapshot (xmin, xmax and the transactions in progress)
        changes then and only then (or when one that only locked rows ended), since such a
        transaction holds an id from its first write or lock to its end. Callers at once
        share one light query, sent after they asked; None when it cannot be read."""
        return await self._probe.ask()

    async def _read_version(self) -> int | None:
        try:
            conn = await self.acquire()
        except BackendUnavailable:
            return None
        broken = False
        try:
            snapshot = await conn.fetchval(_SNAPSHOT)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            broken = True
            return None
        finally:
            self.release(conn, broken=broken)
        if snapshot != self._snapshot:  # one query at a time: seen in the order taken
            self._snapshot, self._version = snapshot, self._version + 1
        return self._version

    def plan(self, statement: Any) -> Plan | None:
        key = id(statement)
        if key not in self._plans:
            self._plans[key] = plan(statement, self._dialect, _no_conversion, _accepts)
        return self._plans[key]

    async def acquire(self) -> asyncpg.Connection:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)
        await self._slots.acquire()
        try:
            return await self._take()
        except BaseException:
            self._slots.release()
            raise

    async def _take(self) -> asyncpg.Connection:
        loop = asyncio.get_running_loop()
        while self._idle:
            conn, home = self._idle.pop()
            if home is loop and not conn.is_closed():
                return conn
            _drop(conn)
        try:
            conn = await asyncpg.connect(self._dsn, server_settings=_SESSION)
            await conn.set_type_codec(
                "json", encoder=json.dumps, decoder=json_loads, schema="pg_catalog"
            )
            await conn.set_type_codec(
                "timestamptz",
                encoder=datetime.isoformat,
                decoder=datetime.fromisoformat,
                schema="pg_catalog",
                format="text",
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise BackendUnavailable("the metadata database is unreachable") from exc
        return conn

    def release(self, conn: asyncpg.Connection, *, broken: bool = False) -> None:
        if broken or conn.is_closed() or conn.is_in_transaction() or len(self._idle) >= self._size:
            _drop(conn)
        else:
            self._idle.append((conn, asyncio.get_running_loop()))
        if self._slots is not None:
            self._slots.release()

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        while self._idle:
            conn, home = self._idle.pop()
            if home is loop:
                await conn.close(timeout=5)
            else:
                _drop(conn)


class SharedProbe(Generic[T]):
    """One read at a time, shared by everyone who asked before it was sent.

    A caller never gets the answer of a read sent before it asked (that read may have run
    before a commit the caller has already seen): it waits for the next one, which goes
    out as soon as the running one is back and answers everyone waiting by then. Under
    load one query serves many requests; a lone caller waits for its own.
    """

    def __init__(self, read: Callable[[], Awaitable[T]]) -> None:
        self._read = read
        self._waiting: asyncio.Future[T] | None = None  # answered by the next read sent
        self._runner: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def ask(self) -> T:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new loop (tests): nothing of the old one is usable
            self._loop, self._waiting, self._runner = loop, None, None
        if self._waiting is None:
            self._waiting = loop.create_future()
        waiting = self._waiting
        if self._runner is None:
            self._runner = loop.create_task(self._run(loop))
        return await asyncio.shield(waiting)

    async def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            while self._loop is loop and self._waiting is not None:
                # everyone waiting asked before this read goes out
                waiting, self._waiting = self._waiting, None
                try:
                    waiting.set_result(await self._read())
                except Exception as exc:
                    waiting.set_exception(exc)
                except BaseException:
                    waiting.cancel()
                    raise
        finally:
            if self._loop is loop:  # else another loop took over: its state is not ours
                self._runner = None
                if self._waiting is not None and not self._waiting.done():
                    self._waiting.cancel()  # stopped (the loop is closing): nobody is left
                    self._waiting = None


def _connection_lost(exc: Exception) -> bool:
    """The connection broke (class 08 connection exception, 57 operator intervention)."""
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "")[:2] in ("08", "57")
    return True


def _drop(conn: asyncpg.Connection) -> None:
    if not conn.is_closed():
        conn.terminate()


class PgReaderConnection:
    """The subset of AsyncConnection the repositories use, for PostgreSQL readers."""

    def __init__(self, pool: PgReaderPool, engine: AsyncEngine) -> None:
        self._pool, self._engine = pool, engine
        self._raw: asyncpg.Connection | None = None
        self._sa: AsyncConnection | None = None

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows:
        if statement.get_execution_options().get(RAW):
            found = self._pool.plan(statement)
            args = found.arguments(parameters) if found is not None else None
            if found is not None and args is not None:
                return RawRows(await self._fetch(found.sql, args))
        if self._sa is None:
            try:
                self._sa = await self._engine.connect()
            except (OSError, DBAPIError) as exc:
                raise BackendUnavailable("the metadata database is unreachable") from exc
        return await self._sa.execute(statement, parameters)

    async def _fetch(self, sql: str, args: list[Any]) -> list[Any]:
        """Run on this unit of work's connection; a read that meets a lost connection
        (a server restart, an idle connection cut) is retried once on a new one."""
        for attempt in (1, 2):
            if self._raw is None:
                self._raw = await self._pool.acquire()
            try:
                return await self._raw.fetch(sql, *args)  # type: ignore[no-any-return]
            except asyncpg.PostgresError as exc:
                if exc.sqlstate in BAD_TEXT:
                    raise InvalidInput(NUL_MESSAGE) from exc
                failure: Exception = exc
            except (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError) as exc:
                failure = exc
            self._discard()
            if attempt == 2 or not _connection_lost(failure):
                break
        raise BackendUnavailable(f"the metadata database failed a read: {failure}") from failure

    def _discard(self) -> None:
        """A connection that failed a read is not trusted again (it may be half-dead)."""
        raw, self._raw = self._raw, None
        if raw is not None:
            self._pool.release(raw, broken=True)

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    def in_transaction(self) -> bool:
        return self._raw is not None or self._sa is not None

    async def commit(self) -> None:
        await self.rollback()

    async def rollback(self) -> None:
        """Give the connections back (a reader has nothing to commit or undo)."""
        raw, self._raw = self._raw, None
        if raw is not None:
            self._pool.release(raw)
        sa, self._sa = self._sa, None
        if sa is not None:
            await sa.close()

    async def close(self) -> None:
        await self.rollback()
