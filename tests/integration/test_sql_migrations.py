"""Alembic migrations against real databases: they build exactly the schema of tables.py."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from tests.integration import builders as b
from thecloud.adapters.sql.engine import create_engine
from thecloud.adapters.sql.migrate import alembic_config, upgrade
from thecloud.adapters.sql.tables import metadata
from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def schema(url: str) -> tuple[set[str], str | None]:
    """The tables of the database and its Alembic revision."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
            revision = await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()
    return tables, revision


def schema_diffs(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def test_there_is_exactly_one_head() -> None:
    cfg = alembic_config("sqlite://")
    assert ScriptDirectory.from_config(cfg).get_heads() == [HEAD]


async def test_upgrade_on_an_empty_database_creates_every_table(database_url: str) -> None:
    assert await schema(database_url) == (set(), None)
    await upgrade(database_url)
    assert await schema(database_url) == ({*metadata.tables, "alembic_version"}, HEAD)


async def test_upgrading_twice_changes_nothing_and_keeps_data(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    factory = SqlUnitOfWorkFactory(engine, lambda _events: None)
    try:
        _, t = await b.seed_tenant(factory)
        await upgrade(database_url)
        async with factory(read_only=True) as w:
            assert await w.tenants.get(t.id) == t
    finally:
        await factory.dispose()
        await engine.dispose()
    assert await schema(database_url) == ({*metadata.tables, "alembic_version"}, HEAD)


async def test_the_migrated_schema_matches_tables_metadata(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(schema_diffs)
    finally:
        await engine.dispose()
    assert diffs == [], "migrations and tables.py differ; add a migration (alembic revision)"


async def test_the_comparison_does_see_a_schema_difference(database_url: str) -> None:
    await upgrade(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
            await conn.execute(text("DROP INDEX ix_api_keys_user"))
            diffs = await conn.run_sync(schema_diffs)
    finally:
        await engine.dispose()
    kinds = sorted(d[0] for d in diffs)
    assert kinds == ["add_index", "remove_table"]


async def test_objects_made_before_tags_existed_have_an_empty_tag_set(database_url: str) -> None:
    """Revision 0013 adds the tag columns: rows already there read as untagged, and can be
    tagged afterwards."""
    import asyncio
    from dataclasses import replace

    from alembic import command

    from tests.integration.test_sql_objects import bucket, upload, version
    from thecloud.adapters.sql import tables as t

    await asyncio.to_thread(command.upgrade, alembic_config(database_url), "0012")
    engine = create_engine(database_url)
    factory = SqlUnitOfWorkFactory(engine, lambda _events: None)
    try:
        _, tenant = await b.seed_tenant(factory)
        bkt = bucket(tenant.id)
        async with factory() as w:
            await w.buckets.add(bkt)
            old_version, old_upload = version(bkt, "old"), upload(bkt, "old")
            rows = {
                t.object_versions: w.object_versions.encode(old_version),
                t.multipart_uploads: w.uploads.encode(old_upload),
            }
            await w.commit()
        async with engine.begin() as conn:  # as revision 0012 wrote them: no tags column
            for table, row in rows.items():
                await conn.execute(table.insert().values({k: v for k, v in row.items()
                                                          if k != "tags"}))  # fmt: skip
        await upgrade(database_url)
        async with factory() as w:
            got = await w.object_versions.get(old_version.id)
            assert got == old_version and got.tags == {}
            assert await w.uploads.get(old_upload.id) == old_upload
            await w.object_versions.update(replace(got, tags={"after": "upgrade"}))
            await w.commit()
        async with factory(read_only=True) as w:
            again = await w.object_versions.get(old_version.id)
            assert again is not None and again.tags == {"after": "upgrade"}
    finally:
        await factory.dispose()
        await engine.dispose()
