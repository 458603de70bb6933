"""Volumes and snapshots on fakes: records, quota, attach/detach (live and at start), what the
worker binds and plugs, crash recovery."""

from __future__ import annotations

import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from thecloud.adapters.memory.storage_backend import MemoryMounter, MemoryStorage
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import (
    BackendUnavailable,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaExceeded,
)
from thecloud.domain.storage import Volume, VolumeStatus, validate_mount_path
from thecloud.services.instances import LaunchRequest

V = VolumeStatus


@pytest.fixture
async def parts(h: Harness) -> tuple[MemoryStorage, MemoryMounter]:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    storage, mounter = h.adapters.storage, h.adapters.mounter
    assert isinstance(storage, MemoryStorage) and isinstance(mounter, MemoryMounter)
    return storage, mounter


async def running(h: Harness, owner: Account, name: str, **over: object) -> str:
    req = LaunchRequest(name=name, image="busybox", instance_type="basic-1", **over)  # type: ignore[arg-type]
    launched = await h.cloud.instances.launch(owner.principal, req)
    await h.cloud.worker.step()
    return (await h.cloud.instances.get(owner.principal, launched.id)).container_id or ""


async def test_a_volume_is_made_counted_and_removed(
    h: Harness, owner: Account, parts: tuple[MemoryStorage, MemoryMounter]
) -> None:
    storage, _ = parts
    p = owner.principal
    volume = await h.cloud.volumes.create(p, "data", 5)
    assert (volume.status, volume.size_gb, volume.backend) == (V.AVAILABLE, 5, "memory")
    assert storage.sizes == {volume.id: 5}
    used = {line.resource: line.used for line in await h.cloud.quotas.get(p)}
    assert used["storage_gb"] == 5
    with pytest.raises(Conflict, match="already exists"):
        await h.cloud.volumes.create(p, "data", 1)
    with pytest.raises(InvalidInput, match="size_gb"):
        await h.cloud.volumes.create(p, "big", 5000)
    with pytest.raises(InvalidInput, match="encrypted"):
        await h.cloud.volumes.create(p, "secret", 1, encrypted=True)
    await h.cloud.quotas.set_limits(p, {"storage_gb": 10})
    with pytest.raises(QuotaExceeded):
        await h.cloud.volumes.create(p, "more", 6)
    await h.cloud.volumes.delete(p, "data")
    assert storage.sizes == {}
    used = {line.resource: line.used for line in await h.cloud.quotas.get(p)}
    assert used["storage_gb"] == 0


async def test_a_backend_failure_leaves_no_record_and_no_quota(
    h: Harness, owner: Account, parts: tuple[MemoryStorage, MemoryMounter]
) -> None:
    storage, _ = parts
    storage.fail_next.add("create")
    with pytest.raises(BackendUnavailable):
        await h.cloud.volumes.create(owner.principal, "data", 3)
    assert (await h.cloud.volumes.list(owner.principal, ListQuery())).total == 0
    used = {line.resource: line.used for line in await h.cloud.quotas.get(owner.principal)}
    assert used["storage_gb"] == 0


async def test_attach_live_detach_and_termination(
    h: Harness, owner: Account, parts: tuple[MemoryStorage, MemoryMounter]
) -> None:
    _, mounter = parts
    p = owner.principal
    volume = await h.cloud.volumes.create(p, "data", 1)
    container = await running(h, owner, "vm")
    done = await h.cloud.volumes.attach(p, "data", "vm", "/data")
    assert done.live and done.volume.status == V.IN_USE and done.volume.mount_path == "/data"
    assert mounter.seen(container) == {"/data": f"/volumes/{volume.id}"}
    with pytest.raises(Conflict, match="IN-USE"):
        await h.cloud.volumes.attach(p, "data", "vm", "/other")
    with pytest.raises(Conflict, match="attached"):
        await h.cloud.volumes.delete(p, "data")
    free = await h.cloud.volumes.detach(p, "data")
    assert free.status == V.AVAILABLE and mounter.seen(container) == {}
    await h.cloud.volumes.attach(p, "data", "vm", "/data")
    await h.cloud.instances.request(p, "vm", "terminate")
    await h.cloud.worker.step()
    after = await h.cloud.volumes.get(p, "data")
    assert (after.status, after.instance_id, after.mount_path) == (V.AVAILABLE, None, None)


async def test_launch_with_volumes_binds_them_and_a_restart_plugs_the_later_ones(
    h: Harness, owner: Account, parts: tuple[MemoryStorage, MemoryMounter]
) -> None:
    _, mounter = parts
    p = owner.principal
    first = await h.cloud.volumes.create(p, "first", 1)
    second = await h.cloud.volumes.create(p, "second", 1)
    container = await running(
        h, owner, "vm", volumes=({"volume_id": "first", "mount_path": "/data"},)
    )
    assert (await h.cloud.volumes.get(p, first.id)).status == V.IN_USE
    assert mounter.seen(container)["/data"] == f"/volumes/{first.id}"
    # stopped: an attach waits for the start
    await h.cloud.instances.request(p, "vm", "stop")
    await h.cloud.worker.step()
    later = await h.cloud.volumes.attach(p, second.id, "vm", "/logs")
    assert not later.live
    await h.cloud.instances.request(p, "vm", "start")
    await h.cloud.worker.step()
    assert set(mounter.seen(container)) == {"/data", "/logs"}


