"""In-memory StorageBackend and VolumeMounter (unit tests): volumes hold a dict of files."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence

from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from thecloud.ports.storage import VolumeUsage


class MemoryStorage:
    name = "memory"

    def __init__(self, encryption: bool = False, capacity_gb: int = 1000) -> None:
        self.encryption = encryption
        self.capacity_gb = capacity_gb
        self.data: dict[str, dict[str, str]] = {}  # volume id -> files
        self.sizes: dict[str, int] = {}
        self.snaps: dict[str, tuple[int, dict[str, str]]] = {}
        self.down = False
        self.fail_next: set[str] = set()  # method names that fail once (tests)

    def _up(self, what: str) -> None:
        if self.down:
            raise BackendUnavailable("block storage is down (test)")
        if what in self.fail_next:
            self.fail_next.discard(what)
            raise BackendUnavailable(f"{what} failed (test)")

    async def check(self) -> None:
        self._up("check")

    async def create(self, volume_id: str, size_gb: int, encrypted: bool = False) -> str:
        self._up("create")
        if encrypted and not self.encryption:
            raise InvalidInput("encrypted volumes are not available (test)")
        if volume_id not in self.data:
            if sum(self.sizes.values()) + size_gb > self.capacity_gb:
                raise Conflict("the storage pool is full (test)")
            self.data[volume_id], self.sizes[volume_id] = {}, size_gb
        return f"/volumes/{volume_id}"

    async def mountpoint(self, volume_id: str) -> str:
        self._up("mountpoint")
        if volume_id not in self.data:
            raise NotFound(f"volume {volume_id} has no data")
        return f"/volumes/{volume_id}"

    async def delete(self, volume_id: str) -> None:
        self._up("delete")
        self.data.pop(volume_id, None)
        self.sizes.pop(volume_id, None)

    async def snapshot(self, volume_id: str, snapshot_id: str) -> None:
        self._up("snapshot")
        if volume_id not in self.data:
            raise NotFound(f"volume {volume_id} has no data")
        self.snaps.setdefault(snapshot_id, (self.sizes[volume_id], dict(self.data[volume_id])))

    async def delete_snapshot(self, snapshot_id: str) -> None:
        self._up("delete_snapshot")
        self.snaps.pop(snapshot_id, None)

    async def restore(self, snapshot_id: str, volume_id: str) -> str:
        self._up("restore")
        if snapshot_id not in self.snaps:
            raise NotFound(f"snapshot {snapshot_id} has no data")
        size, files = self.snaps[snapshot_id]
        self.data.setdefault(volume_id, dict(files))
        self.sizes.setdefault(volume_id, size)
        return f"/volumes/{volume_id}"

    async def usage(self, volume_id: str) -> VolumeUsage:
        files = self.data[volume_id]
        return VolumeUsage(self.sizes[volume_id] * 1024**3, sum(len(v) for v in files.values()))

    async def volumes(self) -> Sequence[str]:
        return sorted(self.data)

    async def snapshots(self) -> Sequence[str]:
        return sorted(self.snaps)


class MemoryMounter:
    """Which volume (host path) is plugged where in which container."""

    def __init__(self) -> None:
        self.plugged: dict[str, dict[str, str]] = {}  # container -> path -> host path
        self.created: dict[str, dict[str, str]] = {}  # container -> create-time binds

    async def plug_dir(self, instance_id: str) -> str:
        return f"/plug/{instance_id}"

    async def plug(self, container: str, host_path: str, path: str) -> None:
        self.plugged.setdefault(container, {}).setdefault(path, host_path)

    async def unplug(self, container: str, path: str) -> None:
        self.plugged.get(container, {}).pop(path, None)
        self.created.get(container, {}).pop(path, None)

    async def prune(self, keep: Collection[str]) -> int:
        self.kept = set(keep)
        return 0

    async def mounted(self, container: str) -> dict[str, str]:
        return dict(self.created.get(container, {}))

    def seen(self, container: str) -> builtins.dict[str, str]:
        """What the container has at which path now (create-time binds and plugged)."""
        return {**self.created.get(container, {}), **self.plugged.get(container, {})}
