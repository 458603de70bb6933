"""The loop storage backend against the real kernel: loop devices, XFS reflink, ext4, fsfreeze,
and a busybox container writing through a bind mount until the volume is full."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.docker_support import busybox_image, docker_runtime  # noqa: F401
from thecloud.adapters.commands import SubprocessRunner
from thecloud.adapters.storage.loop import LoopBackend
from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, NotFound

SET_UP = "the loop storage backend needs root, loop devices and xfsprogs: run scripts/setup.sh"


@pytest.fixture
async def loop(tmp_path: Path) -> AsyncIterator[LoopBackend]:
    backend = LoopBackend(SubprocessRunner(), tmp_path / "storage", pool_gb=8)
    try:
        await backend.check()
    except BackendUnavailable as exc:
        pytest.fail(f"{SET_UP} ({exc.message})", pytrace=False)
    try:
        yield backend
    finally:
        await backend.close()


def vid() -> str:
    return str(uuid.uuid4())


def write(where: str, name: str, text: str) -> None:
    path = Path(where) / name
    path.write_text(text)
    subprocess.run(["sync", "-f", str(path)], check=True)


async def test_a_volume_is_a_mounted_filesystem_of_its_size(loop: LoopBackend) -> None:
    volume = vid()
    where = await loop.create(volume, 1)
    assert await loop.create(volume, 1) == where  # again: the same volume
    usage = await loop.usage(volume)
    assert 0.9 * 1024**3 < usage.size_bytes <= 1024**3
    write(where, "hello.txt", "hello")
    assert await loop.volumes() == [volume]
    await loop.delete(volume)
    await loop.delete(volume)  # gone already: fine
    assert await loop.volumes() == [] and not Path(where).exists()
    with pytest.raises(NotFound):
        await loop.mountpoint(volume)


async def test_writing_past_the_size_fails_inside_an_instance(
    loop: LoopBackend,
    busybox_image: str,  # noqa: F811
) -> None:
    volume = vid()
    where = await loop.create(volume, 1)
    run = subprocess.run(
        ["docker", "run", "--rm", "--label", "thecloud.test=storage", "-v", f"{where}:/data",
         busybox_image, "sh", "-c", "dd if=/dev/zero of=/data/big bs=1M count=1500"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode != 0
    assert "No space left on device" in run.stderr
    assert (await loop.usage(volume)).used_bytes > 0.9 * 1024**3


async def test_a_snapshot_keeps_its_moment_and_restores_into_a_new_volume(
    loop: LoopBackend,
) -> None:
    volume, snap, copy = vid(), vid(), vid()
    where = await loop.create(volume, 1)
    write(where, "state.txt", "original")
    await loop.snapshot(volume, snap)
    await loop.snapshot(volume, snap)  # again: nothing new
    write(where, "state.txt", "overwritten")
    restored = await loop.restore(snap, copy)
    assert (Path(restored) / "state.txt").read_text() == "original"
    assert (Path(where) / "state.txt").read_text() == "overwritten"  # the source is untouched
    uuids = {
        subprocess.run(
            ["findmnt", "-n", "-o", "UUID", "--mountpoint", m], capture_output=True, text=True
        ).stdout.strip()
        for m in (where, restored)
    }
    assert len(uuids) == 2, "both copies are mounted, each with its own filesystem id"
    assert await loop.snapshots() == [snap]
    await loop.delete_snapshot(snap)
    assert await loop.snapshots() == []
    with pytest.raises(NotFound):
        await loop.restore(snap, vid())


async def test_volumes_come_back_after_a_restart_and_leftovers_are_swept(
    loop: LoopBackend,
) -> None:
    volume = vid()
    where = await loop.create(volume, 1)
    write(where, "keep.txt", "still here")
    await loop.close()  # as after a reboot: nothing mounted, no loop device
    assert not (Path(where) / "keep.txt").exists()
    again = await loop.mountpoint(volume)
    assert (Path(again) / "keep.txt").read_text() == "still here"
    half = loop.pool / "volumes" / f"{vid()}.img.tmp"
    half.write_bytes(b"half made")
    assert await loop.sweep(timedelta(minutes=1)) == 0 and half.exists()  # may be in flight
    assert await loop.sweep(timedelta(0)) == 1 and not half.exists()
    assert await loop.volumes() == [volume]


async def test_what_cannot_be_done_is_refused_clearly(loop: LoopBackend) -> None:
    with pytest.raises(InvalidInput, match="dm-crypt"):
        await loop.create(vid(), 1, encrypted=True)
    with pytest.raises(Conflict, match="pool has"):
        await loop.create(vid(), 10_000)
    with pytest.raises(InvalidInput):
        await loop.create("../../etc", 1)
