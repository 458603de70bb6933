"""The shared in-memory database: committed state, snapshots for transactions, a write lock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from thecloud.adapters.memory.schema import TABLES, TableSpec, children
from thecloud.domain.errors import BackendUnavailable, Conflict
from thecloud.ports.clock import Clock

Rows = dict[Any, Any]


class ReadOnlyViolation(RuntimeError):
    """A write through a read-only unit of work: on SQLite it would contend for the lock."""


class NestedWrite(RuntimeError):
    """A write unit of work opened while the same task holds one: SQLite would deadlock."""


class MemoryState:
    """One consistent version of every table; rows are frozen dataclasses, shared by copies."""

    def __init__(
        self, tables: dict[str, Rows] | None = None, generation: int = 0, seq: int = 0
    ) -> None:
        self.tables = tables if tables is not None else {name: {} for name in TABLES}
        self.generation, self.seq = generation, seq
        self.read_only = False

    def copy(self, *, read_only: bool = False) -> MemoryState:
        tables = {name: dict(rows) for name, rows in self.tables.items()}
        state = MemoryState(tables, self.generation, self.seq)
        state.read_only = read_only
        return state

    def touch(self) -> None:
        """Called before every write."""
        if self.read_only:
            raise ReadOnlyViolation("a read-only unit of work tried to write")

    def check_parents(self, spec: TableSpec, row: object) -> None:
        for fk in spec.parents:
            value = getattr(row, fk.column)
            if value is not None and value not in self.tables[fk.parent]:
                raise Conflict(f"{spec.name}.{fk.column} refers to a missing {fk.parent} row")

    def remove(self, table: str, key: object) -> bool:
        """Delete one row and, like ON DELETE CASCADE, every row that points at it."""
        self.touch()
        row = self.tables[table].pop(key, None)
        if row is None:
            return False
        for child, column in children(table):
            rows = self.tables[child]
            for child_key in [k for k, r in rows.items() if getattr(r, column) == key]:
                self.remove(child, child_key)
        return True


class MemoryStore:
    """What the unit of work commits to; writers take the lock, like SQLite's BEGIN IMMEDIATE."""

    def __init__(self, clock: Clock | None = None, lock_timeout: float = 5.0) -> None:
        self.state = MemoryState()
        self.version = 0  # commits so far
        self.clock = clock
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._timeout = lock_timeout

    def now(self) -> datetime:
        return self.clock.now() if self.clock is not None else datetime.now(UTC)

    def snapshot(self, *, read_only: bool = False) -> MemoryState:
        return self.state.copy(read_only=read_only)

    def commit(self, state: MemoryState) -> None:
        self.state = state
        self.version += 1

    async def acquire(self) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise NestedWrite("a write unit of work opened inside another in the same task")
        try:
            await asyncio.wait_for(self._lock.acquire(), self._timeout)
        except TimeoutError as exc:
            raise BackendUnavailable("the in-memory store stayed locked by another writer") from exc
        self._owner = task

    def release(self) -> None:
        self._owner = None
        self._lock.release()
