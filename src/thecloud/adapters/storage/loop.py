"""Volumes as ext4 images on loop devices, inside a copy-on-write pool; works on any Linux host.

Layout under `root` (THECLOUD_DATA_DIR/storage by default):
  pool.img          a sparse XFS filesystem image with reflink, loop-mounted (direct I/O) at
  pool/               volumes/<id>.img and snapshots/<id>.img: sparse ext4 images
  mnt/<volume id>   where each volume's image is loop-mounted (direct I/O) while it exists

A volume's size is the size of its filesystem, so writing past it fails with ENOSPC. A
snapshot freezes the volume's filesystem (fsfreeze), reflink-copies its image (copy-on-write:
instant, whatever the data) and thaws it: crash-consistent, without touching the source. A
restore reflink-copies a snapshot into a new image and gives its filesystem a new UUID.
Images are made under a `.tmp` name and renamed when complete, so a crash never leaves a
half-made volume under a real name; `sweep()` removes the leftovers.
"""

from __future__ import annotations

import builtins
import re
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from thecloud.domain.errors import Conflict, InvalidInput, NotFound
from thecloud.ports.storage import CommandRunner, VolumeUsage

_ID = re.compile(r"^[0-9a-f-]{8,64}$")
GIB = 1024**3


class LoopBackend:
    name = "loop"
    encryption = False  # dm-crypt needs device-mapper, which these machines do not have

    def __init__(self, runner: CommandRunner, root: Path, pool_gb: int = 100) -> None:
        self._run, self.root, self._pool_gb = runner.run, root.resolve(), pool_gb
        self.pool = self.root / "pool"
        self._ready = False

    # -- the pool -------------------------------------------------------------------------

    async def check(self) -> None:
        await self._pool()

    async def _pool(self) -> Path:
        """The pool, made and mounted if it is not (after a first start or a reboot); found
        mounted once, it is taken as mounted (close() forgets that)."""
        image = self.root / "pool.img"
        if self._ready or await self._mounted(self.pool):
            self._ready = True
            return self.pool
        self.root.mkdir(parents=True, exist_ok=True)
        if not image.exists():
            tmp = image.with_suffix(".img.tmp")
            await self._run("truncate", "-s", f"{self._pool_gb}G", str(tmp))
            await self._run("mkfs.xfs", "-q", "-f", "-m", "reflink=1", str(tmp))
            tmp.rename(image)
        self.pool.mkdir(exist_ok=True)
        await self._mount(image, self.pool)
        for sub in ("volumes", "snapshots"):
            (self.pool / sub).mkdir(exist_ok=True)
        return self.pool

    async def _mounted(self, path: Path) -> bool:
        found = await self._run(
            "findmnt", "-n", "-o", "SOURCE", "--mountpoint", str(path), check=False
        )
        return found.returncode == 0 and bool(found.stdout.strip())

    async def _mount(self, image: Path, where: Path) -> None:
        """Loop-attach `image` (reusing a device already attached to it) and mount it."""
        if await self._mounted(where):
            return
        attached = await self._run("losetup", "-j", str(image), "-O", "NAME", "-n", check=False)
        device = attached.stdout.split()[0] if attached.stdout.split() else ""
        if not device:
            made = await self._run("losetup", "--find", "--show", "--direct-io=on", str(image))
            device = made.stdout.strip()
        where.mkdir(parents=True, exist_ok=True)
        await self._run("mount", device, str(where))

    async def _unmount(self, image: Path, where: Path) -> None:
        if await self._mounted(where):
            await self._run("umount", str(where))
        attached = await self._run("losetup", "-j", str(image), "-O", "NAME", "-n", check=False)
        for device in attached.stdout.split():
            await self._run("losetup", "-d", device, check=False)
        if where.is_dir():
            where.rmdir()

    # -- volumes ------------------------------------------------------------------------

    def _image(self, kind: str, ident: str) -> Path:
        if not _ID.match(ident):
            raise InvalidInput(f"{ident!r} is not a volume or snapshot id")
        return self.pool / kind / f"{ident}.img"

    def _mnt(self, volume_id: str) -> Path:
        return self.root / "mnt" / volume_id

    async def create(self, volume_id: str, size_gb: int, encrypted: bool = False) -> str:
        if encrypted:
            raise InvalidInput(
                "encrypted volumes need dm-crypt (device-mapper), which this storage backend "
                "(loop) does not have here: create the volume without encrypted"
            )
        await self._pool()
        image = self._image("volumes", volume_id)
        if not image.exists():
            await self._space_for(size_gb)
            tmp = image.with_name(image.name + ".tmp")
            await self._run("truncate", "-s", f"{size_gb}G", str(tmp))
            await self._run("mkfs.ext4", "-q", "-F", "-m", "0", "-E", "nodiscard", str(tmp))
            tmp.rename(image)
        return await self.mountpoint(volume_id)

    async def _space_for(self, size_gb: int) -> None:
        """Images are sparse, but a pool that cannot hold the data would fail later, deep
        in some instance's write: refuse a volume bigger than the pool's free space."""
        free = await self._run("df", "-B1", "--output=avail", str(self.pool))
        avail = int(free.stdout.split()[-1])
        if size_gb * GIB > avail:
            raise Conflict(
                f"the storage pool has {avail // GIB} GiB free, not {size_gb}: delete volumes "
                "or snapshots, or raise THECLOUD_STORAGE_POOL_GB"
            )

    async def mountpoint(self, volume_id: str) -> str:
        await self._pool()
        image = self._image("volumes", volume_id)
        if not image.exists():
            raise NotFound(f"volume {volume_id} has no data on this host")
        where = self._mnt(volume_id)
        await self._mount(image, where)
        return str(where)

    async def delete(self, volume_id: str) -> None:
        await self._pool()
        image = self._image("volumes", volume_id)
        await self._unmount(image, self._mnt(volume_id))
        image.unlink(missing_ok=True)
        image.with_name(image.name + ".tmp").unlink(missing_ok=True)

    async def snapshot(self, volume_id: str, snapshot_id: str) -> None:
        await self._pool()
        source = self._image("volumes", volume_id)
        target = self._image("snapshots", snapshot_id)
        if target.exists():
            return
        if not source.exists():
            raise NotFound(f"volume {volume_id} has no data on this host")
        tmp = target.with_name(target.name + ".tmp")
        where = self._mnt(volume_id)
        frozen = await self._mounted(where)
        if frozen:
            await self._run("fsfreeze", "-f", str(where))
        try:
            await self._run("cp", "--reflink=always", str(source), str(tmp))
        finally:
            if frozen:
                await self._run("fsfreeze", "-u", str(where))
        tmp.rename(target)

    async def delete_snapshot(self, snapshot_id: str) -> None:
        await self._pool()
        image = self._image("snapshots", snapshot_id)
        image.unlink(missing_ok=True)
        image.with_name(image.name + ".tmp").unlink(missing_ok=True)

    async def restore(self, snapshot_id: str, volume_id: str) -> str:
        await self._pool()
        source = self._image("snapshots", snapshot_id)
        target = self._image("volumes", volume_id)
        if not target.exists():
            if not source.exists():
                raise NotFound(f"snapshot {snapshot_id} has no data on this host")
            tmp = target.with_name(target.name + ".tmp")
            await self._run("cp", "--reflink=always", str(source), str(tmp))
            # A copy of a frozen filesystem is clean; check it anyway, then give it its own
            # UUID so the original and the copy can be mounted side by side.
            await self._run("e2fsck", "-fy", str(tmp), check=False)
            await self._run("tune2fs", "-U", "random", str(tmp))
            tmp.rename(target)
        return await self.mountpoint(volume_id)

    async def usage(self, volume_id: str) -> VolumeUsage:
        where = await self.mountpoint(volume_id)
        df = await self._run("df", "-B1", "--output=size,used", where)
        size, used = (int(x) for x in df.stdout.split()[-2:])
        return VolumeUsage(size, used)

    async def volumes(self) -> Sequence[str]:
        return self._ids("volumes")

    async def snapshots(self) -> Sequence[str]:
        return self._ids("snapshots")

    def _ids(self, kind: str) -> builtins.list[str]:
        folder = self.pool / kind
        if not folder.is_dir():
            return []
        return sorted(p.name.removesuffix(".img") for p in folder.glob("*.img"))

    async def sweep(self, older_than: timedelta) -> int:
        """Remove `.tmp` images a crash left half-made (only old ones: a young one is a
        create, snapshot or restore in flight); how many went."""
        if not (self.root / "pool.img").exists():
            return 0
        await self._pool()
        gone, limit = 0, time.time() - older_than.total_seconds()
        for kind in ("volumes", "snapshots"):
            for tmp in (self.pool / kind).glob("*.img.tmp"):
                if tmp.stat().st_mtime < limit:
                    tmp.unlink(missing_ok=True)
                    gone += 1
        return gone

    async def close(self) -> None:
        """Unmount every volume and the pool, detaching their loop devices (tests and
        throwaway installations; a running platform keeps them mounted)."""
        self._ready = False
        if not await self._mounted(self.pool):
            return
        for volume_id in self._ids("volumes"):
            await self._unmount(self._image("volumes", volume_id), self._mnt(volume_id))
        await self._unmount(self.root / "pool.img", self.pool)
