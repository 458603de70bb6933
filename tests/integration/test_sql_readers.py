"""Readers and writers see the same rows: on SQLite the raw driver paths (rawread.py) must
decode every column type exactly as SQLAlchemy does, and writers must store exactly what
SQLAlchemy would store."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.adapters.sql.pgread import APP_NAME
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import InvalidInput


async def both_paths(db: Db, repo: str, call: str, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
    async with db.uow(read_only=True) as reader:
        seen_by_reader = await getattr(getattr(reader, repo), call)(*args, **kwargs)
    async with db.uow() as writer:  # a write transaction reads through SQLAlchemy
        seen_by_writer = await getattr(getattr(writer, repo), call)(*args, **kwargs)
    return seen_by_reader, seen_by_writer


async def test_every_column_type_reads_the_same_on_both_paths(db: Db) -> None:
    owner, tenant = await b.seed_tenant(db.uow)
    sa = b.service_account(tenant.id)
    pol = b.policy(tenant.id)
    await b.add_all(db, "service_accounts", sa)  # booleans
    await b.add_all(db, "policies", pol)  # JSON document
    await b.add_all(db, "secrets", b.secret(tenant.id))  # blobs, nullable timestamps
    await b.add_all(db, "audit", b.audit(tenant.id))  # JSON details
    await b.add_all(db, "roles", b.role(tenant.id))  # JSON list -> tuple
    for repo in ("service_accounts", "policies", "secrets", "audit", "roles", "tenants", "users"):
        reader, writer = await both_paths(db, repo, "list", ListQuery())
        assert repr(reader) == repr(writer) and reader.total >= 1, repo  # repr: True is not 1
    for repo, ident in (("service_accounts", sa.id), ("policies", pol.id), ("users", owner.id)):
        reader, writer = await both_paths(db, repo, "get", ident)
        assert repr(reader) == repr(writer) and reader is not None, repo


async def test_filters_with_none_counts_and_pages_match(db: Db) -> None:
    _, tenant = await b.seed_tenant(db.uow)
    await b.add_all(db, "secrets", *(b.secret(tenant.id) for _ in range(7)))
    query = ListQuery(filters={"last_accessed_at": None})
    reader, writer = await both_paths(db, "secrets", "list", query, tenant.id)
    assert repr(reader) == repr(writer) and reader.total == 7
    reader, writer = await both_paths(db, "secrets", "count", tenant_id=tenant.id)
    assert reader == writer == 7
    reader, writer = await both_paths(db, "auth_state", "generation")
    assert reader == writer


async def test_nul_in_a_read_parameter_is_bad_input_on_both_paths(db: Db) -> None:
    _, tenant = await b.seed_tenant(db.uow)
    for read_only in (True, False):
        async with db.uow(read_only=read_only) as w:
            if db.backend == "sqlite":  # SQLite stores NUL; there is simply no such row
                assert await w.secrets.find_one(tenant_id=tenant.id, name="a\x00b") is None
                continue
            with pytest.raises(InvalidInput, match="NUL"):
                await w.secrets.find_one(tenant_id=tenant.id, name="a\x00b")


@pytest.mark.parametrize("backend", ["postgres"])  # PostgreSQL readers' own connections
async def test_a_pg_reader_whose_connection_died_reads_again_on_a_new_one(db: Db) -> None:
    owner, _ = await b.seed_tenant(db.uow)
    async with db.uow(read_only=True) as w:  # leaves an idle reader connection behind
        assert await w.users.get(owner.id) is not None
    async with db.engine.connect() as conn:
        killed = await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :app AND datname = current_database()"
            ),
            {"app": APP_NAME},
        )
        assert killed.all(), "no reader connection to terminate"
    for _ in range(3):  # the dead idle connection is noticed and the read retried
        async with db.uow(read_only=True) as w:
            assert await w.users.get(owner.id) is not None


@pytest.mark.parametrize("backend", ["postgres"])  # PostgreSQL readers' own connections
async def test_pg_readers_use_no_more_connections_than_their_pool(db: Db) -> None:
    owner, _ = await b.seed_tenant(db.uow)
    gate = asyncio.Event()

    async def read() -> None:
        async with db.uow(read_only=True) as w:
            assert await w.users.get(owner.id) is not None
            await gate.wait()

    readers = [asyncio.create_task(read()) for _ in range(40)]
    await asyncio.sleep(0.5)
    async with db.engine.connect() as conn:
        opened = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = :app AND datname = current_database()"
                ),
                {"app": APP_NAME},
            )
        ).scalar_one()
    gate.set()
    await asyncio.gather(*readers)
    assert 1 <= opened <= 16


# --- SQLite writers' raw path (rawread.write_plan) -----------------------------------------


async def _stored(db: Db, table: str, ident: str) -> tuple[Any, ...]:
    async with db.engine.connect() as conn:
        query = text(f"SELECT * FROM {table} WHERE id = :id")  # noqa: S608 - our table names
        row = (await conn.execute(query, {"id": ident})).one()
    return tuple(row)


async def _write_both_ways(db: Db, repo_name: str, item: Any, verb: str) -> tuple[Any, Any]:
    """The row as the raw path stores `item` (add or update), then as SQLAlchemy does."""
    from sqlalchemy import delete

    from thecloud.adapters.sql.rawread import RAW

    rows = []
    for raw in (True, False):
        async with db.uow() as w:
            repo = getattr(w, repo_name)
            table = repo.table
            if verb == "add":
                await w._c.execute(delete(table).where(table.c.id == item.id))
                stmt, params = repo._s.insert(), repo.encode(item)
            else:
                values = repo.encode(item)
                stmt = repo._s.update()
                params = {f"v_{k}": v for k, v in values.items() if k != "id"}
                params["p_key"] = item.id
            stmt = stmt if raw else stmt.execution_options(**{RAW: False})
            await w._c.execute(stmt, params)
            await w.commit()
        rows.append(await _stored(db, table.name, item.id))
    return rows[0], rows[1]


async def test_raw_writes_store_exactly_what_sqlalchemy_stores(db: Db) -> None:
    from dataclasses import replace

    _, tenant = await b.seed_tenant(db.uow)
    items = {
        "service_accounts": b.service_account(tenant.id),  # booleans
        "policies": b.policy(tenant.id),  # a JSON document
        "secrets": b.secret(tenant.id),  # bytes, nullable timestamps
        "audit": b.audit(tenant.id),  # JSON details
        "roles": b.role(tenant.id),  # a JSON list
    }
    for repo_name, item in items.items():
        await b.add_all(db, repo_name, item)
        raw, ordinary = await _write_both_ways(db, repo_name, item, "add")
        assert raw == ordinary, repo_name
    changed = replace(items["secrets"], last_accessed_at=b.at(9), description="changed ✓")
    raw, ordinary = await _write_both_ways(db, "secrets", changed, "update")
    assert raw == ordinary and "changed ✓" in raw


async def test_raw_writes_report_conflicts_and_rowcounts_as_sqlalchemy_does(db: Db) -> None:
    from thecloud.domain.errors import Conflict

    _, tenant = await b.seed_tenant(db.uow)
    secret = b.secret(tenant.id)
    await b.add_all(db, "secrets", secret)
    async with db.uow() as w:
        with pytest.raises(Conflict, match="already exists"):
            await w.secrets.add(secret)  # the same primary key
    async with db.uow() as w:
        assert await w.secrets.delete(secret.id) is True
        assert await w.secrets.delete(secret.id) is False  # the row count of the raw delete
        await w.commit()


def test_writes_needing_more_than_bound_values_take_sqlalchemys_path() -> None:
    from sqlalchemy.dialects import sqlite

    from thecloud.adapters.sql import tables as t
    from thecloud.adapters.sql.rawread import write_plan

    dialect = sqlite.dialect()
    full = tuple(c.name for c in t.tenants.columns)
    assert write_plan(t.tenants.insert(), dialect, full) is not None
    # `personal` has a Python-side default, which only SQLAlchemy's path computes
    assert write_plan(t.tenants.insert(), dialect, ("id", "name")) is None
