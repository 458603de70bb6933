"""In-memory StorageBackend and VolumeMounter (unit tests): volumes hold a dict of files."""

from __future__ import annotations

import builtins
from collections.abc import Collection, Sequence
from datetime import timedelta

from thecloud.adapters.memory.runtime import MemoryRuntime
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

    async def sweep(self, older_than: timedelta) -> int:  # noqa: ARG002 - nothing half-made
        return 0


class MemoryMounter:
    """What is mounted where in each container of a MemoryRuntime, as Docker does it: the
    volumes a container was made with come back at every start (its binds never change);
    what was plugged in goes at every start."""

    def __init__(self, runtime: MemoryRuntime | None = None) -> None:
        self.runtime = runtime
        self.plugged: dict[str, dict[str, str]] = {}  # container -> path -> host path
        self.unbound: dict[str, set[str]] = {}  # made-with binds unmounted since the start
        self.staged: set[tuple[str, str]] = set()  # (instance, path) plugged on the host side
        self._starts: dict[str, object] = {}
        self.kept: set[str] | None = None

    def _binds(self, container: str) -> dict[str, str]:
        if self.runtime is None or container not in self.runtime.containers:
            return {}
        return {path: host for host, path in self.runtime.containers[container].spec.mounts}

    def _fresh(self, container: str) -> None:
        """A container started again has its binds back and nothing plugged."""
        if self.runtime is None or container not in self.runtime.containers:
            return
        started = self.runtime.containers[container].state.started_at
        if self._starts.get(container) != started:
            self._starts[container] = started
            self.plugged.pop(container, None)
            self.unbound.pop(container, None)

    async def plug_dir(self, instance_id: str) -> str:
        return f"/plug/{instance_id}"

    async def plug(self, container: str, host_path: str, path: str) -> None:
        self._fresh(container)
        self.plugged.setdefault(container, {})[path] = host_path

    async def unplug(self, container: str, path: str) -> None:
        self._fresh(container)
        if self.plugged.get(container, {}).pop(path, None) is None:
            self.unbound.setdefault(container, set()).add(path)

    async def unstage(self, instance_id: str, path: str) -> None:
        self.staged.discard((instance_id, path))

    async def prune(self, keep: Collection[str]) -> int:
        self.kept = set(keep)
        return 0

    async def mounted(self, container: str) -> dict[str, str]:
        self._fresh(container)
        return self._binds(container)

    def seen(self, container: str) -> builtins.dict[str, str]:
        """What the container has at which path now."""
        self._fresh(container)
        binds = {
            p: h
            for p, h in self._binds(container).items()
            if p not in self.unbound.get(container, set())
        }
        return {**binds, **self.plugged.get(container, {})}
