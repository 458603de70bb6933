"""SQLite writers of one process, in turn, sharing write transactions (a group commit).

A SQLite COMMIT writes every page the transaction touched to the WAL: a 4 KiB object put
touches about a dozen (its row, the leaves of five indexes, the audit record and the event
with theirs), and the COMMIT was a fifth of the put's CPU. Writers queued behind one another
touch mostly the same leaf pages, so when short writes arrive together, a transaction is
handed from one to the next and committed once for all of them: BEGIN IMMEDIATE, the
writers' gate (other processes, see inline.py), COMMIT and the WAL's fsync (GroupSync) are
paid once per group, not per write.

- Every unit of work is a savepoint in the open transaction; its rollback undoes its own
  statements only (`ROLLBACK TO`), and a failed one leaves the others' work in place.
- A unit that commits releases its savepoint and, while the next one waiting may share the
  transaction, hands it on; it returns only once the transaction has committed, so nothing
  is acknowledged before it is in the database (and the caller's `sync()` then makes it
  durable). When the COMMIT fails, every unit in the group fails with BackendUnavailable.
- Only units that asked for it (`batched`: short writes that await nothing but the
  database, such as an object's metadata) share: another unit waits for the group in front
  of it to commit and starts a transaction of its own, so a write that waits on something
  slow (a password hash, a DNS server) never holds back a write that did not ask to wait.
- A group ends when no batched unit waits, or after GROUP_MOST units or GROUP_LONGEST_S
  seconds, whichever comes first: a bound on the wait of its first unit and on how long
  another process waits for the gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable

from thecloud.adapters.sql.inline import InlinePool, InlineWriter
from thecloud.adapters.sql.rows import Rows
from thecloud.domain.errors import BackendUnavailable

GROUP_MOST = 64  # units of work in one transaction at most
GROUP_LONGEST_S = 0.010  # a transaction is not handed on once it has been open this long

_SAVEPOINT = "unit"


class GroupCommit:
    """The turn to write on one SQLite database in this process, and the transaction the
    turns may share (see the module's docstring)."""

    def __init__(self, pool: InlinePool) -> None:
        self._pool = pool
        self._held = False  # someone has the turn
        self._holder_batched = False
        self._queue: deque[tuple[asyncio.Future[None], bool]] = deque()
        self._tx: InlineWriter | None = None  # the open transaction
        self._landed: asyncio.Future[None] | None = None  # its outcome
        self._units = 0  # units committed in it so far
        self._opened = 0.0

    async def join(self, batched: bool) -> GroupMember:
        """Wait for the turn, then a savepoint in the open transaction (or a new one)."""
        await self._take_turn(batched)
        try:
            if self._tx is None:
                tx = InlineWriter(self._pool)
                try:
                    await tx.begin()
                except BaseException:
                    tx.end(commit=False)
                    raise
                self._tx, self._units, self._opened = tx, 0, time.monotonic()
                self._landed = asyncio.get_running_loop().create_future()
                # a failure nobody waits for (every unit of it cancelled) is not an error
                self._landed.add_done_callback(_retrieved)
            self._tx.run(f"SAVEPOINT {_SAVEPOINT}")
        except BaseException:
            self._fail_open_transaction()
            self._hand_on()
            raise
        return GroupMember(self, self._tx)

    async def _take_turn(self, batched: bool) -> None:
        if not self._held and not self._queue:
            self._held, self._holder_batched = True, batched
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (turn, batched)
        self._queue.append(entry)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                # given the turn just as it was cancelled: pass it on
                self._holder_batched = batched
                self._hand_on()
            else:
                with contextlib.suppress(ValueError):
                    self._queue.remove(entry)
            raise
        self._holder_batched = batched

    def _hand_on(self) -> None:
        """The holder is done: hand the open transaction to the next unit waiting when both
        share, else commit it; then give the turn to the next unit waiting (or to nobody)."""
        while self._queue and self._queue[0][0].done():  # cancelled while waiting
            self._queue.popleft()
        following = self._queue[0] if self._queue else None
        if self._tx is not None and not (
            following is not None
            and following[1]
            and self._holder_batched
            and self._units < GROUP_MOST
            and time.monotonic() - self._opened < GROUP_LONGEST_S
        ):
            self._end_transaction()
        if following is None:
            self._held = False
            return
        self._queue.popleft()
        following[0].set_result(None)

    def _end_transaction(self) -> None:
        """COMMIT the open transaction (ROLLBACK when no unit committed in it) and settle
        the outcome every unit in it awaits."""
        tx, landed = self._tx, self._landed
        assert tx is not None and landed is not None  # noqa: S101
        self._tx = self._landed = None
        try:
            tx.end(commit=self._units > 0)
        except BackendUnavailable as exc:
            landed.set_exception(exc)
        else:
            landed.set_result(None)

    def _fail_open_transaction(self) -> None:
        """The open transaction can no longer be committed as it is (SQLite ended it by
        itself, or undoing one unit failed): roll it back, and every unit in it fails."""
        tx, landed = self._tx, self._landed
        if tx is None or landed is None:
            return
        self._tx = self._landed = None
        with contextlib.suppress(BackendUnavailable):
            tx.end(commit=False)
        landed.set_exception(
            BackendUnavailable("the metadata database lost a transaction; nothing in it was kept")
        )

    # what GroupMember calls while its unit has the turn

    def release_unit(self) -> asyncio.Future[None]:
        """Keep the holder's work (RELEASE its savepoint); returns the outcome of the
        transaction it is now part of. BackendUnavailable when the transaction was lost."""
        tx, landed = self._tx, self._landed
        assert tx is not None and landed is not None  # noqa: S101
        try:
            if not tx.in_transaction():
                raise BackendUnavailable(
                    "the metadata database lost a transaction; nothing in it was kept"
                )
            tx.run(f"RELEASE {_SAVEPOINT}")
        except BackendUnavailable:
            self._fail_open_transaction()
            raise
        self._units += 1
        return landed

    def undo_unit(self, keep_savepoint: bool) -> None:
        """Undo the holder's statements (ROLLBACK TO its savepoint), keeping the savepoint
        for more when asked. BackendUnavailable when the transaction was lost (SQLite ended
        it by itself): everything in it is undone then, and its units fail."""
        tx = self._tx
        assert tx is not None  # noqa: S101
        try:
            if not tx.in_transaction():
                raise BackendUnavailable(
                    "the metadata database lost a transaction; nothing in it was kept"
                )
            tx.run(f"ROLLBACK TO {_SAVEPOINT}")
            if not keep_savepoint:
                tx.run(f"RELEASE {_SAVEPOINT}")
        except BackendUnavailable:
            self._fail_open_transaction()
            raise

    @property
    def sharing(self) -> bool:
        """Whether the holder may hand the open transaction on."""
        return self._holder_batched and self._tx is not None

    def hand_on(self) -> None:
        """The holder is done with its turn (see _hand_on)."""
        self._hand_on()


class GroupMember:
    """A unit of work's view of the shared transaction: the subset of AsyncConnection the
    repositories use."""

    def __init__(self, group: GroupCommit, tx: InlineWriter) -> None:
        self._group = group
        self._tx: InlineWriter | None = tx
        self._dialect = tx.dialect

    async def execute(self, statement: Executable, parameters: Any = None) -> Rows:
        if self._tx is None:
            raise RuntimeError("this unit of work has ended: open a new one to use the database")
        return await self._tx.execute(statement, parameters)

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    def in_transaction(self) -> bool:
        return self._tx is not None

    async def commit_landed(self) -> asyncio.CancelledError | None:
        """Keep this unit's work and wait until the transaction holding it has committed.
        Raises BackendUnavailable when that COMMIT failed (nothing of this unit was kept). A
        cancellation while waiting does not stop the wait (the work commits either way); it
        is returned, for the caller to finish what follows a commit and then raise it."""
        if self._tx is None:
            return None  # committed already
        try:
            outcome = self._group.release_unit()
        except BaseException:
            self._end()
            raise
        cancelled: asyncio.CancelledError | None = None
        if self._group.sharing:
            # one pass of the loop, still holding the turn: writes that are ready to run
            # get as far as waiting for it, and the transaction goes on to them
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError as exc:
                cancelled = exc
        self._end()
        while not outcome.done():
            try:
                await asyncio.wait((outcome,))
            except asyncio.CancelledError as exc:
                cancelled = exc
        outcome.result()
        return cancelled

    async def rollback(self) -> None:
        """Undo this unit's statements so far; the unit keeps its turn and may go on."""
        if self._tx is None:
            return
        try:
            self._group.undo_unit(keep_savepoint=True)
        except BaseException:
            self._end()
            raise

    async def close(self) -> None:
        """Undo what was not committed, and give up the turn. Nothing to report when the
        transaction was lost meanwhile: this unit kept nothing either way, and the units
        that had released their work into it are told by their commit()."""
        if self._tx is None:
            return
        try:
            with contextlib.suppress(BackendUnavailable):
                self._group.undo_unit(keep_savepoint=False)
        finally:
            self._end()

    def _end(self) -> None:
        self._tx = None
        self._group.hand_on()


def _retrieved(landed: asyncio.Future[None]) -> None:
    if not landed.cancelled():
        landed.exception()
