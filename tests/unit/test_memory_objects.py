"""The in-memory ObjectStore keeps the port's contract: staging, commit, abort, ranges, sweep."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from thecloud.adapters.memory import ManualClock
from thecloud.adapters.memory.objects import PIECE, MemoryObjectStore
from thecloud.domain.errors import CloudError, InvalidInput, NotFound

KEY, OTHER_KEY = bytes(range(32)), bytes(range(1, 33))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store(clock: ManualClock) -> MemoryObjectStore:
    return MemoryObjectStore(clock)


async def put(store: MemoryObjectStore, data: bytes, key: bytes = KEY) -> str:
    writer = store.writer(key)
    for offset in range(0, len(data), 1000):
        await writer.write(data[offset : offset + 1000])
    assert writer.size == len(data)
    await writer.commit()
    return writer.blob_id


async def get(store: MemoryObjectStore, blob_id: str, size: int, *args: int) -> bytes:
    return b"".join([piece async for piece in store.read(blob_id, KEY, size, *args)])


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 65536 + 5])
async def test_round_trips(store: MemoryObjectStore, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    blob_id = await put(store, data)
    assert await get(store, blob_id, size) == data
    assert len(blob_id) == 32 and int(blob_id, 16) >= 0


async def test_ranges_and_their_boundaries(store: MemoryObjectStore) -> None:
    size = 3 * PIECE + 5
    data = bytes(i % 253 for i in range(size))
    blob_id = await put(store, data)
    offsets = [0, 1, PIECE - 1, PIECE, PIECE + 1, size - 1, size]
    for start in offsets:
        for stop in offsets:
            if start <= stop:
                assert await get(store, blob_id, size, start, stop) == data[start:stop]
    pieces = [p async for p in store.read(blob_id, KEY, size)]
    assert [len(p) for p in pieces] == [PIECE, PIECE, PIECE, 5]
    for start, stop in [(-1, 1), (2, 1), (0, size + 1)]:
        with pytest.raises(InvalidInput):
            await get(store, blob_id, size, start, stop)


async def test_reads_fail_like_the_real_store(store: MemoryObjectStore) -> None:
    blob_id = await put(store, b"hello")
    with pytest.raises(CloudError, match="failed authentication"):
        b"".join([p async for p in store.read(blob_id, OTHER_KEY, 5)])
    with pytest.raises(CloudError, match="damaged"):
        await get(store, blob_id, 6)
    with pytest.raises(NotFound):
        await get(store, "0" * 32, 0)
    store.corrupt(blob_id)
    with pytest.raises(CloudError, match="failed authentication"):
        await get(store, blob_id, 5)
    with pytest.raises(InvalidInput):
        store.writer(b"short")


async def test_invisible_until_committed(store: MemoryObjectStore) -> None:
    writer = store.writer(KEY)
    await writer.write(b"partial")
    assert await store.stored() == []
    with pytest.raises(NotFound):
        await get(store, writer.blob_id, 7)
    await writer.commit()
    assert [b.blob_id for b in await store.stored()] == [writer.blob_id]
    assert store.staging == {}
    with pytest.raises(CloudError, match="committed"):
        await writer.write(b"more")
    await writer.abort()  # too late: a no-op
    assert await get(store, writer.blob_id, 7) == b"partial"


async def test_abort_discards(store: MemoryObjectStore) -> None:
    writer = store.writer(KEY)
    await writer.write(b"gone")
    await writer.abort()
    await writer.abort()
    assert store.staging == {} and store.blobs == {}
    with pytest.raises(CloudError, match="aborted"):
        await writer.commit()


async def test_delete_ignores_missing_blobs(store: MemoryObjectStore) -> None:
    kept, gone = await put(store, b"a"), await put(store, b"b")
    await store.delete([gone, "f" * 32, gone])
    assert [b.blob_id for b in await store.stored()] == [kept]


async def test_sweep_follows_the_clock(store: MemoryObjectStore, clock: ManualClock) -> None:
    stale = store.writer(KEY)
    await stale.write(b"old")
    clock.advance(hours=2)
    fresh = store.writer(KEY)
    await fresh.write(b"new")
    committed = await put(store, b"done")
    assert await store.sweep_staging(clock.now() - timedelta(hours=1)) == 1
    assert set(store.staging) == {fresh.blob_id}
    with pytest.raises(CloudError, match="swept"):
        await stale.commit()
    await stale.abort()
    await fresh.commit()
    assert {b.blob_id for b in await store.stored()} == {committed, fresh.blob_id}
    assert all(b.modified_at == clock.now() for b in await store.stored())


async def test_concurrent_writers(store: MemoryObjectStore) -> None:
    async def one(n: int) -> tuple[str, bytes]:
        writer, data = store.writer(KEY), bytes([n]) * (n * 10)
        for offset in range(0, len(data), 7):
            await writer.write(data[offset : offset + 7])
            await asyncio.sleep(0)
        await writer.commit()
        return writer.blob_id, data

    for blob_id, data in await asyncio.gather(*(one(n) for n in range(20))):
        assert await get(store, blob_id, len(data)) == data
