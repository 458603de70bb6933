"""The throwaway PostgreSQL server of `make test` (scripts/postgres.sh): its URL, and
databases of their own for the tests that need one (integration and e2e tiers)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

PG_MISSING = (
    "PostgreSQL test server not configured: run `make test` "
    "(or `./scripts/postgres.sh start` and export THECLOUD_TEST_PG_URL=...)"
)


def pg_url() -> str:
    """The test server's URL, or a test failure that says how to start it."""
    url = os.environ.get("THECLOUD_TEST_PG_URL", "").strip()
    if not url:
        pytest.fail(PG_MISSING, pytrace=False)
    return url


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
