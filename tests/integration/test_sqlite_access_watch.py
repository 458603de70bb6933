"""The identity/access generation of a SQLite installation, shared through a mapped file."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from thecloud.adapters.sql.access_file import SqliteAccessWatch, access_watch
from thecloud.adapters.sql.engine import create_engine
from thecloud.adapters.sql.migrate import upgrade
from thecloud.adapters.sql.notify import PgAccessWatch
from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory


@dataclass
class Installation:
    database: Path
    url: str
    factory: SqlUnitOfWorkFactory  # a process that writes, and announces its bumps
    writer: SqliteAccessWatch
    other: SqliteAccessWatch  # another process, which only reads


@pytest.fixture
async def inst(tmp_path: Path) -> AsyncIterator[Installation]:
    database = tmp_path / "metadata.db"
    url = f"sqlite+aiosqlite:///{database}"
    await upgrade(url)
    engine = create_engine(url)
    writer, other = SqliteAccessWatch(database), SqliteAccessWatch(database)
    await writer.open()
    await other.open()
    factory = SqlUnitOfWorkFactory(engine, lambda _e: None, writer.note, on_bump=writer.announce)
    yield Installation(database, url, factory, writer, other)
    await writer.close()
    await other.close()
    await factory.dispose()
    await engine.dispose()


async def stored(inst: Installation) -> int:
    async with inst.factory(read_only=True) as uow:
        return await uow.auth_state.generation()


async def bump(inst: Installation, times: int = 1) -> None:
    for _ in range(times):
        async with inst.factory() as uow:
            await uow.auth_state.bump()
            await uow.commit()


def test_the_url_chooses_the_watch(tmp_path: Path) -> None:
    assert isinstance(access_watch(f"sqlite+aiosqlite:///{tmp_path}/m.db"), SqliteAccessWatch)
    assert access_watch("sqlite+aiosqlite:///:memory:") is None
    pg = access_watch("postgresql+asyncpg://u:p@127.0.0.1:5432/d")
    assert isinstance(pg, PgAccessWatch)


async def test_every_process_sees_a_bump_before_it_commits(inst: Installation) -> None:
    assert inst.other.current() == inst.writer.current() == await stored(inst) == 0
    async with inst.factory() as uow:
        await uow.auth_state.bump()
        assert inst.other.current() == 1  # announced: ahead of the store until the commit
        assert await stored(inst) == 0
        await uow.commit()
    assert inst.other.current() == await stored(inst) == 1
    await bump(inst, 2)
    assert inst.other.current() == await stored(inst) == 3


async def test_a_rolled_back_bump_leaves_the_file_ahead_until_the_next_commit(
    inst: Installation,
) -> None:
    async with inst.factory() as uow:
        await uow.auth_state.bump()  # leaves without commit
    assert (inst.other.current(), await stored(inst)) == (1, 0)  # caches miss: slow, not stale
    await bump(inst)
    assert inst.other.current() == await stored(inst) == 1


async def test_opening_brings_the_file_up_to_the_store_and_never_back(
    inst: Installation,
) -> None:
    unannounced = SqlUnitOfWorkFactory(create_engine(inst.url), lambda _e: None)
    async with unannounced() as uow:  # a writer without the watch
        await uow.auth_state.bump()
        await uow.auth_state.bump()
        await uow.commit()
    await unannounced.dispose()
    late = SqliteAccessWatch(inst.database)
    assert late.current() is None
    await late.open()
    assert late.current() == inst.other.current() == 2
    inst.writer.announce(7)  # a transaction that then died
    await late.close()
    await late.open()
    assert late.current() == 7  # the store says 2: the file does not go back
    await late.close()
    assert late.current() is None


async def test_a_database_not_made_yet_counts_as_generation_zero(tmp_path: Path) -> None:
    watch = SqliteAccessWatch(tmp_path / "not-yet.db")
    await watch.open()
    assert watch.current() == 0
    await watch.close()
    empty = tmp_path / "empty.db"  # made, not migrated
    sqlite3.connect(empty).close()
    watch = SqliteAccessWatch(empty)
    await watch.open()
    assert watch.current() == 0
    await watch.close()


async def test_a_process_of_its_own_sees_the_bump(inst: Installation) -> None:
    code = (
        "import asyncio, sys, time\n"
        "from thecloud.adapters.sql.access_file import SqliteAccessWatch\n"
        "async def main():\n"
        "    w = SqliteAccessWatch(sys.argv[1]); await w.open()\n"
        "    print(w.current(), flush=True)\n"
        "    deadline = time.monotonic() + 20\n"
        "    while w.current() != 5 and time.monotonic() < deadline:\n"
        "        await asyncio.sleep(0.01)\n"
        "    print(w.current(), flush=True)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(inst.database)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    first = await asyncio.to_thread(proc.stdout.readline)
    assert first.strip() == "0"
    await bump(inst, 5)
    out, _ = await asyncio.to_thread(proc.communicate, timeout=30)
    assert out.strip() == "5"
