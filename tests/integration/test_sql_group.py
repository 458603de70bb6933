"""Group commit on SQLite: short writes that arrive together share one transaction, each
still atomic on its own, none acknowledged before the shared COMMIT (adapters/sql/group.py).
PostgreSQL commits each unit of work by itself: the same calls must behave the same there."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.adapters.sql import group, inline
from thecloud.domain.errors import BackendUnavailable
from thecloud.domain.identity import Tenant

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


class Commits:
    """The transactions the writers' connection ended, as (committed, units in it)."""

    def __init__(self) -> None:
        self.ended: list[tuple[bool, int]] = []

    @property
    def committed(self) -> list[int]:
        return [units for ok, units in self.ended if ok]


@pytest.fixture
def commits(monkeypatch: pytest.MonkeyPatch) -> Commits:
    seen = Commits()
    real = group.GroupCommit._end_transaction

    def counted(self: group.GroupCommit) -> None:
        seen.ended.append((self._units > 0, self._units))
        real(self)

    monkeypatch.setattr(group.GroupCommit, "_end_transaction", counted)
    return seen


async def _sleep_zero() -> None:
    await asyncio.sleep(0)  # one pass of the loop: the other writers queue meanwhile


async def tenant_ids(db: Db) -> set[str]:
    async with db.uow(read_only=True) as r:
        return {t.id for t in (await r.tenants.find())}


async def write(
    db: Db,
    tenant: Tenant,
    *,
    batched: bool = True,
    before_commit: Callable[[], Awaitable[None]] | None = None,
    fail: bool = False,
) -> bool:
    """One unit: add `tenant`, wait in the unit (so that others queue behind it), commit;
    returns whether a reader saw the tenant right after the commit returned."""
    async with db.uow(batched=batched) as w:
        await w.tenants.add(tenant)
        await w.emit(b.event(tenant.id))
        if before_commit is not None:
            await before_commit()
        if fail:
            raise RuntimeError("boom")
        await w.commit()
    return tenant.id in await tenant_ids(db)


async def test_writes_that_arrive_together_share_a_commit_and_each_is_read_after_it(
    db: Db, commits: Commits
) -> None:
    """Twelve batched writers at once: every one is in the database when its commit()
    returns (read-after-write), every one's events are published once; on SQLite they
    took fewer COMMITs than writers."""
    tenants = [b.tenant(b.uniq("owner")) for _ in range(12)]
    seen = await asyncio.gather(*(write(db, t, before_commit=_sleep_zero) for t in tenants))
    assert seen == [True] * 12
    assert await tenant_ids(db) == {t.id for t in tenants}
    assert sorted(e.tenant_id for batch in db.published for e in batch) == sorted(
        t.id for t in tenants
    )
    if db.backend == "sqlite":
        assert sum(commits.committed) == 12
        assert len(commits.committed) < 12  # shared


@sqlite_only
async def test_one_failing_writer_in_a_group_takes_nothing_of_the_others_with_it(
    db: Db, commits: Commits
) -> None:
    tenants = [b.tenant(b.uniq("owner")) for _ in range(6)]
    results = await asyncio.gather(
        *(write(db, t, before_commit=_sleep_zero, fail=i == 2) for i, t in enumerate(tenants)),
        return_exceptions=True,
    )
    assert isinstance(results[2], RuntimeError)
    assert [r for i, r in enumerate(results) if i != 2] == [True] * 5
    assert await tenant_ids(db) == {t.id for i, t in enumerate(tenants) if i != 2}
    published = {e.tenant_id for batch in db.published for e in batch}
    assert tenants[2].id not in published and len(published) == 5
    assert sum(commits.committed) == 5 and len(commits.committed) < 5


@sqlite_only
async def test_a_rolled_back_unit_may_go_on_in_its_savepoint(db: Db) -> None:
    dropped, kept, other = (b.tenant(b.uniq("owner")) for _ in range(3))

    async def undo_then_keep() -> None:
        async with db.uow(batched=True) as w:
            await w.tenants.add(dropped)
            await asyncio.sleep(0)  # the other writer queues behind
            await w.rollback()
            await w.tenants.add(kept)
            await w.commit()

    await asyncio.gather(undo_then_keep(), write(db, other))
    assert await tenant_ids(db) == {kept.id, other.id}


