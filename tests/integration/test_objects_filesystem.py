"""The filesystem ObjectStore on a real directory: format, ranges, tampering, staging, memory."""

from __future__ import annotations

import asyncio
import os
import stat
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from thecloud.adapters.objects import sealed as fmt
from thecloud.adapters.objects.filesystem import FilesystemObjectStore
from thecloud.domain.errors import BackendUnavailable, CloudError, InvalidInput, NotFound

KEY, OTHER_KEY = bytes(range(32)), bytes(range(1, 33))
C = fmt.CHUNK
SIZES = [0, 1, C - 1, C, C + 1, 3 * C + 5, fmt.BATCH - 1, fmt.BATCH, fmt.BATCH + 1]


@pytest.fixture
def store(tmp_path: Path) -> FilesystemObjectStore:
    return FilesystemObjectStore(tmp_path / "objects")


def pattern(size: int, seed: int = 0) -> bytes:
    block = bytes((i * 7 + seed) % 251 for i in range(4099))
    return (block * (size // len(block) + 1))[:size]


async def put(store: FilesystemObjectStore, data: bytes, step: int = 0, key: bytes = KEY) -> str:
    writer = store.writer(key)
    step = step or max(len(data), 1)
    for offset in range(0, len(data), step):
        await writer.write(data[offset : offset + step])
    assert writer.size == len(data)
    await writer.commit()
    return writer.blob_id


async def get(store: FilesystemObjectStore, blob_id: str, size: int, *args: int) -> bytes:
    return b"".join([piece async for piece in store.read(blob_id, KEY, size, *args)])


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("step", [0, 1000, C, C + 3])
async def test_round_trips_every_size_however_it_is_written(
    store: FilesystemObjectStore, size: int, step: int
) -> None:
    data = pattern(size)
    blob_id = await put(store, data, step)
    assert await get(store, blob_id, size) == data
    path = store.blob_path(blob_id)
    assert path == store.root / "blobs" / blob_id[:2] / blob_id[2:4] / blob_id
    assert path.stat().st_size == fmt.sealed_size(size)
    assert files(store.root / "staging") == []


def test_sealed_size_counts_a_tag_per_chunk() -> None:
    assert [fmt.sealed_size(n) for n in (0, 1, C, C + 1)] == [0, 17, C + 16, C + 33]


async def test_the_file_is_the_documented_chunk_format(store: FilesystemObjectStore) -> None:
    data = os.urandom(2 * C + 10)
    raw = store.blob_path(await put(store, data)).read_bytes()
    aead, step = AESGCM(KEY), fmt.SEALED_CHUNK
    chunks = [raw[i : i + step] for i in range(0, len(raw), step)]
    plain = [aead.decrypt(i.to_bytes(12, "big"), c, None) for i, c in enumerate(chunks)]
    assert b"".join(plain) == data and [len(p) for p in plain] == [C, C, 10]
    assert data[:64] not in raw


async def test_files_and_directories_are_private(store: FilesystemObjectStore) -> None:
    path = store.blob_path(await put(store, b"secret"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for directory in (path.parent, path.parent.parent, store.blobs, store.staging, store.root):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700


OFFSETS = [0, 1, C - 1, C, C + 1, 2 * C, 3 * C - 1, 3 * C, 3 * C + 4, 3 * C + 5]


async def test_every_range_boundary(store: FilesystemObjectStore) -> None:
    size = 3 * C + 5
    data = pattern(size, seed=3)
    blob_id = await put(store, data)
    for start in OFFSETS:
        for stop in OFFSETS:
            if start <= stop:
                assert await get(store, blob_id, size, start, stop) == data[start:stop]
    assert await get(store, blob_id, size, C + 1) == data[C + 1 :]


async def test_large_ranges_come_in_pieces_of_at_most_a_mebibyte(
    store: FilesystemObjectStore,
) -> None:
    size = 3 * fmt.BATCH + 12345
    data = os.urandom(size)
    blob_id = await put(store, data, step=fmt.BATCH // 3)
    for start, stop in [(0, size), (C + 7, size - 3), (fmt.BATCH - 1, 2 * fmt.BATCH + 1)]:
        pieces = [p async for p in store.read(blob_id, KEY, size, start, stop)]
        assert b"".join(pieces) == data[start:stop]
        assert all(0 < len(p) <= fmt.BATCH for p in pieces)


@pytest.mark.parametrize(("start", "stop"), [(-1, 3), (4, 3), (0, 11), (11, 11)])
async def test_a_range_outside_the_blob_is_invalid(
    store: FilesystemObjectStore, start: int, stop: int
) -> None:
    blob_id = await put(store, b"0123456789")
    with pytest.raises(InvalidInput):
        await get(store, blob_id, 10, start, stop)


async def test_a_tampered_byte_fails_authentication(store: FilesystemObjectStore) -> None:
    size = 3 * C + 5
    data = pattern(size)
    blob_id = await put(store, data)
    path = store.blob_path(blob_id)
    raw = bytearray(path.read_bytes())
    raw[2 * fmt.SEALED_CHUNK + 100] ^= 1
    path.write_bytes(bytes(raw))
    with pytest.raises(CloudError, match="failed authentication"):
        await get(store, blob_id, size)
    with pytest.raises(CloudError, match="failed authentication"):
        await get(store, blob_id, size, 2 * C + 50, 2 * C + 51)
    assert await get(store, blob_id, size, 0, 2 * C) == data[: 2 * C]  # untouched chunks


async def test_swapped_chunks_fail_authentication(store: FilesystemObjectStore) -> None:
    blob_id = await put(store, pattern(2 * C))
    path = store.blob_path(blob_id)
    raw = path.read_bytes()
    path.write_bytes(raw[fmt.SEALED_CHUNK :] + raw[: fmt.SEALED_CHUNK])
    with pytest.raises(CloudError, match="failed authentication"):
        await get(store, blob_id, 2 * C)


async def test_a_wrong_data_key_fails_authentication(store: FilesystemObjectStore) -> None:
    blob_id = await put(store, b"hello world")
    with pytest.raises(CloudError, match="failed authentication") as caught:
        b"".join([p async for p in store.read(blob_id, OTHER_KEY, 11)])
    assert type(caught.value) is CloudError
    with pytest.raises(InvalidInput):
        store.writer(b"short")


async def test_a_size_that_does_not_match_the_file_means_damage(
    store: FilesystemObjectStore,
) -> None:
    blob_id = await put(store, pattern(C + 1))
    for size in (C, C + 2):
        with pytest.raises(CloudError, match="damaged"):
            await get(store, blob_id, size)
    path = store.blob_path(blob_id)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(CloudError, match="damaged"):
        await get(store, blob_id, C + 1)


async def test_a_missing_blob_is_not_found(store: FilesystemObjectStore) -> None:
    for blob_id in ("0" * 32, "../../etc/passwd", ""):
        with pytest.raises(NotFound):
            await get(store, blob_id, 0)
    with pytest.raises(NotFound):  # large reads open the file in a thread
        await get(store, "ab" * 16, 4 * fmt.BATCH)


async def test_a_blob_is_invisible_until_committed(store: FilesystemObjectStore) -> None:
    small, large = store.writer(KEY), store.writer(KEY)
    await small.write(b"small")
    await large.write(pattern(fmt.BATCH + 5))
    await large.write(pattern(fmt.BATCH))  # waits for the first batch to be on disk
    assert files(store.root / "staging") == [store.staging / large.blob_id]
    assert await store.stored() == []
    for writer in (small, large):
        with pytest.raises(NotFound):
            await get(store, writer.blob_id, writer.size)
    await small.commit()
    await large.commit()
    assert {b.blob_id for b in await store.stored()} == {small.blob_id, large.blob_id}
    assert files(store.staging) == []


async def test_a_committed_writer_takes_no_more(store: FilesystemObjectStore) -> None:
    writer = store.writer(KEY)
    await writer.write(b"x")
    await writer.commit()
    for step in (writer.write(b"y"), writer.commit()):
        with pytest.raises(CloudError, match="committed"):
            await step
    await writer.abort()  # too late to abort: a no-op
    assert await get(store, writer.blob_id, 1) == b"x"


@pytest.mark.parametrize("size", [0, 10, 3 * fmt.BATCH + 1])
async def test_abort_leaves_nothing(store: FilesystemObjectStore, size: int) -> None:
    writer = store.writer(KEY)
    await writer.write(pattern(size))
    await writer.abort()
    await writer.abort()
    assert files(store.root) == [] and await store.stored() == []
    with pytest.raises(CloudError, match="aborted"):
        await writer.write(b"more")


async def test_abort_after_a_cancelled_write_waits_for_it_and_cleans_up(
    store: FilesystemObjectStore,
) -> None:
    writer = store.writer(KEY)
    await writer.write(bytes(8 * fmt.BATCH))  # in flight when it returns
    task = asyncio.create_task(writer.write(bytes(fmt.BATCH)))  # waits for it to land
    await asyncio.sleep(0)
    task.cancel()  # and so the write in flight is cancelled too
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(CloudError, match="failed"):
        await writer.write(b"x")
    await writer.abort()
    await asyncio.sleep(0.2)  # had the cancelled thread gone on, it would have written by now
    assert files(store.root) == []


async def test_a_batch_is_written_while_the_next_arrives_and_its_failure_is_reported(
    store: FilesystemObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """write() returns with its batch still going to disk (the caller receives and hashes
    the next meanwhile); should that batch fail, the next write() or commit() raises the
    disk's error, and abort() leaves nothing."""
    import threading

    from thecloud.adapters.objects import filesystem

    release = threading.Event()
    real = filesystem._write_all

    def slow_then_full(fd: int, data: memoryview) -> None:
        release.wait(10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(filesystem, "_write_all", slow_then_full)
    writer = store.writer(KEY)
    async with asyncio.timeout(5):
        await writer.write(pattern(fmt.BATCH))  # returns although the disk has not answered
    release.set()
    with pytest.raises(BackendUnavailable, match="No space left"):
        await writer.write(pattern(fmt.BATCH))
    await writer.abort()
    monkeypatch.setattr(filesystem, "_write_all", real)
    assert files(store.root) == [] and await store.stored() == []


async def test_delete_removes_blobs_and_ignores_missing_ones(
    store: FilesystemObjectStore,
) -> None:
    kept, gone = await put(store, b"kept"), await put(store, b"gone")
    await store.delete([gone, "f" * 32, "not-an-id", gone])
    assert [b.blob_id for b in await store.stored()] == [kept]
    with pytest.raises(NotFound):
        await get(store, gone, 4)
    await store.delete([])


async def test_stored_lists_blobs_with_utc_modification_times(
    store: FilesystemObjectStore,
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=2)
    ids = {await put(store, pattern(n)) for n in range(5)}
    (store.blobs / "zz").mkdir()  # strangers in the tree are ignored
    (store.blobs / "README").write_text("not a blob")
    listed = await store.stored()
    assert {b.blob_id for b in listed} == ids
    assert all(b.modified_at.tzinfo is UTC and b.modified_at >= before for b in listed)


async def test_sweep_removes_only_stale_staging_files(store: FilesystemObjectStore) -> None:
    stale, fresh = store.writer(KEY), store.writer(KEY)
    for writer in (stale, fresh):
        await writer.write(pattern(fmt.BATCH))
        await writer.write(pattern(fmt.BATCH))  # the first batch is on disk once this returns
    old = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    os.utime(store.staging / stale.blob_id, (old, old))
    assert await store.sweep_staging(datetime.now(UTC) - timedelta(hours=1)) == 1
    assert files(store.staging) == [store.staging / fresh.blob_id]
    with pytest.raises(CloudError, match="swept"):
        await stale.commit()
    await stale.abort()
    await fresh.commit()
    assert await store.sweep_staging(datetime.now(UTC) + timedelta(hours=1)) == 0
    with pytest.raises(InvalidInput):
        await store.sweep_staging(datetime(2030, 1, 1))


async def test_concurrent_writers_do_not_mix(store: FilesystemObjectStore) -> None:
    async def one(seed: int) -> tuple[str, bytes]:
        data = pattern(seed * 100_003 % (3 * fmt.BATCH), seed)
        writer = store.writer(KEY)
        for offset in range(0, len(data), 50_000):
            await writer.write(data[offset : offset + 50_000])
            await asyncio.sleep(0)
        await writer.commit()
        return writer.blob_id, data

    done = await asyncio.gather(*(one(seed) for seed in range(24)))
    assert len({blob_id for blob_id, _ in done}) == 24
    for blob_id, data in done:
        assert await get(store, blob_id, len(data)) == data


async def test_large_writes_leave_the_event_loop_free(store: FilesystemObjectStore) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    writer = store.writer(KEY)
    await writer.write(bytes(32 * fmt.BATCH))
    await writer.commit()
    blob_id, size = writer.blob_id, writer.size
    during_write = ticks
    async for _ in store.read(blob_id, KEY, size):
        pass
    task.cancel()
    assert during_write > 1 and ticks > during_write + 1


async def test_streaming_64_mib_keeps_memory_flat(tmp_path: Path) -> None:
    """A writer holds at most two batches of 1 MiB (one going to disk while the next
    gathers) and each worker thread 2 MiB of scratch, so memory depends on the size of the
    pool (pinned here), never on the blob's."""
    pool = ThreadPoolExecutor(2)
    store = FilesystemObjectStore(tmp_path, fsync=False, executor=pool)
    block = os.urandom(C)
    tracemalloc.start()
    try:
        writer = store.writer(KEY)
        for _ in range(1024):
            await writer.write(block)
        await writer.commit()
        written = tracemalloc.get_traced_memory()[1]
        async for _piece in store.read(writer.blob_id, KEY, writer.size):
            pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        pool.shutdown()
    assert writer.size == 64 * 1024**2
    assert written < 6 * 1024**2, f"write peak {written / 1024**2:.1f} MiB"
    assert peak < 8 * 1024**2, f"peak {peak / 1024**2:.1f} MiB"


async def test_without_fsync_it_still_round_trips(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path, fsync=False)
    data = pattern(3 * C + 5)
    assert await get(store, await put(store, data), len(data)) == data
