"""The SQL unit of work: rollback, event publication on commit, readers, concurrent writers."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.integration import builders as b
from tests.integration.builders import Db
from tests.pg_support import pg_url
from thecloud.adapters.sql import inline
from thecloud.adapters.sql.engine import create_engine
from thecloud.adapters.sql.migrate import upgrade
from thecloud.adapters.sql.notify import asyncpg_dsn
from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import BackendUnavailable


async def stored(db: Db) -> tuple[int, int, int]:
    """How many tenants, users and events the database holds."""
    async with db.uow(read_only=True) as w:
        tenants = (await w.tenants.list(ListQuery())).total
        return tenants, await w.users.count(), (await w.events.list(ListQuery())).total


async def test_an_exception_rolls_everything_back(db: Db) -> None:
    u = b.user()
    t = b.tenant(u.id)
    with pytest.raises(RuntimeError, match="boom"):
        async with db.uow() as w:
            await w.tenants.add(t)
            await w.users.add(replace(u, default_tenant_id=t.id))
            await w.emit(b.event(t.id))
            raise RuntimeError("boom")
    assert await stored(db) == (0, 0, 0)
    assert db.published == []


async def test_leaving_without_commit_rolls_back(db: Db) -> None:
    async with db.uow() as w:
        await w.tenants.add(b.tenant(b.uniq("owner")))
        await w.emit(b.event(b.uniq("t")))
    assert await stored(db) == (0, 0, 0)
    assert db.published == []


async def test_commit_publishes_the_emitted_events_exactly_once(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    first, second = b.event(t.id), b.event(t.id, type="secret.deleted")
    async with db.uow() as w:
        await w.emit(first)
        await w.emit(second)
        assert db.published == []
        await w.commit()
        await w.commit()
    assert db.published == [[first, second]]
    async with db.uow(read_only=True) as w:
        assert [e.id for e in await w.events.after(t.id, 0, 10)] == [first.id, second.id]


async def test_rollback_discards_emitted_events(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    dropped, kept = b.event(t.id), b.event(t.id)
    async with db.uow() as w:
        await w.emit(dropped)
        await w.rollback()
        await w.emit(kept)
        await w.commit()
    assert db.published == [[kept]]
    async with db.uow(read_only=True) as w:
        assert [e.id for e in await w.events.after(t.id, 0, 10)] == [kept.id]


async def test_read_only_unit_sees_committed_state_while_a_writer_is_open(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    async with db.uow() as w:
        await w.users.update(replace(u, name="Changed"))
        await w.tenants.add(b.tenant(u.id))
        async with asyncio.timeout(5), db.uow(read_only=True) as r:
            seen = await r.users.get(u.id)
            count = await r.tenants.count()
        await w.commit()
    assert (seen, count) == (u, 1)
    async with db.uow(read_only=True) as r:
        assert await r.tenants.count() == 2


@pytest.mark.timeout(60)  # a loop held on its thread is past asyncio.timeout's reach: fail here
async def test_forty_readers_waiting_at_once_neither_stall_the_loop_nor_each_other(
    db: Db,
) -> None:
    """More readers open at once than any pool keeps idle: each waits on something else
    while its unit is open, and the loop goes on meanwhile (SQLAlchemy's own pool once let
    15 SQLite connections out and held the 16th reader on the loop thread for 30 s)."""
    u, _ = await b.seed_tenant(db.uow)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def read() -> object:
        async with db.uow(read_only=True) as r:
            await asyncio.sleep(0.2)
            return await r.users.get(u.id)

    ticker = asyncio.create_task(tick())
    try:
        async with asyncio.timeout(10):
            seen = await asyncio.gather(*(read() for _ in range(40)))
    finally:
        ticker.cancel()
    assert seen == [u] * 40
    assert ticks >= 10  # the loop ticked while the readers waited


async def write_one(factory: SqlUnitOfWorkFactory, start: asyncio.Event) -> None:
    await start.wait()
    u = b.user()
    t = b.tenant(u.id)
    async with factory() as w:
        await w.users.count()  # a read first: a deferred SQLite transaction could not upgrade
        await w.tenants.add(t)
        await w.users.add(replace(u, default_tenant_id=t.id))
        await w.auth_state.bump()
        await w.commit()


async def test_twenty_concurrent_writers_on_two_engines_all_commit(db: Db) -> None:
    engine = create_engine(db.url)
    second = SqlUnitOfWorkFactory(engine, db.published.append)
    start = asyncio.Event()
    try:
        tasks = [asyncio.create_task(write_one(f, start)) for f in [db.uow, second] * 10]
        start.set()
        async with asyncio.timeout(60):
            await asyncio.gather(*tasks)
    finally:
        await second.dispose()
        await engine.dispose()
    async with db.uow(read_only=True) as r:
        assert (await r.users.count(), await r.auth_state.generation()) == (20, 20)


def unreachable_urls(backend: str, tmp: str) -> list[str]:
    if backend == "sqlite":
        return [f"sqlite+aiosqlite:///{tmp}/no-such-dir/metadata.db"]
    server = make_url(pg_url())
    return [
        server.set(port=1).render_as_string(hide_password=False),
        server.set(database=b.uniq("missing")).render_as_string(hide_password=False),
    ]


async def aiosqlite_threads_finished(timeout: float = 5.0) -> None:
    """aiosqlite stops the worker of a connection that failed to open asynchronously; wait for
    it while this test's loop still runs (else it reports to a closed loop in a later test)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while any(t.name.endswith("(_connection_worker_thread)") for t in threading.enumerate()):
        assert asyncio.get_running_loop().time() < deadline, "aiosqlite worker still running"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("read_only", [False, True], ids=["writer", "reader"])
