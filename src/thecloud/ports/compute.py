"""The container runtime: where instances really run (a Docker Engine now, libvirt later).

Every method may raise BackendUnavailable (the engine cannot be reached) and, for a
container or image that does not exist where one is required, NotFound. Containers the
platform creates carry labels (LABEL_INSTANCE, LABEL_TENANT) so a reconciler can find
them again after a crash, and a name derived from the instance id so a repeated create
finds the first one instead of making a second.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from thecloud.domain.compute import PortMapping

LABEL_INSTANCE = "thecloud.instance"
LABEL_TENANT = "thecloud.tenant"
LABEL_MANAGED = "thecloud.managed"  # the installation id, on everything the platform creates


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    name: str
    image: str  # a local image reference
    labels: Mapping[str, str]
    nano_cpus: int  # CPU limit in billionths of a CPU (1 vCPU = 1_000_000_000)
    memory_bytes: int  # hard memory limit (no swap beyond it)
    env: tuple[str, ...] = ()
    command: tuple[str, ...] = ()  # empty: the image's default command
    ports: tuple[PortMapping, ...] = ()
    network: str = ""  # a VPC's network (empty: the engine's default network)
    ip: str = ""  # the address on that network, from the platform's IPAM
    dns: tuple[str, ...] = ()  # DNS servers (a VPC's resolver); empty: the engine's default
    # volumes attached at creation: (host mount point, path in the container)
    mounts: tuple[tuple[str, str], ...] = ()
    # a host directory shared into the container, through which volumes are plugged later
    plug_dir: str = ""


class ContainerStatus:
    """The engine's container states (Docker's names)."""

    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    RESTARTING = "restarting"
    EXITED = "exited"
    DEAD = "dead"
    REMOVING = "removing"


@dataclass(frozen=True, slots=True)
class ContainerState:
    id: str
    name: str
    status: str  # one of ContainerStatus
    labels: Mapping[str, str]
    image: str = ""
    exit_code: int | None = None
    oom_killed: bool = False
    error: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    ports: tuple[PortMapping, ...] = ()  # host ports the engine bound (host 0 resolved)
    nano_cpus: int = 0
    memory_bytes: int = 0


@dataclass(frozen=True, slots=True)
class LogLine:
    at: datetime
    stream: str  # "stdout" or "stderr"
    text: str


@dataclass(frozen=True, slots=True)
class ImageInfo:
    reference: str
    id: str
    size: int
    created_at: datetime | None = None
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContainerStats:
    """One sample of a container's resource use (cumulative counters since it started)."""

    at: datetime
    cpu_percent: float  # 100.0 = one full CPU busy over the sampling interval
    memory_bytes: int  # in use, without the page cache
    memory_limit_bytes: int
    network_rx_bytes: int
    network_tx_bytes: int
    block_read_bytes: int
    block_write_bytes: int
    pids: int


@dataclass(frozen=True, slots=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


class Session(Protocol):
    """An interactive process in a container with a terminal (the console)."""

    async def send(self, data: bytes) -> None:
        """Keystrokes (or any bytes) to the process's terminal."""
        ...

    async def receive(self) -> bytes:
        """The next output of the terminal; b"" once the process has ended."""
        ...

    async def resize(self, rows: int, cols: int) -> None: ...

    async def close(self) -> None:
        """End the session (the process gets a hangup)."""
        ...


Progress = Callable[[str], None]


class ContainerRuntime(Protocol):
    async def ping(self) -> None:
        """Return when the engine answers; raise BackendUnavailable otherwise."""
        ...

    async def create(self, spec: ContainerSpec) -> ContainerState:
        """Create (not start) the container; if one of that name exists, return it."""
        ...

    async def start(self, ident: str) -> ContainerState:
        """Start a created or stopped container (a running one is left as is)."""
        ...

    async def stop(self, ident: str, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after `timeout` seconds; a stopped one is left as is."""
        ...

    async def restart(self, ident: str, timeout: float = 10.0) -> ContainerState: ...

    async def remove(self, ident: str) -> None:
        """Remove the container, running or not; one that is already gone is fine."""
        ...

    async def inspect(self, ident: str) -> ContainerState | None:
        """The container by id or name, or None if it does not exist."""
        ...

    async def list(self, labels: Mapping[str, str]) -> list[ContainerState]:
        """Every container (in any state) carrying all of these labels."""
        ...

    async def logs(
        self, ident: str, tail: int | None = None, since: datetime | None = None
    ) -> builtins.list[LogLine]:
        """The container's output so far, oldest first (the last `tail` lines if given)."""
        ...

    def follow(self, ident: str, since: datetime | None = None) -> AsyncIterator[LogLine]:
        """The container's output as it is written, until it stops or the caller stops."""
        ...

    async def update_limits(self, ident: str, nano_cpus: int, memory_bytes: int) -> None:
        """Change CPU and memory limits of a container, running or not."""
        ...

    async def pause(self, ident: str) -> None:
        """Freeze every process of a running container (cgroup freezer)."""
        ...

    async def unpause(self, ident: str) -> None: ...

    async def stats(self, ident: str) -> ContainerStats:
        """One sample of the container's resource use (`docker stats --no-stream`)."""
        ...

    async def exec(self, ident: str, command: tuple[str, ...], timeout: float = 60.0) -> ExecResult:
        """Run a command in a running container and wait for it (at most `timeout` s:
        then raise BackendUnavailable naming the timeout)."""
        ...

    async def shell(
        self, ident: str, command: tuple[str, ...] = ("/bin/sh",), rows: int = 24, cols: int = 80
    ) -> Session:
        """Start an interactive process with a terminal in a running container."""
        ...

    async def pull(self, reference: str, progress: Progress) -> ImageInfo:
        """Pull an image from its registry (BackendUnavailable when none is reachable)."""
        ...

    async def remove_image(self, reference: str) -> None:
        """Remove a local image; Conflict while a container uses it; a missing one is fine."""
        ...

    async def image(self, reference: str) -> ImageInfo | None:
        """The local image of this reference, or None."""
        ...

    async def import_rootfs(
        self, tarball: Path, reference: str, changes: tuple[str, ...] = ()
    ) -> ImageInfo:
        """Import a root filesystem tarball as image `reference` (`docker import`);
        `changes` are Dockerfile instructions such as `CMD ["/bin/sh"]`."""
        ...
