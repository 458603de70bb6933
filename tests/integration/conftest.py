"""Real metadata databases for the SQL adapter tests: SQLite files and PostgreSQL databases.

Every test that asks for `db` or `database_url` runs once per backend. SQLite gets a fresh,
migrated file per test. PostgreSQL gets a uniquely named database per test module (created and
dropped through an admin connection), migrated once and emptied before every test. PostgreSQL
tests need the server of `./scripts/postgres.sh start` and its URL in THECLOUD_TEST_PG_URL;
without it they fail with a message naming that step (they never skip).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.builders import Db
from tests.integration.docker_support import busybox_image, docker_runtime  # noqa: F401
from tests.pg_support import create_pg_database, drop_pg_database, fresh_pg_database, pg_url
from thecloud.adapters.sql.engine import create_engine
from thecloud.adapters.sql.migrate import upgrade
from thecloud.adapters.sql.tables import metadata
from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory
from thecloud.domain.audit import Event

T = TypeVar("T")
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def in_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a private event loop in a worker thread (for sync fixtures)."""

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """This module's own PostgreSQL database, migrated to head."""
    server = pg_url()
    url = in_thread(lambda: create_pg_database(server))
    try:
        in_thread(lambda: upgrade(url))
        yield url
    finally:
        in_thread(lambda: drop_pg_database(url))


async def empty_all_tables(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the backend, private to this test (for migration tests)."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/empty.db"
        return
    async with fresh_pg_database(pg_url()) as url:
        yield url


@pytest.fixture
async def db(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Db]:
    """A migrated database with no rows, an engine and a SqlUnitOfWorkFactory on it."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/metadata.db"
        await upgrade(url)
    else:
        url = request.getfixturevalue("pg_module_url")
    engine = create_engine(url)
    if backend == "postgres":
        await empty_all_tables(engine)
    published: list[list[Event]] = []
    factory = SqlUnitOfWorkFactory(engine, published.append)
    yield Db(backend, url, engine, factory, published)
    await factory.dispose()
    await engine.dispose()