async def test_launch_refuses_bad_volume_requests(
    h: Harness, owner: Account, parts: tuple[MemoryStorage, MemoryMounter]
) -> None:
    p = owner.principal
    await h.cloud.volumes.create(p, "data", 1)
    cases = [
        ([{"volume_id": "data"}], InvalidInput, "mount_path"),
        ([{"volume_id": "nope", "mount_path": "/data"}], NotFound, "nope"),
        ([{"volume_id": "data", "mount_path": "/etc"}], InvalidInput, "system directory"),
        ([{"volume_id": "data", "mount_path": "data"}], InvalidInput, "absolute"),
    ]
    for spec, error, words in cases:
        with pytest.raises(error, match=words):
            await running(h, owner, "vm", volumes=tuple(spec))
    assert (await h.cloud.volumes.get(p, "data")).status == V.AVAILABLE


async def test_a_restart_shows_the_volume_attached_now_not_the_one_made_with(
    h: Harness, owner: Account, parts: tuple[MemoryStorage, MemoryMounter]
) -> None:
    """The engine binds what a container was made with again at every start; a volume
    detached meanwhile must not come back, and the one attached at its path must show."""
    _, mounter = parts
    p = owner.principal
    first = await h.cloud.volumes.create(p, "first", 1)
    second = await h.cloud.volumes.create(p, "second", 1)
    container = await running(
        h, owner, "vm", volumes=({"volume_id": "first", "mount_path": "/data"},)
    )
    assert mounter.seen(container) == {"/data": f"/volumes/{first.id}"}
    await h.cloud.instances.request(p, "vm", "stop")
    await h.cloud.worker.step()
    await h.cloud.volumes.detach(p, "first")
    assert (await h.cloud.volumes.attach(p, "second", "vm", "/data")).live is False
    await h.cloud.instances.request(p, "vm", "start")
    await h.cloud.worker.step()
    assert mounter.seen(container) == {"/data": f"/volumes/{second.id}"}
    await h.cloud.volumes.detach(p, "second")
    assert mounter.seen(container) == {}


def test_mount_paths() -> None:
    assert validate_mount_path("/data/app") == "/data/app"
    for bad in ("/", "/proc", "/usr/lib", "/data/../etc", "relative", "/.thecloud/x"):
        with pytest.raises(InvalidInput):
            validate_mount_path(bad)


async def test_snapshots_restore_exactly_their_moment(
    h: Harness, owner: Account, parts: tuple[MemoryStorage, MemoryMounter]
) -> None:
    storage, _ = parts
    p = owner.principal
    volume = await h.cloud.volumes.create(p, "data", 2)
    storage.data[volume.id]["state.txt"] = "original"
    snap = await h.cloud.snapshots.create(p, "data", "before the change")
    assert snap.status == "AVAILABLE" and snap.size_gb == 2
    storage.data[volume.id]["state.txt"] = "overwritten"
    restored: Volume = await h.cloud.snapshots.restore(p, snap.id, "copy")
    assert restored.snapshot_id == snap.id and restored.size_gb == 2
    assert storage.data[restored.id] == {"state.txt": "original"}
    assert storage.data[volume.id] == {"state.txt": "overwritten"}
    await h.cloud.volumes.delete(p, "data")  # the snapshot outlives its volume
    await h.cloud.snapshots.restore(p, snap.id, "again")
    await h.cloud.snapshots.delete(p, snap.id)
    assert storage.snaps == {}
    viewer = await h.member(owner, "viewer")
    with pytest.raises(Forbidden):
        await h.cloud.snapshots.create(viewer, "copy")
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.volumes.get(stranger.principal, restored.id)


async def test_the_reconciler_finishes_what_a_crash_left(
    h: Harness, owner: Account, parts: tuple[MemoryStorage, MemoryMounter]
) -> None:
    storage, _ = parts
    p = owner.principal
    stuck = await h.cloud.volumes.create(p, "stuck", 1)
    async with h.cloud.uow() as uow:  # as if the server died after recording, before making
        await uow.volumes.update(
            Volume(
                **{
                    **{f: getattr(stuck, f) for f in Volume.__dataclass_fields__},
                    "status": V.CREATING,
                }
            )  # fmt: skip
        )
        await uow.commit()
    await storage.delete(stuck.id)
    storage.data["orphan-volume-id"] = {}
    storage.sizes["orphan-volume-id"] = 1
    h.clock.advance(minutes=5)  # type: ignore[attr-defined]
    assert await h.cloud.volumes.reconcile() >= 2
    assert (await h.cloud.volumes.get(p, "stuck")).status == V.AVAILABLE
    assert set(storage.data) == {stuck.id}


def test_the_storage_backend_is_chosen_by_settings(tmp_path: object) -> None:
    from pathlib import Path

    from thecloud.bootstrap import storage_backend
    from thecloud.config import Settings

    root = Path(str(tmp_path))
    assert storage_backend(Settings(), root).name == "loop"
    lvm = storage_backend(Settings(storage_backend="lvm", storage_lvm_vg="vg0"), root)
    assert lvm.name == "lvm"
    with pytest.raises(ValueError, match="THECLOUD_STORAGE_LVM_VG"):
        storage_backend(Settings(storage_backend="lvm"), root)
