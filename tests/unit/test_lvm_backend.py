"""The LVM backend against a simulated host: its exact commands and what they achieve."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from tests.unit.fake_runner import GIB, FakeRunner, Fs, Lv
from thecloud.adapters.lvm import RESTORING_TAG, LvmBackend, snapshot_lv, volume_lv
from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, NotFound

VG = "tcvg"
POOL = "tcpool"
ROOT = Path("/var/lib/thecloud/volumes")


def new_id() -> str:
    return str(uuid.uuid4())


def lvs_info(name: str) -> tuple[str, ...]:
    return (
        "lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "lv_size,lv_tags",
        f"{VG}/{name}",
    )  # fmt: skip


def mount_steps(volume_id: str, name: str) -> list[tuple[str, ...]]:
    mp = str(ROOT / volume_id)
    return [
        ("findmnt", "-n", "-o", "SOURCE", "--mountpoint", mp),
        ("mkdir", "-p", mp),
        ("mount", f"/dev/{VG}/{name}", mp),
    ]


@pytest.fixture
def fake() -> FakeRunner:
    runner = FakeRunner()
    runner.add_vg(VG, size_gb=24)
    runner.add_pool(VG, POOL, size_gb=10)
    runner.vgs[VG].lvs["root"] = Lv(kind="linear", size=8 * GIB, fs=Fs())
    return runner


@pytest.fixture
def thick(fake: FakeRunner) -> LvmBackend:
    return LvmBackend(fake, VG, ROOT)


@pytest.fixture
def thin(fake: FakeRunner) -> LvmBackend:
    return LvmBackend(fake, VG, ROOT, thin_pool=POOL)


# ---------------------------------------------------------------- create


async def test_create_thick_runs_lvcreate_mkfs_mount(fake: FakeRunner, thick: LvmBackend) -> None:
    vol = new_id()
    name = volume_lv(vol)
    mp = await thick.create(vol, 2)
    assert mp == str(ROOT / vol)
    assert fake.commands() == [
        lvs_info(name),
        ("lvcreate", "-y", "--wipesignatures", "y", "-L", "2G", "-n", name, VG),
        ("blkid", "-p", "-o", "value", "-s", "TYPE", f"/dev/{VG}/{name}"),
        ("mkfs.ext4", "-q", "-F", "-m", "0", f"/dev/{VG}/{name}"),
        *mount_steps(vol, name),
    ]
    assert fake.lv(VG, name).size == 2 * GIB and fake.lv(VG, name).kind == "linear"
    assert fake.mounts[mp] == (VG, name)
    assert "fsfreeze" not in {argv[0] for argv in fake.commands()}


async def test_create_thin_makes_a_thin_volume_in_the_pool(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol = new_id()
    name = volume_lv(vol)
    await thin.create(vol, 3)
    assert fake.commands()[1] == (
        "lvcreate", "-y", "--wipesignatures", "y", "-V", "3G", "-T", f"{VG}/{POOL}", "-n", name,
    )  # fmt: skip
    assert fake.lv(VG, name).kind == "thin" and fake.lv(VG, name).size == 3 * GIB
    assert fake.vgs[VG].free() == 6 * GIB  # 24 GiB group - 10 GiB pool - 8 GiB root: unchanged


async def test_create_again_finds_everything_done(fake: FakeRunner, thick: LvmBackend) -> None:
    vol = new_id()
    name = volume_lv(vol)
    mp = await thick.create(vol, 1)
    fake.write(mp, "data", "kept")
    fake.clear()
    assert await thick.create(vol, 1) == mp
    assert fake.commands() == [
        lvs_info(name),
        ("lvchange", "-ay", f"{VG}/{name}"),
        ("blkid", "-p", "-o", "value", "-s", "TYPE", f"/dev/{VG}/{name}"),
        ("findmnt", "-n", "-o", "SOURCE", "--mountpoint", mp),
    ]
    assert fake.read(mp, "data") == "kept"


async def test_create_after_a_crash_between_lvcreate_and_mkfs_finishes_the_job(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol = new_id()
    name = volume_lv(vol)
    fake.fail("mkfs.ext4", stderr="mkfs.ext4: killed")
    with pytest.raises(BackendUnavailable, match="killed"):
        await thick.create(vol, 1)
    assert fake.lv(VG, name).fs is None and not fake.mounts
    fake.clear()
    mp = await thick.create(vol, 1)
    assert fake.commands() == [
        lvs_info(name),
        ("lvchange", "-ay", f"{VG}/{name}"),
        ("blkid", "-p", "-o", "value", "-s", "TYPE", f"/dev/{VG}/{name}"),
        ("mkfs.ext4", "-q", "-F", "-m", "0", f"/dev/{VG}/{name}"),
        *mount_steps(vol, name),
    ]
    assert fake.mounts[mp] == (VG, name)


async def test_create_after_a_reboot_reactivates_and_mounts_without_formatting(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol = new_id()
    mp = await thin.create(vol, 1)
    fake.write(mp, "data", "survives")
    fake.reboot()
    fake.lv(VG, volume_lv(vol)).active = False  # e.g. not in auto_activation_volume_list
    fake.clear()
    assert await thin.create(vol, 1) == mp
    assert not [argv for argv in fake.commands() if argv[0] in ("lvcreate", "mkfs.ext4")]
    assert fake.read(mp, "data") == "survives"


async def test_create_refuses_an_existing_smaller_volume(thick: LvmBackend) -> None:
    vol = new_id()
    await thick.create(vol, 1)
    with pytest.raises(Conflict, match="less than the 2 GiB"):
        await thick.create(vol, 2)


async def test_create_refuses_encryption_and_bad_sizes(fake: FakeRunner, thick: LvmBackend) -> None:
    assert thick.encryption is False and thick.name == "lvm"
    with pytest.raises(InvalidInput, match="encrypted volumes need dm-crypt, not available"):
        await thick.create(new_id(), 1, encrypted=True)
    for size in (0, -1, True):
        with pytest.raises(InvalidInput, match="whole number of GiB"):
            await thick.create(new_id(), size)
    assert fake.commands() == []


async def test_create_out_of_space_is_a_conflict_that_leaves_nothing(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol = new_id()
    with pytest.raises(
        Conflict, match=r"no room for a 7 GiB volume in volume group tcvg.*vgextend"
    ):
        await thick.create(vol, 7)  # 6 GiB free
    assert volume_lv(vol) not in fake.vgs[VG].lvs
    assert await thick.volumes() == []


async def test_create_never_formats_over_another_filesystem(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol = new_id()
    name = volume_lv(vol)
    fake.vgs[VG].lvs[name] = Lv(kind="linear", size=GIB, fs=Fs(fstype="xfs"))
    with pytest.raises(Conflict, match="holds a xfs filesystem, not ext4"):
        await thick.create(vol, 1)
    assert "mkfs.ext4" not in {argv[0] for argv in fake.commands()}


async def test_a_new_volume_never_shows_the_data_of_a_deleted_one(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    first = new_id()
    mp = await thick.create(first, 1)
    fake.write(mp, "secret", "tenant A")
    await thick.delete(first)
    second = new_id()
    mp2 = await thick.create(second, 1)  # same extents: the old signature is wiped
    assert fake.lv(VG, volume_lv(second)).fs.files == {}  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        fake.read(mp2, "secret")


# ---------------------------------------------------------------- names and listings


async def test_lv_names_carry_the_whole_id_and_listings_map_them_back(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol = "0f8e5a52-7c1b-4d55-9a5e-2b9f1e6c3d4a"
    snap = "c3a1e2d4-5b6f-4a7b-8c9d-0e1f2a3b4c5d"
    assert volume_lv(vol) == "tc-vol-0f8e5a527c1b4d559a5e2b9f1e6c3d4a"
    assert snapshot_lv(snap) == "tc-snap-c3a1e2d45b6f4a7b8c9d0e1f2a3b4c5d"
    await thin.create(vol, 1)
    await thin.snapshot(vol, snap)
    restored = new_id()
    await thin.restore(snap, restored)
    for stranger in ("tc-vol-notours", "tc-vol-" + "A" * 32, "tc-snap-123", "home"):
        fake.vgs[VG].lvs[stranger] = Lv(kind="linear", size=GIB)
    fake.clear()
    assert await thin.volumes() == sorted([vol, restored])
    assert await thin.snapshots() == [snap]
    assert fake.commands() == [("lvs", "--noheadings", "-o", "lv_name", VG)] * 2


async def test_ids_that_are_not_canonical_uuids_are_refused(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol = new_id()
    for bad in ("vol-1", vol.upper(), vol.replace("-", ""), "{" + vol + "}", "../etc"):
        with pytest.raises(InvalidInput, match="UUID"):
            await thick.create(bad, 1)
        with pytest.raises(InvalidInput, match="UUID"):
            await thick.snapshot(vol, bad)
    assert fake.commands() == []


# ---------------------------------------------------------------- snapshots


async def test_thin_snapshot_is_one_lvcreate_and_no_fsfreeze(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol, snap = new_id(), new_id()
    await thin.create(vol, 1)
    fake.clear()
    await thin.snapshot(vol, snap)
    assert fake.commands() == [
        lvs_info(snapshot_lv(snap)),
        lvs_info(volume_lv(vol)),
        ("lvcreate", "-s", "-n", snapshot_lv(snap), f"{VG}/{volume_lv(vol)}"),
    ]
    made = fake.lv(VG, snapshot_lv(snap))
    assert made.kind == "thin" and made.origin == volume_lv(vol) and made.skip


async def test_classic_snapshot_is_sized_to_the_origin_so_it_cannot_overflow(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol, snap = new_id(), new_id()
    await thick.create(vol, 1)
    fake.clear()
    await thick.snapshot(vol, snap)
    assert fake.commands()[-1] == (
        "lvcreate", "-s", "-l", "100%ORIGIN", "-n", snapshot_lv(snap), f"{VG}/{volume_lv(vol)}",
    )  # fmt: skip
    made = fake.lv(VG, snapshot_lv(snap))
    assert made.kind == "snapshot" and made.cow > GIB


async def test_snapshot_again_does_nothing_and_a_missing_volume_is_not_found(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol, snap = new_id(), new_id()
    await thin.create(vol, 1)
    await thin.snapshot(vol, snap)
    fake.clear()
    await thin.snapshot(vol, snap)
    assert fake.commands() == [lvs_info(snapshot_lv(snap))]
    with pytest.raises(NotFound, match="volume"):
        await thin.snapshot(new_id(), new_id())


async def test_snapshot_failure_is_reported_and_leaves_the_volume_usable(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol, snap = new_id(), new_id()
    mp = await thin.create(vol, 1)
    fake.fail("lvcreate", "-s", stderr="  device-mapper: suspend ioctl failed: Invalid argument")
    with pytest.raises(BackendUnavailable, match="suspend ioctl failed"):
        await thin.snapshot(vol, snap)
    assert await thin.snapshots() == []
    fake.write(mp, "after", "still writable")
    await thin.snapshot(vol, snap)
    assert await thin.snapshots() == [snap]


async def test_classic_snapshot_without_room_is_a_conflict(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol = new_id()
    await thick.create(vol, 3)  # 3 GiB left: no room for its copy-on-write store
    with pytest.raises(Conflict, match="no room for a snapshot"):
        await thick.snapshot(vol, new_id())


# ---------------------------------------------------------------- restore


async def test_thin_restore_clones_the_snapshot_with_a_new_uuid(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol, snap, new = new_id(), new_id(), new_id()
    mp = await thin.create(vol, 1)
    fake.write(mp, "data", "before")
    await thin.snapshot(vol, snap)
    fake.write(mp, "data", "after")
    fake.clear()
    name, dev = volume_lv(new), f"/dev/{VG}/{volume_lv(new)}"
    mp2 = await thin.restore(snap, new)
    assert fake.commands() == [
        lvs_info(name),
        lvs_info(snapshot_lv(snap)),
        (
            "lvcreate", "-s", "-kn", "--addtag", RESTORING_TAG, "-n", name,
            f"{VG}/{snapshot_lv(snap)}",
        ),
        ("e2fsck", "-fy", dev),
        ("tune2fs", "-U", "random", dev),
        ("lvchange", "--deltag", RESTORING_TAG, f"{VG}/{name}"),
        *mount_steps(new, name),
    ]  # fmt: skip
    assert fake.read(mp2, "data") == "before" and fake.read(mp, "data") == "after"
    origin_fs, restored_fs = fake.lv(VG, volume_lv(vol)).fs, fake.lv(VG, name).fs
    assert origin_fs is not None and restored_fs is not None
    assert origin_fs.uuid != restored_fs.uuid
    assert not fake.lv(VG, name).tags and not fake.lv(VG, name).skip


async def test_classic_restore_copies_into_a_volume_of_the_origins_size(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol, snap, new = new_id(), new_id(), new_id()
    mp = await thick.create(vol, 1)
    fake.write(mp, "data", "before")
    await thick.snapshot(vol, snap)
    fake.write(mp, "data", "after")
    fake.clear()
    name, snap_name = volume_lv(new), snapshot_lv(snap)
    mp2 = await thick.restore(snap, new)
    assert fake.commands() == [
        lvs_info(name),
        lvs_info(snap_name),
        (
            "lvs", "--noheadings", "--units", "b", "--nosuffix", "-o", "origin_size",
            f"{VG}/{snap_name}",
        ),
        (
            "lvcreate", "-y", "--wipesignatures", "y", "--addtag", RESTORING_TAG,
            "-L", f"{GIB}b", "-n", name, VG,
        ),
        ("lvchange", "-ay", "-K", f"{VG}/{snap_name}"),
        (
            "dd", f"if=/dev/{VG}/{snap_name}", f"of=/dev/{VG}/{name}", "bs=4M", "conv=fsync",
            "status=none",
        ),
        ("e2fsck", "-fy", f"/dev/{VG}/{name}"),
        ("tune2fs", "-U", "random", f"/dev/{VG}/{name}"),
        ("lvchange", "--deltag", RESTORING_TAG, f"{VG}/{name}"),
        *mount_steps(new, name),
    ]  # fmt: skip
    assert fake.lv(VG, name).size == GIB  # the origin's size, not the larger COW store's
    assert fake.read(mp2, "data") == "before" and fake.read(mp, "data") == "after"
    origin_fs, restored_fs = fake.lv(VG, volume_lv(vol)).fs, fake.lv(VG, name).fs
    assert origin_fs is not None and restored_fs is not None
    assert origin_fs.uuid != restored_fs.uuid


async def test_an_interrupted_thin_restore_is_finished_on_retry(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol, snap, new = new_id(), new_id(), new_id()
    mp = await thin.create(vol, 1)
    fake.write(mp, "data", "v1")
    await thin.snapshot(vol, snap)
    fake.fail("tune2fs", stderr="tune2fs: killed")
    with pytest.raises(BackendUnavailable, match="killed"):
        await thin.restore(snap, new)
    assert RESTORING_TAG in fake.lv(VG, volume_lv(new)).tags
    with pytest.raises(Conflict, match="still being restored"):
        await thin.mountpoint(new)
    fake.clear()
    mp2 = await thin.restore(snap, new)
    assert [argv[0] for argv in fake.commands()] == [
        "lvs", "lvchange", "e2fsck", "tune2fs", "lvchange", "findmnt", "mkdir", "mount",
    ]  # fmt: skip
    assert fake.read(mp2, "data") == "v1" and not fake.lv(VG, volume_lv(new)).tags
    fake.clear()
    assert await thin.restore(snap, new) == mp2  # done: nothing is redone
    assert [argv[0] for argv in fake.commands()] == ["lvs", "lvchange", "findmnt"]


async def test_an_interrupted_classic_restore_copies_again(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol, snap, new = new_id(), new_id(), new_id()
    mp = await thick.create(vol, 1)
    fake.write(mp, "data", "v1")
    await thick.snapshot(vol, snap)
    fake.fail("dd", stderr="dd: error writing: Input/output error")
    with pytest.raises(BackendUnavailable, match="Input/output error"):
        await thick.restore(snap, new)
    fake.clear()
    mp2 = await thick.restore(snap, new)
    assert "lvcreate" not in {argv[0] for argv in fake.commands()}
    assert "dd" in {argv[0] for argv in fake.commands()}
    assert fake.read(mp2, "data") == "v1"


async def test_a_restored_thin_volume_comes_back_after_a_reboot(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol, snap, new = new_id(), new_id(), new_id()
    mp = await thin.create(vol, 1)
    fake.write(mp, "data", "v1")
    await thin.snapshot(vol, snap)
    await thin.restore(snap, new)
    fake.reboot()
    assert fake.lv(VG, volume_lv(new)).active  # no activation-skip flag
    assert not fake.lv(VG, snapshot_lv(snap)).active  # snapshots stay inactive: not needed
    mp2 = await thin.mountpoint(new)
    assert fake.read(mp2, "data") == "v1"


async def test_restore_of_a_missing_snapshot_is_not_found(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    with pytest.raises(NotFound, match="snapshot"):
        await thin.restore(new_id(), new_id())
    assert "lvcreate" not in {argv[0] for argv in fake.commands()}


async def test_restore_reports_a_filesystem_e2fsck_cannot_repair(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol, snap = new_id(), new_id()
    await thin.create(vol, 1)
    await thin.snapshot(vol, snap)
    fake.e2fsck_status = 4
    with pytest.raises(BackendUnavailable, match=r"e2fsck could not repair.*exit status 4"):
        await thin.restore(snap, new_id())


# ---------------------------------------------------------------- delete


async def test_delete_unmounts_removes_the_lv_and_the_mount_point(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol = new_id()
    name = volume_lv(vol)
    mp = await thick.create(vol, 1)
    fake.clear()
    await thick.delete(vol)
    assert fake.commands() == [
        lvs_info(name),
        ("lvs", "--noheadings", "-o", "lv_name,lv_attr", "--select", f"origin={name}", VG),
        ("findmnt", "-n", "-o", "SOURCE", "--mountpoint", mp),
        ("umount", mp),
        ("lvremove", "-y", f"{VG}/{name}"),
        ("rmdir", mp),
    ]
    assert name not in fake.vgs[VG].lvs and mp not in fake.dirs and not fake.mounts
    fake.clear()
    await thick.delete(vol)  # already gone: fine
    assert [argv[0] for argv in fake.commands()] == ["lvs", "findmnt", "rmdir"]


async def test_delete_of_a_volume_in_use_is_a_conflict(fake: FakeRunner, thin: LvmBackend) -> None:
    vol = new_id()
    mp = await thin.create(vol, 1)
    fake.busy.add(mp)
    with pytest.raises(Conflict, match="target is busy"):
        await thin.delete(vol)
    fake.busy.clear()
    fake.open_lvs.add((VG, volume_lv(vol)))  # a container still holds a bind mount
    with pytest.raises(Conflict, match="still open"):
        await thin.delete(vol)
    assert volume_lv(vol) in fake.vgs[VG].lvs
    fake.open_lvs.clear()
    await thin.delete(vol)
    assert await thin.volumes() == []


async def test_deleting_a_volume_with_classic_snapshots_is_refused(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    vol, snap = new_id(), new_id()
    mp = await thick.create(vol, 1)
    await thick.snapshot(vol, snap)
    with pytest.raises(Conflict, match=f"still has snapshots {snap}"):
        await thick.delete(vol)
    assert fake.mounts[mp] == (VG, volume_lv(vol))  # refused before unmounting
    assert await thick.snapshots() == [snap]
    await thick.delete_snapshot(snap)
    await thick.delete(vol)
    assert await thick.volumes() == [] and await thick.snapshots() == []


async def test_thin_snapshots_outlive_their_volume(fake: FakeRunner, thin: LvmBackend) -> None:
    vol, snap, new = new_id(), new_id(), new_id()
    mp = await thin.create(vol, 1)
    fake.write(mp, "data", "kept")
    await thin.snapshot(vol, snap)
    await thin.delete(vol)
    assert await thin.volumes() == [] and await thin.snapshots() == [snap]
    assert fake.read(await thin.restore(snap, new), "data") == "kept"


async def test_delete_snapshot_is_one_lvremove_and_missing_is_fine(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol, snap = new_id(), new_id()
    await thin.create(vol, 1)
    await thin.snapshot(vol, snap)
    fake.clear()
    await thin.delete_snapshot(snap)
    await thin.delete_snapshot(snap)
    assert fake.commands() == [("lvremove", "-y", f"{VG}/{snapshot_lv(snap)}")] * 2
    assert await thin.snapshots() == []


# ---------------------------------------------------------------- mountpoint and usage


async def test_mountpoint_mounts_again_after_a_reboot(fake: FakeRunner, thick: LvmBackend) -> None:
    vol = new_id()
    name = volume_lv(vol)
    mp = await thick.create(vol, 1)
    fake.write(mp, "data", "kept")
    fake.reboot()
    fake.clear()
    assert await thick.mountpoint(vol) == mp
    assert fake.commands() == [
        lvs_info(name),
        ("findmnt", "-n", "-o", "SOURCE", "--mountpoint", mp),
        ("lvchange", "-ay", f"{VG}/{name}"),
        *mount_steps(vol, name),
    ]
    assert fake.read(mp, "data") == "kept"
    fake.clear()
    assert await thick.mountpoint(vol) == mp
    assert [argv[0] for argv in fake.commands()] == ["lvs", "findmnt"]


async def test_concurrent_mountpoint_calls_mount_once(fake: FakeRunner, thick: LvmBackend) -> None:
    vol = new_id()
    mp = await thick.create(vol, 1)
    fake.reboot()
    fake.clear()
    assert await asyncio.gather(*(thick.mountpoint(vol) for _ in range(3))) == [mp] * 3
    assert [argv[0] for argv in fake.commands()].count("mount") == 1


async def test_mountpoint_of_a_missing_volume_and_a_foreign_mount(
    fake: FakeRunner, thick: LvmBackend
) -> None:
    with pytest.raises(NotFound, match="volume"):
        await thick.mountpoint(new_id())
    vol = new_id()
    mp = await thick.create(vol, 1)
    fake.mounts[mp] = (VG, "root")
    with pytest.raises(Conflict, match=r"has /dev/mapper/tcvg-root mounted"):
        await thick.mountpoint(vol)


async def test_usage_measures_the_volume_even_after_a_reboot(
    fake: FakeRunner, thin: LvmBackend
) -> None:
    vol = new_id()
    mp = await thin.create(vol, 2)
    fake.write(mp, "data", "x" * 1000)
    fake.reboot()
    fake.clear()
    usage = await thin.usage(vol)
    assert fake.commands()[-1] == ("df", "-B1", "--output=size,used", mp)
    assert int(2 * GIB * 0.97) < usage.size_bytes <= 2 * GIB
    assert 24 * 2**20 + 1000 == usage.used_bytes
    with pytest.raises(NotFound):
        await thin.usage(new_id())


# ---------------------------------------------------------------- check


async def test_check_passes_on_a_ready_host(fake: FakeRunner, thick: LvmBackend) -> None:
    await thick.check()
    thin = LvmBackend(fake, VG, ROOT, thin_pool=POOL)
    await thin.check()
    assert fake.commands() == [
        ("vgs", "--noheadings", "-o", "vg_name", VG),
        ("mkfs.ext4", "-V"),
        ("vgs", "--noheadings", "-o", "vg_name", VG),
        ("lvs", "--noheadings", "-o", "lv_attr", f"{VG}/{POOL}"),
        ("mkfs.ext4", "-V"),
    ]


async def test_check_names_the_set_up_step(fake: FakeRunner) -> None:
    with pytest.raises(BackendUnavailable, match=r"volume group 'other' not found.*vgcreate other"):
        await LvmBackend(fake, "other", ROOT).check()
    with pytest.raises(BackendUnavailable, match=r"thin pool tcvg/nopool not found.*thin-pool"):
        await LvmBackend(fake, VG, ROOT, thin_pool="nopool").check()
    with pytest.raises(BackendUnavailable, match="tcvg/root is not a thin pool"):
        await LvmBackend(fake, VG, ROOT, thin_pool="root").check()
    fake.missing.add("mkfs.ext4")
    with pytest.raises(BackendUnavailable, match="install e2fsprogs"):
        await LvmBackend(fake, VG, ROOT).check()
    fake.missing = {"vgs"}
    with pytest.raises(BackendUnavailable, match=r"vgs does not run: install the LVM tools"):
        await LvmBackend(fake, VG, ROOT).check()
    fake.missing.clear()
    fake.device_mapper = False
    with pytest.raises(BackendUnavailable, match=r"no /dev/mapper/control.*modprobe dm_mod"):
        await LvmBackend(fake, VG, ROOT).check()


async def test_operations_on_a_missing_volume_group_name_the_set_up_step(
    fake: FakeRunner,
) -> None:
    backend = LvmBackend(fake, "gone", ROOT)
    with pytest.raises(BackendUnavailable, match="vgcreate gone"):
        await backend.create(new_id(), 1)
    with pytest.raises(BackendUnavailable, match="gone"):
        await backend.volumes()


def test_bad_configuration_is_refused() -> None:
    from thecloud.domain.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="not a valid LVM name"):
        LvmBackend(FakeRunner(), "vg/../x", ROOT)
    with pytest.raises(ConfigurationError, match="thin pool"):
        LvmBackend(FakeRunner(), VG, ROOT, thin_pool="-pool")