@sqlite_only
async def test_a_unit_that_did_not_ask_to_share_commits_alone_and_never_holds_others_back(
    db: Db, commits: Commits, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow unit that did not ask to be batched starts after the group in front of it has
    committed, and the batched ones behind it wait for it to end, not the reverse."""
    monkeypatch.setattr(group, "GROUP_LONGEST_S", 5.0)  # not what ends the groups here
    first, slow, after = (b.tenant(b.uniq("owner")) for _ in range(3))
    order: list[str] = []

    async def slow_write() -> None:
        await asyncio.sleep(0)  # behind `first`
        async with db.uow() as w:
            # the group in front committed before this unit got its turn
            order.append("slow in" if first.id in await tenant_ids(db) else "slow in early")
            await w.tenants.add(slow)
            await asyncio.sleep(0.1)
            await w.commit()
        order.append("slow out")

    async def batched(t: Tenant, label: str) -> None:
        assert await write(db, t, before_commit=_sleep_zero)
        order.append(label)

    async def late() -> None:
        await asyncio.sleep(0.02)  # while the slow one holds the turn
        await batched(after, "after")

    await asyncio.gather(batched(first, "first"), slow_write(), late())
    assert order == ["first", "slow in", "slow out", "after"]
    assert commits.committed == [1, 1, 1]


@sqlite_only
async def test_a_group_is_bounded_in_units(
    db: Db, commits: Commits, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group, "GROUP_MOST", 3)
    tenants = [b.tenant(b.uniq("owner")) for _ in range(10)]
    await asyncio.gather(*(write(db, t, before_commit=_sleep_zero) for t in tenants))
    assert sum(commits.committed) == 10
    assert max(commits.committed) <= 3 and len(commits.committed) >= 4


@sqlite_only
async def test_a_group_is_not_handed_on_once_it_has_been_open_long_enough(
    db: Db, commits: Commits
) -> None:
    first, second = b.tenant(b.uniq("owner")), b.tenant(b.uniq("owner"))

    async def slow() -> None:
        await asyncio.sleep(group.GROUP_LONGEST_S * 2)

    await asyncio.gather(write(db, first, before_commit=slow), write(db, second))
    assert commits.committed == [1, 1]


@sqlite_only
async def test_a_failed_commit_fails_every_unit_of_its_group_and_keeps_nothing(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The COMMIT is refused (as a full disk would): every unit whose work was in that
    transaction gets BackendUnavailable, nothing is published, and the next writes work."""
    real = inline.InlineWriter.end
    failing = True

    def refused(self: inline.InlineWriter, commit: bool) -> None:
        if commit and failing:
            real(self, commit=False)
            raise BackendUnavailable("the metadata database failed to commit a transaction")
        real(self, commit)

    monkeypatch.setattr(inline.InlineWriter, "end", refused)
    tenants = [b.tenant(b.uniq("owner")) for _ in range(5)]
    results = await asyncio.gather(
        *(write(db, t, before_commit=_sleep_zero) for t in tenants), return_exceptions=True
    )
    assert all(isinstance(r, BackendUnavailable) for r in results), results
    assert await tenant_ids(db) == set()
    assert db.published == []
    failing = False
    assert await write(db, tenants[0])


@sqlite_only
async def test_a_transaction_sqlite_ended_by_itself_fails_its_group_and_keeps_nothing(
    db: Db,
) -> None:
    """SQLite rolls a whole transaction back by itself on some errors (an I/O error, a full
    disk): the units already released into it fail instead of being acknowledged, and a
    later unit starts a transaction of its own."""
    kept, lost, breaking = (b.tenant(b.uniq("owner")) for _ in range(3))
    assert await write(db, kept)

    async def break_the_transaction() -> None:
        await asyncio.sleep(0)  # behind `lost`
        async with db.uow(batched=True) as w:
            await w.tenants.add(breaking)
            tx = db.uow._writers._tx  # type: ignore[union-attr]
            assert tx is not None
            inline._driver(tx._conn).execute("ROLLBACK")  # type: ignore[arg-type]
            with pytest.raises(BackendUnavailable, match="lost a transaction"):
                await w.commit()

    results = await asyncio.gather(
        write(db, lost, before_commit=_sleep_zero),
        break_the_transaction(),
        return_exceptions=True,
    )
    assert isinstance(results[0], BackendUnavailable), results
    assert results[1] is None
    assert await tenant_ids(db) == {kept.id}
    fresh = b.tenant(b.uniq("owner"))
    assert await write(db, fresh)


@sqlite_only
async def test_a_unit_leaving_with_an_error_after_its_transaction_was_lost_reports_its_error(
    db: Db,
) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with db.uow(batched=True) as w:
            await w.tenants.add(b.tenant(b.uniq("owner")))
            tx = db.uow._writers._tx  # type: ignore[union-attr]
            assert tx is not None
            inline._driver(tx._conn).execute("ROLLBACK")  # type: ignore[arg-type]
            raise RuntimeError("boom")
    assert await write(db, b.tenant(b.uniq("owner")))


@sqlite_only
async def test_a_unit_cancelled_while_its_group_commits_is_kept_and_then_cancelled(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group, "GROUP_LONGEST_S", 5.0)  # the group outlives the first's wait
    first, second = b.tenant(b.uniq("owner")), b.tenant(b.uniq("owner"))
    released = asyncio.Event()
    go_on = asyncio.Event()

    async def hold_the_group() -> None:
        async with db.uow(batched=True) as w:
            await w.tenants.add(second)
            released.set()
            await go_on.wait()  # the first unit waits for this transaction meanwhile
            await w.commit()

    async def first_writer() -> None:
        async with db.uow(batched=True) as w:
            await w.tenants.add(first)
            await w.emit(b.event(first.id))
            await asyncio.sleep(0.01)  # the holder queues behind meanwhile
            await w.commit()

    one = asyncio.create_task(first_writer())
    await asyncio.sleep(0)  # `one` has the turn
    holder = asyncio.create_task(hold_the_group())
    await released.wait()
    assert not one.done()  # its commit waits for the shared transaction
    one.cancel()
    await asyncio.sleep(0.01)
    assert not one.done()  # still waiting: its work is in the transaction either way
    go_on.set()
    with pytest.raises(asyncio.CancelledError):
        await one
    await holder
    assert await tenant_ids(db) == {first.id, second.id}
    assert [e.tenant_id for batch in db.published for e in batch] == [first.id]


@sqlite_only
async def test_a_writer_cancelled_while_waiting_for_its_turn_leaves_no_group_stuck(
    db: Db,
) -> None:
    tenants = [b.tenant(b.uniq("owner")) for _ in range(4)]
    tasks = [
        asyncio.create_task(write(db, t, before_commit=lambda: asyncio.sleep(0.01)))
        for t in tenants
    ]
    await asyncio.sleep(0)  # the first holds the turn, the others wait for it
    tasks[1].cancel()
    tasks[2].cancel()
    async with asyncio.timeout(5):
        results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] is True and results[3] is True
    assert isinstance(results[1], asyncio.CancelledError)
    assert isinstance(results[2], asyncio.CancelledError)
    assert await tenant_ids(db) == {tenants[0].id, tenants[3].id}
    assert db.uow._writers._tx is None  # type: ignore[union-attr]