async def test_an_unreachable_database_is_backend_unavailable(
    backend: str, tmp_path: object, read_only: bool
) -> None:
    for url in unreachable_urls(backend, str(tmp_path)):
        engine = create_engine(url)
        factory = SqlUnitOfWorkFactory(engine, lambda _events: None)
        try:
            with pytest.raises(BackendUnavailable):
                async with factory(read_only=read_only) as w:
                    await w.users.count()
        finally:
            await factory.dispose()
            await engine.dispose()
    await aiosqlite_threads_finished()


def _hold_sqlite_write_lock(path: str, held: threading.Event, release: threading.Event) -> None:
    """Another writer (as another process would be): BEGIN IMMEDIATE, wait, roll back."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(30)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def _sqlite_lock_held(db: Db) -> AsyncIterator[threading.Event]:
    """SQLite's write lock held by another connection (in a thread, as another process
    would hold it) until the event yielded is set."""
    held, release = threading.Event(), threading.Event()
    path = make_url(db.url).database
    assert path is not None
    holder = threading.Thread(target=_hold_sqlite_write_lock, args=(path, held, release))
    holder.start()
    try:
        assert await asyncio.to_thread(held.wait, 10)
        yield release
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 10)


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's write lock: no PostgreSQL twin
async def test_a_sqlite_writer_waits_for_another_holder_without_blocking_the_loop(
    db: Db,
) -> None:
    async with _sqlite_lock_held(db) as release:
        go = asyncio.Event()
        go.set()
        writer = asyncio.create_task(write_one(db.uow, go))
        ticks = 0
        for _ in range(20):  # the loop keeps running while the writer waits for the lock
            await asyncio.sleep(0.01)
            ticks += 1
        assert not writer.done() and ticks == 20
        release.set()
        async with asyncio.timeout(10):
            await writer
    async with db.uow(read_only=True) as r:
        assert await r.users.count() == 1


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's write lock: no PostgreSQL twin
async def test_a_sqlite_writer_gives_up_when_the_lock_is_never_released(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inline, "BUSY_WAIT_S", 0.2)
    async with _sqlite_lock_held(db):
        with pytest.raises(BackendUnavailable, match="locked by another process"):
            async with db.uow() as w:
                await w.tenants.add(b.tenant(b.uniq("owner")))
                await w.commit()
    async with db.uow() as w:  # the connection went back to the pool, usable
        await w.tenants.add(b.tenant(b.uniq("owner")))
        await w.commit()
    assert (await stored(db))[0] == 1


# --- writers of several server processes take turns through the gate ------------------------


async def _hold_gate(
    factory: SqlUnitOfWorkFactory, holding: asyncio.Event, go: asyncio.Event
) -> None:
    async with factory() as w:
        await w.tenants.add(b.tenant(b.uniq("owner")))
        holding.set()
        await go.wait()
        await w.commit()


@contextlib.asynccontextmanager
async def _gate_held(db: Db) -> AsyncIterator[tuple[SqlUnitOfWorkFactory, asyncio.Event]]:
    """A writer of `db.uow` holding the gate until the event yielded is set, and a second
    factory on the same file: two factories stand for two server processes (an flock is
    per open file, so two descriptors contend even in one process)."""
    engine = create_engine(db.url)
    second = SqlUnitOfWorkFactory(engine, db.published.append)
    holding, go = asyncio.Event(), asyncio.Event()
    holder = asyncio.create_task(_hold_gate(db.uow, holding, go))
    try:
        await holding.wait()
        yield second, go
    finally:
        go.set()
        await holder
        await second.dispose()
        await engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])  # SQLite's write lock: no PostgreSQL twin
async def test_another_processs_writer_is_woken_as_soon_as_the_gate_opens(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = 0
    real = inline.InlineWriter._begin_immediate

    async def counted(self: inline.InlineWriter, deadline: float) -> None:
        nonlocal attempts
        attempts += 1
        await real(self, deadline)

    monkeypatch.setattr(inline.InlineWriter, "_begin_immediate", counted)
    start = asyncio.Event()
    start.set()
    async with _gate_held(db) as (second, go):
        waiter = asyncio.create_task(write_one(second, start))
        for _ in range(10):  # the loop runs on while the second process's writer waits
            await asyncio.sleep(0.01)
        assert not waiter.done()
        assert attempts == 1  # the holder's: the waiter sleeps on the gate, not polling SQLite
        go.set()
        async with asyncio.timeout(10):
            await waiter
    assert attempts == 2 and (await stored(db))[0] == 2


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_an_abandoned_wait_for_the_gate_does_not_keep_it(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = asyncio.Event()
    start.set()
    async with _gate_held(db) as (second, go):
        cancelled = asyncio.create_task(write_one(second, start))  # waits, then is cancelled
        await asyncio.sleep(0.05)
        cancelled.cancel()
        monkeypatch.setattr(inline, "BUSY_WAIT_S", 0.1)
        with pytest.raises(BackendUnavailable, match="locked by another process"):
            await write_one(second, start)  # gives up after the (shortened) wait
        go.set()
        with pytest.raises(asyncio.CancelledError):
            await cancelled
        async with asyncio.timeout(5):  # neither the cancelled nor the timed-out wait kept it
            await write_one(second, start)
            await write_one(db.uow, start)
    assert (await stored(db))[0] == 3


# --- version(): what a read may be kept on ------------------------------------------------


async def steady(factory: SqlUnitOfWorkFactory) -> int:
    """The version once two calls in a row agree. PostgreSQL's snapshot is the whole
    cluster's: a transaction of autovacuum's, or of another database, may end meanwhile."""
    last = await factory.version()
    for _ in range(50):
        now = await factory.version()
        if now is not None and now == last:
            return now
        last = now
        await asyncio.sleep(0.05)
    raise AssertionError(f"the version never held still (last {last})")


async def unmoved_by(factory: SqlUnitOfWorkFactory, action: Callable[[], Awaitable[None]]) -> bool:
    """Whether `action` leaves the version where it was (asked again if something else
    moved it meanwhile: an action that moves it moves it every time)."""
    for _ in range(3):
        before = await steady(factory)
        await action()
        if await factory.version() == before:
            return True
    return False


async def test_the_version_moves_with_every_commit_and_only_then(db: Db) -> None:
    async def read() -> None:
        async with db.uow(read_only=True) as r:
            await r.users.count()

    async def write_nothing() -> None:
        async with db.uow() as w:
            await w.users.count()
            await w.commit()

    async def roll_back() -> None:
        async with db.uow() as w:
            await w.tenants.add(b.tenant(b.uniq("owner")))

    assert await unmoved_by(db.uow, read)
    assert await unmoved_by(db.uow, write_nothing)
    if db.backend == "sqlite":  # PostgreSQL: a transaction that wrote ends either way
        assert await unmoved_by(db.uow, roll_back)
    for _ in range(3):
        first = await steady(db.uow)
        await b.seed_tenant(db.uow)
        assert (await db.uow.version() or 0) > first


OTHER_PROCESS = {
    "sqlite": (
        "import sqlite3, sys\n"
        "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "c.execute(\"UPDATE tenants SET name = 'renamed'\")\n"
    ),
    "postgres": (
        "import asyncio, asyncpg, sys\n"
        "async def main():\n"
        "    c = await asyncpg.connect(sys.argv[1])\n"
        "    await c.execute(\"UPDATE tenants SET name = 'renamed'\")\n"
        "    await c.close()\n"
        "asyncio.run(main())\n"
    ),
}


async def test_the_version_sees_commits_of_other_connections_and_processes(db: Db) -> None:
    other = SqlUnitOfWorkFactory(db.engine, lambda _: None)  # another process's factory
    try:
        before = await steady(db.uow)
        await b.seed_tenant(other)
        after = await steady(db.uow)
        assert after > before
        target = make_url(db.url).database if db.backend == "sqlite" else asyncpg_dsn(db.url)
        assert target is not None
        script = OTHER_PROCESS[db.backend]
        done = await asyncio.create_subprocess_exec(sys.executable, "-c", script, target)
        assert await done.wait() == 0
        assert (await db.uow.version() or 0) > after
    finally:
        await other.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_the_version_keeps_growing_over_a_new_probe_connection(db: Db) -> None:
    before = await db.uow.version()
    assert before is not None
    await db.uow.dispose()  # the probe connection goes; the next call opens another
    assert (await db.uow.version() or 0) > before


async def test_a_store_that_cannot_tell_has_no_version(backend: str, tmp_path: Path) -> None:
    """An unreachable database, and an in-memory one (nothing to count): callers keep
    nothing."""
    urls = unreachable_urls(backend, str(tmp_path))
    if backend == "sqlite":
        urls.append("sqlite+aiosqlite:///:memory:")
    for url in urls:
        engine = create_engine(url)
        factory = SqlUnitOfWorkFactory(engine, lambda _: None)
        try:
            assert await factory.version() is None
        finally:
            await factory.dispose()
            await engine.dispose()


async def test_a_database_not_made_yet_keeps_nothing_and_is_not_made(tmp_path: Path) -> None:
    path = tmp_path / "not yet" / "metadata.db"
    path.parent.mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    factory = SqlUnitOfWorkFactory(engine, lambda _: None)
    try:
        assert await factory.version() is None and not path.exists()
        await upgrade(f"sqlite+aiosqlite:///{path}")  # made now: counted from here on
        first = await factory.version()
        await b.seed_tenant(factory)
        assert first is not None and (await factory.version() or 0) > first
    finally:
        await factory.dispose()
        await engine.dispose()
