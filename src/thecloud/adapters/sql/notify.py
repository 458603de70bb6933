"""The identity/access generation pushed by PostgreSQL LISTEN/NOTIFY.

`SqlAuthState.bump` sends `pg_notify(CHANNEL, <new generation>)` inside the changing
transaction, so every server process hears of a revocation when it commits. A dedicated
connection listens; while it is down, `current()` is None and requests read the counter
from the store, so a lost connection costs speed, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

CHANNEL = "thecloud_access"
APP_NAME = "thecloud-access-watch"
log = logging.getLogger(__name__)


def asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PgAccessWatch:
    def __init__(self, url: str, retry_seconds: float = 1.0) -> None:
        self._dsn, self._retry = asyncpg_dsn(url), retry_seconds
        self._conn: Any = None
        self._value: int | None = None
        self._task: asyncio.Task[None] | None = None

    def current(self) -> int | None:
        return self._value if self._conn is not None and not self._conn.is_closed() else None

    def announce(self, generation: int) -> None:
        """Nothing to do: the NOTIFY sent in the transaction is delivered at its commit."""

    def note(self, generation: int) -> None:
        if self._value is not None:
            self._value = max(self._value, generation)

    async def open(self) -> None:
        self._task = asyncio.create_task(self._keep_listening())

    async def _keep_listening(self) -> None:
        while True:
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("access watch disconnected (%s); reading the store meanwhile", exc)
            self._value = None
            await asyncio.sleep(self._retry)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self._dsn, server_settings={"application_name": APP_NAME})
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        await conn.add_listener(CHANNEL, self._on_notify)
        stored = await conn.fetchval("SELECT generation FROM auth_state WHERE id = 1")
        self._value = max(self._value or 0, int(stored or 0))
        self._conn = conn
        try:
            await lost.wait()
        finally:
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.close()

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload.isdigit():
            self.note(int(payload))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._value = None
