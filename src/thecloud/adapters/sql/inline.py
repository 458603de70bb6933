"""SQLite on the event-loop thread: AsyncConnection look-alikes over sync connections.

A WAL-mode SQLite statement takes microseconds: less than handing it to aiosqlite's worker
thread and back (two thread switches and a GIL handoff, 140 us a call here, 350 us with
SQLAlchemy's async layer on top). A write transaction of ten statements spent 4 ms that way,
holding the database's one write lock throughout.

Readers: connections kept on a free list, in autocommit: each statement reads its own
snapshot, the same semantics as PostgreSQL's READ COMMITTED readers (see uow.py), and no
BEGIN/ROLLBACK round trips.

Writers (InlineWriter): one connection and one transaction at a time, opened with `BEGIN
IMMEDIATE`, which the units of work of a GroupCommit use in turn (group.py). Nothing in a
write waits for a lock on the loop thread. Server processes on one database
(THECLOUD_WORKERS) take turns through a WriterGate, an flock on a file beside it, waited for
in a thread: a writer is woken the moment another process's transaction ends. Anyone else
(migrations, tools) meets `BEGIN IMMEDIATE`: the connection's busy timeout is 0, and `begin`
sleeps asynchronously and tries again (for BUSY_WAIT_S), so the loop keeps serving while it
waits. Once the write lock is held, SQLite's statements and COMMIT do not wait for anyone
(WAL readers never block a writer); with synchronous=NORMAL a commit does not fsync either,
only the occasional automatic checkpoint does.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql import Executable

from thecloud.adapters.sql.rawread import RAW, Plan, RawRows, WritePlan, plan, write_plan
from thecloud.adapters.sql.rows import Rows
from thecloud.domain.errors import BackendUnavailable

BUSY_WAIT_S = 30.0  # how long a writer waits for another process's write lock


class WriterGate:
    """Writers of every server process on one SQLite file take turns here: an exclusive
    flock on a file beside the database, held from before `BEGIN IMMEDIATE` to the end of
    the transaction. Taken at once when free; otherwise waited for in a thread, which the
    kernel wakes as soon as the holder lets go (polling `BEGIN IMMEDIATE` instead left a
    second worker's writers asleep for up to 50 ms at a time). A descriptor per holder:
    closing it releases the lock, also when a waiter was abandoned or its process died."""

    def __init__(self, path: str) -> None:
        self.path = path

    async def enter(self, timeout: float) -> int:
        """Hold the gate; returns the descriptor to give to leave(). TimeoutError after
        `timeout` seconds of waiting."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            pass
        except BaseException:
            os.close(fd)
            raise
        waiting = asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            await asyncio.wait_for(asyncio.shield(waiting), timeout)
        except BaseException:
            # abandoned (cancelled, timed out): the descriptor goes when the wait ends, and
            # with it the lock, should it have been granted by then
            waiting.add_done_callback(lambda _: os.close(fd))
            raise
        return fd

    @staticmethod
    def leave(fd: int) -> None:
        os.close(fd)


class InlinePool:
    """Idle autocommit connections of an inline engine (and the writers' gate, if any)."""

    def __init__(self, engine: Engine, gate: WriterGate | None = None) -> None:
        self._engine = engine
        self.gate = gate
        self._idle: list[Connection] = []
        self._plans: dict[int, Plan | None] = {}
        self._writes: dict[tuple[int, tuple[str, ...]], WritePlan | None] = {}
        self._probe: sqlite3.Connection | None = None  # kept for data_version()
        self._seen = 0  # the largest data_version() returned
        self._base = 0  # added to the probe's count (a new probe counts from scratch)

    def plan(self, statement: Any, dialect: Dialect) -> Plan | None:
        """The compiled plan of a long-lived (RAW-marked) statement, made on first use."""
        key = id(statement)
        if key not in self._plans:
            self._plans[key] = plan(statement, dialect)
        return self._plans[key]

    def write_plan(
        self, statement: Any, dialect: Dialect, keys: tuple[str, ...]
    ) -> WritePlan | None:
        """The same for a long-lived DML statement and the names of its parameters."""
        key = (id(statement), keys)
        if key not in self._writes:
            self._writes[key] = write_plan(statement, dialect, keys)
        return self._writes[key]

    def data_version(self) -> int | None:
        """SQLite's `PRAGMA data_version` on a connection kept for it (outside the pool, so
        it takes no reader's place): it changes when any other connection, in this process
        or another, has committed since the previous call; its own never commits. Made to
        only grow, also across a new probe connection. None when it cannot be read (callers
        then keep nothing)."""
        try:
            if self._probe is None:
                self._probe = self._connect_probe()
                self._base = self._seen + 1
            row = self._probe.execute("PRAGMA data_version").fetchone()
        except sqlite3.Error:
            self._drop_probe()
            return None
        self._seen = max(self._seen, self._base + int(row[0]))
        return self._seen

    def _connect_probe(self) -> sqlite3.Connection:
        database = self._engine.url.database
        if not database:
            raise sqlite3.OperationalError("an in-memory database has no commits to count")
        # it reads nothing but the pragma: autocommit, any thread may ask, and it never
        # makes the file (mode=rw): a database that is not there has nothing to count
        uri = f"{Path(database).absolute().as_uri()}?mode=rw"
        probe = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        probe.execute("PRAGMA query_only=ON")
        return probe

    def _drop_probe(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            with contextlib.suppress(sqlite3.Error):
                probe.close()

    def acquire(self) -> Connection:
        return self._idle.pop() if self._idle else self._engine.connect()

    def release(self, conn: Connection) -> None:
        if len(self._idle) < 16:
            self._idle.append(conn)
        else:
            conn.close()

    def dispose(self) -> None:
        self._drop_probe()
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
            if statement.is_dml:
                rows = self._raw_write(self._conn, statement, parameters)
            else:
                rows = self._raw(self._conn, statement, parameters)
            if rows is not None:
                return rows
        return self._conn.execute(statement, parameters)

    def _raw_write(self, conn: Connection, statement: Any, parameters: Any) -> RawRows | None:
        if parameters is not None and not isinstance(parameters, dict):
            return None  # executemany: SQLAlchemy's path
        found = self._pool.write_plan(statement, conn.dialect, tuple(parameters or ()))
        args = found.arguments(parameters) if found is not None else None
        if found is None or args is None:
            return None
        try:
            cursor = _driver(conn).execute(found.sql, args)
        except sqlite3.Error as exc:  # the exception SQLAlchemy's own path would raise
            raise DBAPIError.instance(found.sql, args, exc, sqlite3.Error) from exc
        return RawRows([], cursor.rowcount)

    def _raw(self, conn: Connection, statement: Any, parameters: Any) -> RawRows | None:
        found = self._pool.plan(statement, conn.dialect)
        args = found.arguments(parameters) if found is not None else None
        if found is None or args is None:
            return None
        try:
            return RawRows(found.convert(_driver(conn).execute(found.sql, args).fetchall()))
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


def _driver(conn: Connection) -> sqlite3.Connection:
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)  # noqa: S101
    return driver


def _busy(exc: OperationalError) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED, extended codes included (the low byte is the primary)."""
    code = getattr(exc.orig, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class InlineWriter(InlineConnection):
    """One SQLite write transaction on the loop thread (see the module's docstring), which
    the units of work of a GroupCommit share: each in a savepoint of its own.

    The pool holds the writer connection(s); the GroupCommit makes sure one InlineWriter at a
    time uses them.
    """

    def __init__(self, pool: InlinePool) -> None:
        super().__init__(pool)
        self._open_tx = False
        self._gate: int | None = None  # the gate's descriptor while this writer holds it

    async def begin(self) -> None:
        """Through the gate, then `BEGIN IMMEDIATE`, waiting asynchronously while another
        process writes."""
        deadline = time.monotonic() + BUSY_WAIT_S
        if self._pool.gate is not None:
            self._gate = await self._enter(self._pool.gate)
        try:
            await self._begin_immediate(deadline)
        except BaseException:
            self._leave()
            raise

    @staticmethod
    async def _enter(gate: WriterGate) -> int:
        try:
            return await gate.enter(BUSY_WAIT_S)
        except TimeoutError as exc:
            raise BackendUnavailable(
                "the metadata database stayed locked by another process"
            ) from exc
        except OSError as exc:
            raise BackendUnavailable(
                f"cannot open the database writers' lock file {gate.path}: {exc.strerror}"
            ) from exc

    def _leave(self) -> None:
        if self._gate is not None:
            fd, self._gate = self._gate, None
            WriterGate.leave(fd)

    async def _begin_immediate(self, deadline: float) -> None:
        assert self._conn is not None  # noqa: S101
        pause = 0.001
        while True:
            try:
                self._conn.exec_driver_sql("BEGIN IMMEDIATE")
            except OperationalError as exc:
                if not _busy(exc):
                    raise BackendUnavailable(f"the metadata database failed: {exc.orig}") from exc
                if time.monotonic() >= deadline:
                    raise BackendUnavailable(
                        "the metadata database stayed locked by another process"
                    ) from exc
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.05)
                continue
            self._open_tx = True
            return

    def in_transaction(self) -> bool:
        """Whether the transaction is still open: SQLite ends one by itself on some errors
        (a full disk, an I/O error), and everything in it is then undone."""
        return self._open_tx and self._conn is not None and _driver(self._conn).in_transaction

    def run(self, sql: str) -> None:
        """A statement of the transaction's own (SAVEPOINT, RELEASE, ROLLBACK TO)."""
        assert self._conn is not None  # noqa: S101
        try:
            _driver(self._conn).execute(sql)
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"the metadata database failed: {exc}") from exc

    def end(self, commit: bool) -> None:
        """COMMIT (or ROLLBACK), then let go of the gate and the connection. A failed COMMIT
        is rolled back and raised as BackendUnavailable."""
        try:
            if self._open_tx and self._conn is not None:
                self._open_tx = False
                driver = _driver(self._conn)
                try:
                    driver.execute("COMMIT" if commit else "ROLLBACK")
                except sqlite3.Error as exc:
                    if driver.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            driver.execute("ROLLBACK")
                    raise BackendUnavailable(
                        f"the metadata database failed to {'commit' if commit else 'undo'}"
                        f" a transaction: {exc}"
                    ) from exc
        finally:
            self._leave()
            if self._conn is not None:
                self._pool.release(self._conn)
                self._conn = None
