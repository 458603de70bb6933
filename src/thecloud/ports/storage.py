"""Block storage: where volumes and their snapshots really live.

A volume is a block device of a fixed size with its own filesystem (ext4), kept mounted on the
host while it exists; instances see it through a bind mount of that mount point. The size is
a real limit: writing past it fails with ENOSPC inside the instance. A snapshot is a
crash-consistent, point-in-time copy of a volume (the filesystem is frozen while it is taken;
copy-on-write where the backend can); restoring one makes a new volume with exactly its data.

Every method is idempotent (a retry after a crash finishes the job) and may raise
BackendUnavailable (the backend cannot work here, with the set-up step that fixes it),
NotFound (no such volume or snapshot) and Conflict (e.g. out of space).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class VolumeUsage:
    size_bytes: int  # what the filesystem can hold
    used_bytes: int


class StorageBackend(Protocol):
    name: str  # "loop", "lvm", ...
    encryption: bool  # whether `create(..., encrypted=True)` is possible

    async def check(self) -> None:
        """Return when the backend can work on this host, else raise BackendUnavailable."""
        ...

    async def create(self, volume_id: str, size_gb: int, encrypted: bool = False) -> str:
        """Make the volume (formatted, mounted); returns its host mount point."""
        ...

    async def mountpoint(self, volume_id: str) -> str:
        """The host path to bind-mount into a container (mounting it again if needed)."""
        ...

    async def delete(self, volume_id: str) -> None:
        """Unmount and remove the volume and its data; a missing one is not an error."""
        ...

    async def snapshot(self, volume_id: str, snapshot_id: str) -> None:
        """A crash-consistent copy of the volume as it is now."""
        ...

    async def delete_snapshot(self, snapshot_id: str) -> None: ...

    async def restore(self, snapshot_id: str, volume_id: str) -> str:
        """A new volume holding exactly the snapshot's data; returns its mount point."""
        ...

    async def usage(self, volume_id: str) -> VolumeUsage: ...

    async def volumes(self) -> Sequence[str]:
        """The ids of every volume the backend holds (the reconciler compares them)."""
        ...

    async def snapshots(self) -> Sequence[str]: ...

    async def sweep(self, older_than: timedelta) -> int:
        """Remove what a crash left half-made, if older than `older_than` (younger may be
        in flight); how many went."""
        ...


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


class CommandRunner(Protocol):
    """Runs host commands (losetup, mkfs, mount, lvcreate, ...): one place to fake in tests."""

    async def run(self, *argv: str, check: bool = True, stdin: str | None = None) -> CommandResult:
        """Run `argv` (fed `stdin` if given); with `check`, a non-zero exit raises
        BackendUnavailable with stderr."""
        ...


class VolumeMounter(Protocol):
    """Mounts volumes into running containers at a path, and takes them out again, without
    restarting them (the engine cannot add a bind mount to a running container)."""

    async def plug_dir(self, instance_id: str) -> str:
        """The host directory a new container of the instance is made with (ContainerSpec.
        plug_dir), through which volumes are plugged later."""
        ...

    async def plug(self, container: str, host_path: str, path: str) -> None:
        """Make `host_path` appear at `path` inside the running container (idempotent)."""
        ...

    async def unplug(self, container: str, path: str) -> None:
        """Unmount `path` inside the running container; not mounted is not an error."""
        ...

    async def unstage(self, instance_id: str, path: str) -> None:
        """Release the host side of a volume plugged at `path` for the instance, when its
        container is not running (nothing to unmount inside)."""
        ...

    async def prune(self, keep: Collection[str]) -> int:
        """Release the plug directories of instances not in `keep` (gone ones): what is
        still mounted there would keep a deleted volume's filesystem alive. How many went."""
        ...

    async def mounted(self, container: str) -> dict[str, str]:
        """The volumes the container was created with (path -> host mount point): the engine
        binds them again whenever it starts, whether still attached or not."""
        ...
