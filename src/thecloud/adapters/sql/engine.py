"""Engines for SQLite (embedded default) and PostgreSQL, with SQLite made safe for writers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from thecloud.adapters.sql.rawread import json_dumps
from thecloud.domain.errors import InvalidInput


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def on_disk(database: str | None) -> bool:
    """A SQLite database in a file (not `:memory:` or a shared-cache URI)."""
    return bool(database) and database != ":memory:" and not str(database).startswith("file:")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine; on SQLite, WAL mode and `BEGIN IMMEDIATE` for write transactions."""
    if not is_sqlite(url):
        pg = create_async_engine(url, echo=echo, pool_size=32, max_overflow=32, pool_recycle=1800)
        _translate_text_errors(pg)
        return pg
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": 30}, json_serializer=json_dumps
    )
    _tune_sqlite(engine)
    return engine


# character_not_in_repertoire, untranslatable_character: PostgreSQL text cannot hold NUL
BAD_TEXT = frozenset({"22021", "22P05"})
NUL_MESSAGE = "text must not contain NUL characters (\\u0000)"


def _translate_text_errors(engine: AsyncEngine) -> None:
    """Text PostgreSQL cannot store (a NUL character) is the caller's error, not a crash."""

    @event.listens_for(engine.sync_engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        if getattr(context.original_exception, "sqlstate", None) in BAD_TEXT:
            raise InvalidInput(NUL_MESSAGE) from context.original_exception


def create_inline_reader(url: str | URL) -> Engine:
    """A synchronous engine on the same SQLite file, for readers on the loop thread.

    Its connections are in autocommit mode; InlineConnection opens and ends each read
    transaction itself, so the pool's begin/reset machinery stays out of the hot path.
    """
    engine = _inline_engine(url)
    _pragmas(engine, "query_only=ON")
    return engine


def create_inline_writer(url: str | URL) -> Engine:
    """A synchronous engine on the same SQLite file, for writers on the loop thread.

    Autocommit at the driver, so InlineWriter issues `BEGIN IMMEDIATE`/`COMMIT` itself, and
    a busy timeout of 0: a writer never sleeps on the loop thread waiting for another
    process's lock, it waits asynchronously instead (see inline.py).
    """
    engine = _inline_engine(url)
    # its pages read through a mapping of the first 32 MiB of the file: when another
    # process's commit makes its cache stale, it reads them again without a copy per page
    # (the writers' one connection only: every mapping counts in the process's RSS)
    _pragmas(engine, "busy_timeout=0", "mmap_size=33554432", "temp_store=MEMORY")
    return engine


def _inline_engine(url: str | URL) -> Engine:
    """A synchronous autocommit engine whose connections InlinePool keeps. On a file it has no
    pool of its own: SQLAlchemy's would let 15 connections out and then block the loop thread
    for 30 s when a 16th reader opens while the others wait on something. An in-memory
    database keeps its one connection per thread (a new connection would be a new database).
    """
    sync_url = make_url(url).set(drivername="sqlite")
    pooling: dict[str, Any] = {"poolclass": NullPool} if on_disk(sync_url.database) else {}
    return create_sync_engine(
        sync_url, isolation_level="AUTOCOMMIT", json_serializer=json_dumps, **pooling
    )


def _tune_sqlite(engine: AsyncEngine) -> None:
    _pragmas(engine.sync_engine)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # the driver is in autocommit (see _pragmas): transactions begin explicitly; the units
        # of work write through InlineWriter, so this engine's are migrations and tooling
        conn.exec_driver_sql("BEGIN")


def _pragmas(engine: Engine, *extra: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
            *extra,
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
