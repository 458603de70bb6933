"""A server killed with SIGKILL while an instance uses two volumes (one from launch, one plugged
in live), with a half-made image and an image no volume owns left in the pool: started again,
the volumes are still attached with their data, survive a stop/start, and the leftovers go."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import Server
from tests.e2e.test_api_compute import busybox_built, until  # noqa: F401
from tests.e2e.test_api_volumes import launch, ok, sh


def test_kill_minus_9_with_volumes_in_use_then_restart(
    spawn: Callable[..., Server], tmp_path: Path
) -> None:
    installation = f"storecrash-{uuid.uuid4().hex[:8]}"
    first = spawn(tmp_path, THECLOUD_INSTALLATION_ID=installation)
    user = first.register("crash")
    with first.api(user) as api:
        ok(api.post("/volumes", json={"name": "boot", "size_gb": 1}), 201)
        ok(api.post("/volumes", json={"name": "live", "size_gb": 1}), 201)
        vm = launch(api, volumes=[{"volume_id": "boot", "mount_path": "/data"}])
        ok(api.post("/volumes/live/attach", json={"instance_id": vm["id"], "mount_path": "/live"}))
        assert sh(vm, "echo one > /data/a && echo two > /live/b && sync").returncode == 0
    first.process.kill()
    first.process.wait(10)

    pool = first.data_dir / "storage" / "pool" / "volumes"
    half = pool / f"{uuid.uuid4()}.img.tmp"
    stray = pool / f"{uuid.uuid4()}.img"
    half.write_bytes(b"half made")
    stray.write_bytes(b"no volume owns this")
    long_ago = time.time() - 3600  # left by the crash, not a create still in flight
    os.utime(half, (long_ago, long_ago))

    second = spawn(tmp_path, THECLOUD_INSTALLATION_ID=installation)
    with second.api(user) as api:
        deadline = time.monotonic() + 30
        while (half.exists() or stray.exists()) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not half.exists() and not stray.exists(), "the reconciler removed the leftovers"
        assert sorted(v["status"] for v in api.get("/volumes").json()["data"]) == ["IN-USE"] * 2
        assert sh(vm, "cat /data/a /live/b").stdout == "one\ntwo\n"
        api.post(f"/instances/{vm['id']}/stop")
        until(api, str(vm["id"]), "STOPPED")
        api.post(f"/instances/{vm['id']}/start")
        vm = until(api, str(vm["id"]), "RUNNING")
        assert sh(vm, "cat /data/a /live/b").stdout == "one\ntwo\n"
        api.delete(f"/instances/{vm['id']}")
        until(api, str(vm["id"]), "DELETED")
        for name in ("boot", "live"):
            assert api.delete(f"/volumes/{name}").status_code == 204
    assert sorted(p.name for p in pool.iterdir()) == []
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=True)
    assert str(pool) not in loops.stdout, "no loop device is left on a deleted volume"
