"""sync(): what object writes call after their commit, so an acknowledged write survives a
power loss (SQLite: the WAL is fsynced; PostgreSQL: already durable at commit)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integration.builders import Db


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
