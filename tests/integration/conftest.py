"""Real metadata databases for the SQL adapter tests: SQLite files and PostgreSQL databases.

Every test that asks for `db` or `database_url` runs once per backend. SQLite gets a fresh,
migrated file per test. PostgreSQL gets a uniquely named database per test module (created and
dropped through an admin connection), migrated once and emptied before every test. PostgreSQL
tests need the server of `./scripts/postgres.sh start` and its URL in THECLOUD_TEST_PG_URL;
without it they fail with a message naming that step (they never skip).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from tests.integration.builders import Db
from tests.integration.docker_support import busybox_image, docker_runtime  # noqa: F401
from thecloud.adapters.sql.engine import create_engine
from thecloud.adapters.sql.migrate import upgrade
from thecloud.adapters.sql.tables import metadata
from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory
from thecloud.domain.audit import Event

T = TypeVar("T")
PG_MISSING = (
    "PostgreSQL test server not configured: run `make test` "
    "(or `./scripts/postgres.sh start` and export THECLOUD_TEST_PG_URL=...)"
)
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def pg_url() -> str:
    """The test server's URL, or a test failure that says how to start it."""
    url = os.environ.get("THECLOUD_TEST_PG_URL", "").strip()
    if not url:
        pytest.fail(PG_MISSING, pytrace=False)
    return url


def in_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on a private event loop in a worker thread (for sync fixtures)."""

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def create_pg_database(server_url: str) -> str:
    """A new, uniquely named empty database on the test server; returns its URL."""
    name = f"thecloud_it_{uuid.uuid4().hex[:16]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    await _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def fresh_pg_database(server_url: str) -> AsyncIterator[str]:
    """A fresh database for the duration of the block."""
    url = await create_pg_database(server_url)
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def _admin(server_url: str, sql: str) -> None:
    """Run one statement on the server's maintenance database `postgres`."""
    url = make_url(server_url).set(database="postgres")
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(sql))
    except (OSError, DBAPIError) as exc:
        where = url.render_as_string(hide_password=True)
        pytest.fail(f"PostgreSQL test server at {where} is unreachable ({exc}). {PG_MISSING}")
    finally:
        await admin.dispose()


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
