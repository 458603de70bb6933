"""The identity/access generation pushed by PostgreSQL LISTEN/NOTIFY, and its fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import text

from tests.pg_support import fresh_pg_database, pg_url
from thecloud.adapters.sql.engine import create_engine
from thecloud.adapters.sql.migrate import upgrade
from thecloud.adapters.sql.notify import APP_NAME, PgAccessWatch
from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory

pytestmark = pytest.mark.postgres


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with fresh_pg_database(pg_url()) as fresh:
        await upgrade(fresh)
        yield fresh


async def until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def bump(factory: SqlUnitOfWorkFactory, times: int = 1) -> None:
    for _ in range(times):
        async with factory() as uow:
            await uow.auth_state.bump()
            await uow.commit()


async def test_another_process_hears_of_a_bump_when_it_commits(url: str) -> None:
    engine, watch = create_engine(url), PgAccessWatch(url)
    await watch.open()
    try:
        await until(lambda: watch.current() == 0)
        other = SqlUnitOfWorkFactory(engine, lambda _e: None)  # no watch: another process
        await bump(other, 3)
        await until(lambda: watch.current() == 3)
    finally:
        await watch.close()
        await engine.dispose()


async def test_a_rolled_back_bump_is_never_heard(url: str) -> None:
    engine, watch = create_engine(url), PgAccessWatch(url)
    await watch.open()
    try:
        await until(lambda: watch.current() == 0)
        async with SqlUnitOfWorkFactory(engine, lambda _e: None)() as uow:
            await uow.auth_state.bump()  # leaves without commit
        await bump(SqlUnitOfWorkFactory(engine, lambda _e: None))
        await until(lambda: watch.current() == 1)
    finally:
        await watch.close()
        await engine.dispose()


async def test_the_committing_process_knows_at_once(url: str) -> None:
    engine, watch = create_engine(url), PgAccessWatch(url)
    await watch.open()
    try:
        await until(lambda: watch.current() == 0)
        own = SqlUnitOfWorkFactory(engine, lambda _e: None, watch.note)
        await bump(own)
        assert watch.current() == 1  # no wait: noted on commit, before any notification
    finally:
        await watch.close()
        await engine.dispose()


async def test_a_lost_listener_falls_back_to_the_store_then_recovers(url: str) -> None:
    engine, watch = create_engine(url), PgAccessWatch(url, retry_seconds=0.05)
    await watch.open()
    try:
        await until(lambda: watch.current() == 0)
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :app AND datname = current_database()"
                ),
                {"app": APP_NAME},
            )
        await until(lambda: watch.current() is None)
        await bump(SqlUnitOfWorkFactory(engine, lambda _e: None), 2)
        await until(lambda: watch.current() == 2)  # reconnected and re-read the store
    finally:
        await watch.close()
        await engine.dispose()