@sqlite_only
async def test_a_writer_cancelled_just_as_it_is_given_the_turn_hands_it_on(
    db: Db, commits: Commits, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group, "GROUP_LONGEST_S", 5.0)
    first, second, third = (b.tenant(b.uniq("owner")) for _ in range(3))
    victims: list[asyncio.Task[bool]] = []
    real = group.GroupCommit._hand_on

    def hand_on_then_cancel(self: group.GroupCommit) -> None:
        handing = bool(self._queue)
        real(self)
        if handing and victims:  # the turn is the victim's now: cancelled before it runs
            victims.pop().cancel()

    monkeypatch.setattr(group.GroupCommit, "_hand_on", hand_on_then_cancel)
    one = asyncio.create_task(write(db, first, before_commit=lambda: asyncio.sleep(0.01)))
    await asyncio.sleep(0)
    two = asyncio.create_task(write(db, second))
    three = asyncio.create_task(write(db, third))
    victims.append(two)
    async with asyncio.timeout(5):
        results = await asyncio.gather(one, two, three, return_exceptions=True)
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], asyncio.CancelledError)
    assert await tenant_ids(db) == {first.id, third.id}
    assert commits.committed == [2]


@sqlite_only
async def test_a_unit_used_after_its_commit_is_refused(db: Db) -> None:
    async with db.uow(batched=True) as w:
        await w.tenants.add(b.tenant(b.uniq("owner")))
        await w.commit()
        with pytest.raises(RuntimeError, match="has ended"):
            await w.tenants.count()


@sqlite_only
async def test_a_batched_unit_of_an_update_sees_the_writes_before_it_in_its_group(
    db: Db,
) -> None:
    """Units in one transaction run one after another: a later one reads what an earlier
    one wrote (as it would once that had committed)."""
    u, t = await b.seed_tenant(db.uow)

    async def rename(name: str) -> str:
        async with db.uow(batched=True) as w:
            current = await w.tenants.get(t.id)
            assert current is not None
            await w.tenants.update(replace(current, name=current.name + name))
            await asyncio.sleep(0)
            await w.commit()
        return name

    await asyncio.gather(*(rename(x) for x in "abc"))
    async with db.uow(read_only=True) as r:
        final = await r.tenants.get(t.id)
    assert final is not None and final.name == t.name + "abc"


def sqlite_temp_files() -> list[str]:
    """SQLite's temporary files this process holds open (made and deleted at once, so only
    /proc still shows them)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if "etilqs_" in os.readlink(f"/proc/self/fd/{fd}"):
                found.append(fd)
    return found


@sqlite_only
async def test_a_units_savepoint_journal_stays_in_memory(db: Db) -> None:
    """Every unit is a savepoint: SQLite keeps the stored pages it changes, to undo them.
    Past 64 KiB that journal would be a temporary file, made, written and deleted for each
    unit."""
    _, tenant = await b.seed_tenant(db.uow)
    events = [b.event(tenant.id, data={"n": n, "pad": "x" * 4000}) for n in range(64)]
    async with db.uow() as w:
        for e in events:
            await w.emit(e)
        await w.commit()
    async with db.uow(batched=True) as w:
        for e in events:  # about 256 KiB of stored pages changed in the savepoint
            assert await w.events.delete(e.id)
        assert sqlite_temp_files() == []
        await w.commit()
    async with db.uow(read_only=True) as r:
        assert await r.events.after(tenant.id, 0, 100) == []
