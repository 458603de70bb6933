"""SharedProbe: concurrent callers share one read, never one sent before they asked."""

from __future__ import annotations

import asyncio

import pytest

from thecloud.adapters.sql.pgread import SharedProbe


class Reads:
    """A read that answers its own sequence number once released, counting reads sent."""

    def __init__(self) -> None:
        self.sent = 0
        self.release = asyncio.Event()
        self.fail = False

    async def __call__(self) -> int:
        self.sent += 1
        number = self.sent
        await self.release.wait()
        if self.fail:
            raise RuntimeError(f"read {number} failed")
        return number


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_callers_asking_at_once_share_one_read() -> None:
    reads = Reads()
    probe = SharedProbe(reads)
    asked = [asyncio.create_task(probe.ask()) for _ in range(10)]
    await settle()
    reads.release.set()
    assert await asyncio.gather(*asked) == [1] * 10
    assert reads.sent == 1


async def test_a_caller_never_gets_a_read_sent_before_it_asked() -> None:
    reads = Reads()
    probe = SharedProbe(reads)
    early = asyncio.create_task(probe.ask())
    await settle()
    assert reads.sent == 1  # read 1 is out
    late = [asyncio.create_task(probe.ask()) for _ in range(5)]
    await settle()
    assert reads.sent == 1  # the late ones wait for the next read, not for read 1
    reads.release.set()
    assert await early == 1
    assert await asyncio.gather(*late) == [2] * 5  # one read serves all of them
    assert reads.sent == 2
    assert await probe.ask() == 3  # a lone caller later: a read of its own


async def test_a_failed_read_fails_its_callers_only() -> None:
    reads = Reads()
    probe = SharedProbe(reads)
    reads.fail = True
    asked = [asyncio.create_task(probe.ask()) for _ in range(3)]
    await settle()
    reads.release.set()
    for task in asked:
        with pytest.raises(RuntimeError, match="read 1 failed"):
            await task
    reads.fail = False
    assert await probe.ask() == 2


async def test_a_caller_that_gives_up_leaves_the_read_to_the_others() -> None:
    reads = Reads()
    probe = SharedProbe(reads)
    quitter, stayer = asyncio.create_task(probe.ask()), asyncio.create_task(probe.ask())
    await settle()
    quitter.cancel()
    await settle()
    reads.release.set()
    assert await stayer == 1
    assert quitter.cancelled()
