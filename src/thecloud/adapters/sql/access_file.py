"""The identity/access generation of a SQLite installation, shared through a mapped file.

PostgreSQL pushes the counter to every server process (notify.py); SQLite has no such
channel, so without this every authenticated request read it from the database. Here the
counter also lives in eight bytes of a file beside the database (`<database>-access`),
mapped into every process: reading it is a memory load.

A bump writes the file inside its transaction, before the commit (SQLite writers take turns,
so the writes come in order). The file may therefore run ahead of the database: a reader
that sees the new value misses its cache, reads the store, which does not show the change
yet, and tags what it loads with the store's generation, which no longer equals the file's
(ports/access.py): it misses again until the commit lands. A transaction that rolls back,
or a process killed between the write and the commit, leaves the file ahead: caches miss
(slower, never stale) until the next bump catches the store up. The file never goes back: every
write keeps the larger value, under an exclusive lock for the read-modify-write.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from thecloud.adapters.sql.engine import is_sqlite, on_disk
from thecloud.adapters.sql.notify import PgAccessWatch
from thecloud.ports.access import AccessWatch

_SIZE = 8


def access_watch(url: str) -> AccessWatch | None:
    """PostgreSQL's pushed generation, or the mapped file of a SQLite database on disk
    (an in-memory database lives in one process: it has nobody to tell)."""
    if not is_sqlite(url):
        return PgAccessWatch(url)
    database = make_url(url).database
    return SqliteAccessWatch(database) if database and on_disk(database) else None


class SqliteAccessWatch:
    def __init__(self, database: str | Path) -> None:
        self._database = Path(database)
        self._path = Path(f"{database}-access")
        self._fd: int | None = None
        self._map: mmap.mmap | None = None

    def current(self) -> int | None:
        if self._map is None:
            return None
        return int.from_bytes(self._map[:_SIZE], "little")

    def announce(self, generation: int) -> None:
        """Before the commit (and again after it, as `note`): the larger value stays."""
        self._raise_to(generation)

    note = announce

    async def open(self) -> None:
        """Map the file (made when missing) and bring it up to the store's generation."""
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            with _locked(fd):
                if os.fstat(fd).st_size < _SIZE:
                    os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._raise_to(_stored_generation(self._database))

    async def close(self) -> None:
        mapped, fd = self._map, self._fd
        self._map, self._fd = None, None
        if mapped is not None:
            mapped.close()
        if fd is not None:
            os.close(fd)

    def _raise_to(self, generation: int) -> None:
        if self._map is None or self._fd is None:
            return
        with _locked(self._fd):
            if generation > int.from_bytes(self._map[:_SIZE], "little"):
                self._map[:_SIZE] = generation.to_bytes(_SIZE, "little")


@contextmanager
def _locked(fd: int) -> Iterator[None]:
    """flock(LOCK_EX) for a read-modify-write of the file."""
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _stored_generation(database: Path) -> int:
    """The committed generation (0 before the database or its table exists)."""
    if not database.exists():
        return 0
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT generation FROM auth_state WHERE id = 1").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    finally:
        conn.close()
    return int(row[0]) if row else 0
