"""sync(): what object writes call after their commit, so an acknowledged write survives a
power loss (SQLite: the WAL is fsynced; PostgreSQL: already durable at commit)."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from tests.integration.builders import Db
from thecloud.adapters.sql import uow as uow_module


async def test_sync_fsyncs_the_sqlite_wal_after_a_commit(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.uow() as uow:
        await uow.auth_state.bump()
        await uow.commit()
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    await db.uow.sync()
    if db.backend == "sqlite":
        database = db.engine.url.database or ""
        assert synced == [str(Path(f"{database}-wal").resolve())]
    else:
        assert synced == []  # PostgreSQL fsyncs every commit itself


async def test_concurrent_syncs_share_fsyncs_and_each_waits_for_one_begun_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wal = tmp_path / "db-wal"
    wal.write_bytes(b"x")
    began: list[int] = []  # how many sync() calls had been made when each fsync began
    asked = 0
    gate = threading.Event()
    real_fsync = os.fsync

    def slow(fd: int) -> None:
        began.append(asked)
        gate.wait(5)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow)
    group = uow_module.GroupSync(str(wal))

    async def one() -> None:
        nonlocal asked
        asked += 1
        await group.sync()

    first = asyncio.create_task(one())
    await asyncio.sleep(0.05)  # its fsync is running (held at the gate)
    late = [asyncio.create_task(one()) for _ in range(15)]
    await asyncio.sleep(0.05)
    assert not first.done() and not any(t.done() for t in late)
    gate.set()
    async with asyncio.timeout(10):
        await asyncio.gather(first, *late)
    assert began == [1, 16]  # the late ones could not count on the first fsync: one more


async def test_a_failed_fsync_fails_its_waiters_and_the_next_sync_tries_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wal = tmp_path / "db-wal"
    wal.write_bytes(b"x")
    calls: list[int] = []
    real_fsync = os.fsync

    def flaky(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", flaky)
    group = uow_module.GroupSync(str(wal))
    with pytest.raises(OSError, match="Input/output"):
        await group.sync()
    await group.sync()
    assert len(calls) == 2


async def test_a_sync_arriving_as_an_fsync_completes_starts_the_next_one(tmp_path: Path) -> None:
    """The window between an fsync's completion and its waiters resuming: a newcomer must
    start the next fsync, not spin on the finished one (which once hung the event loop)."""
    wal = tmp_path / "db-wal"
    wal.write_bytes(b"x")
    group = uow_module.GroupSync(str(wal))
    finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    finished.set_result(None)
    group._running = finished  # completed, but covering no ticket of the newcomer
    async with asyncio.timeout(5):
        await group.sync()
