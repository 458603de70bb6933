"""The LVM backend on real LVM: volume, snapshot, overwrite, restore, read the old data.

It needs root, the lvm2 and e2fsprogs tools, and a volume group to work in, named by
THECLOUD_TEST_LVM_VG (e.g. on a loop device: `truncate -s 8G /var/tmp/pv.img; losetup -f
--show /var/tmp/pv.img; pvcreate /dev/loopN; vgcreate tctest /dev/loopN`); with
THECLOUD_TEST_LVM_THINPOOL naming a thin pool in it (`lvcreate --type thin-pool -L 4G -n pool
tctest`), the thin path is tested, else the classic one. It creates only LVs of its own
(tc-vol-*/tc-snap-* with fresh ids) and removes them even when it fails.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from thecloud.adapters.commands import SubprocessRunner
from thecloud.adapters.lvm import LvmBackend

pytestmark = pytest.mark.skipif(
    not Path("/dev/mapper/control").exists(),
    reason="LVM needs device-mapper, which this machine does not have (no /dev/mapper/control); "
    "the command sequences are tested against a fake runner in tests/unit/test_lvm_backend.py",
)

SET_UP = (
    "export THECLOUD_TEST_LVM_VG=<a volume group this test may use> (and, for thin "
    "provisioning, THECLOUD_TEST_LVM_THINPOOL=<a thin pool in it>); run as root"
)


async def test_volume_snapshot_overwrite_restore_on_real_lvm(tmp_path: Path) -> None:
    vg = os.environ.get("THECLOUD_TEST_LVM_VG", "").strip()
    if not vg:
        pytest.fail(f"no volume group for the LVM test: {SET_UP}", pytrace=False)
    pool = os.environ.get("THECLOUD_TEST_LVM_THINPOOL", "").strip() or None
    runner = SubprocessRunner(hint="install lvm2 and e2fsprogs")
    backend = LvmBackend(runner, vg, tmp_path / "volumes", thin_pool=pool)
    await backend.check()
    volume, snapshot, restored = (str(uuid.uuid4()) for _ in range(3))
    try:
        mp = Path(await backend.create(volume, 1))
        usage = await backend.usage(volume)
        assert 0.9 * 2**30 < usage.size_bytes <= 2**30
        (mp / "data.txt").write_text("before the snapshot")
        await backend.snapshot(volume, snapshot)
        (mp / "data.txt").write_text("after the snapshot")
        mp2 = Path(await backend.restore(snapshot, restored))
        assert (mp2 / "data.txt").read_text() == "before the snapshot"
        assert (mp / "data.txt").read_text() == "after the snapshot"
        assert {volume, restored} <= set(await backend.volumes())
        assert snapshot in await backend.snapshots()
        # the copies are separate filesystems: writing one leaves the other alone
        (mp2 / "data.txt").write_text("restored and changed")
        assert (mp / "data.txt").read_text() == "after the snapshot"
        # a volume's size is a real limit
        with pytest.raises(OSError, match="No space left"), (mp / "big").open("wb") as big:
            for _ in range(2 * 16):  # 2 GiB in 64 MiB pieces
                big.write(b"\0" * (64 << 20))
                big.flush()
                os.fsync(big.fileno())
        (mp / "big").unlink()
        assert await backend.mountpoint(volume) == str(mp)
    finally:
        await backend.delete(restored)
        await backend.delete_snapshot(snapshot)
        await backend.delete(volume)
    assert volume not in await backend.volumes()
    assert snapshot not in await backend.snapshots()
