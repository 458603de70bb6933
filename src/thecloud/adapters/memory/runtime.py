"""An in-memory container runtime with the Docker adapter's semantics (unit tests only)."""

from __future__ import annotations

import asyncio
import builtins
import itertools
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from thecloud.domain.compute import PortMapping
from thecloud.domain.errors import BackendUnavailable, CloudError, Conflict, NotFound
from thecloud.ports.compute import (
    ContainerSpec,
    ContainerState,
    ContainerStats,
    ExecResult,
    ImageInfo,
    LogLine,
    Progress,
)
from thecloud.ports.compute import ContainerStatus as CS

FOLLOW_POLL_SECONDS = 0.01


@dataclass
class _Container:
    state: ContainerState
    spec: ContainerSpec
    output: list[LogLine] = field(default_factory=list)


class MemoryRuntime:
    """Containers and images in dicts. `down` makes every call fail as an unreachable engine
    would; `fail_start[image] = error` makes starts of that image fail with it."""

    def __init__(self, images: tuple[str, ...] = ()) -> None:
        self.images: dict[str, ImageInfo] = {r: ImageInfo(r, f"sha256:{r}", 1) for r in images}
        self.containers: dict[str, _Container] = {}
        self.down = False
        self.fail_start: dict[str, CloudError] = {}
        self.calls: list[tuple[str, str]] = []
        self.executed: list[tuple[str, str]] = []
        self.registry: set[str] = set()
        self._ids = itertools.count(1)
        self._ports = itertools.count(40000)

    def _up(self, call: str, ident: str = "") -> None:
        if self.down:
            raise BackendUnavailable("the Docker Engine is unreachable (memory runtime is down)")
        self.calls.append((call, ident))

    def _find(self, ident: str) -> _Container | None:
        for c in self.containers.values():
            if ident in (c.state.id, c.state.name):
                return c
        return None

    def _get(self, ident: str) -> _Container:
        found = self._find(ident)
        if found is None:
            raise NotFound(f"container {ident} not found")
        return found

    async def ping(self) -> None:
        self._up("ping")

    async def create(self, spec: ContainerSpec) -> ContainerState:
        self._up("create", spec.name)
        if (existing := self._find(spec.name)) is not None:
            return existing.state
        if spec.image not in self.images:
            raise NotFound(f"image {spec.image} not found")
        ident = f"c{next(self._ids):012d}"
        state = ContainerState(
            ident, spec.name, CS.CREATED, dict(spec.labels), spec.image,
            nano_cpus=spec.nano_cpus, memory_bytes=spec.memory_bytes,
        )  # fmt: skip
        self.containers[ident] = _Container(state, spec)
        return state

    async def start(self, ident: str) -> ContainerState:
        self._up("start", ident)
        c = self._get(ident)
        if (error := self.fail_start.get(c.spec.image)) is not None:
            raise error
        if c.state.status != CS.RUNNING:
            ports = c.state.ports or tuple(self._bind(p) for p in c.spec.ports)
            c.state = replace(c.state, status=CS.RUNNING, started_at=_now(), ports=ports)
            self.say(c.state.id, f"started {c.spec.command or '(image default)'}")
        return c.state

    def _bind(self, p: PortMapping) -> PortMapping:
        return p if p.host else replace(p, host=next(self._ports))

    async def stop(self, ident: str, timeout: float = 10.0) -> None:  # noqa: ARG002
        self._up("stop", ident)
        c = self._get(ident)
        if c.state.status in (CS.RUNNING, CS.PAUSED):
            c.state = replace(c.state, status=CS.EXITED, exit_code=0, finished_at=_now())

    async def restart(self, ident: str, timeout: float = 10.0) -> ContainerState:
        await self.stop(ident, timeout)
        return await self.start(ident)

    async def remove(self, ident: str) -> None:
        self._up("remove", ident)
        c = self._find(ident)
        if c is not None:
            del self.containers[c.state.id]

    async def inspect(self, ident: str) -> ContainerState | None:
        self._up("inspect", ident)
        c = self._find(ident)
        return None if c is None else c.state

    async def list(self, labels: Mapping[str, str]) -> builtins.list[ContainerState]:
        self._up("list")
        wanted = dict(labels).items()
        return [c.state for c in self.containers.values() if wanted <= c.state.labels.items()]

    async def logs(
        self, ident: str, tail: int | None = None, since: datetime | None = None
    ) -> builtins.list[LogLine]:
        self._up("logs", ident)
        lines = [x for x in self._get(ident).output if since is None or x.at >= since]
        return lines if tail is None else lines[max(len(lines) - tail, 0) :]  # tail=0: none

    async def follow(self, ident: str, since: datetime | None = None) -> AsyncIterator[LogLine]:
        """Like Docker: new lines only when `since` is None, else from `since` on; it ends
        once the container is no longer running (or is removed)."""
        self._up("follow", ident)
        c = self._get(ident)
        seen = len(c.output) if since is None else 0
        while True:
            for line in c.output[seen:]:
                if since is None or line.at >= since:
                    yield line
            seen = len(c.output)
            live = c.state.status in (CS.RUNNING, CS.PAUSED, CS.RESTARTING)
            if not live or self.containers.get(c.state.id) is not c:
                return
            await asyncio.sleep(FOLLOW_POLL_SECONDS)

    async def update_limits(self, ident: str, nano_cpus: int, memory_bytes: int) -> None:
        self._up("update", ident)
        c = self._get(ident)
        c.state = replace(c.state, nano_cpus=nano_cpus, memory_bytes=memory_bytes)

    async def pause(self, ident: str) -> None:
        self._up("pause", ident)
        c = self._running(ident)
        c.state = replace(c.state, status=CS.PAUSED)

    async def unpause(self, ident: str) -> None:
        self._up("unpause", ident)
        c = self._get(ident)
        if c.state.status == CS.PAUSED:
            c.state = replace(c.state, status=CS.RUNNING)

    def _running(self, ident: str) -> _Container:
        c = self._get(ident)
        if c.state.status != CS.RUNNING:
            raise Conflict(f"container {ident} is not running")
        return c

    async def stats(self, ident: str) -> ContainerStats:
        self._up("stats", ident)
        c = self._get(ident)
        busy = 12.5 if c.state.status == CS.RUNNING else 0.0
        return ContainerStats(_now(), busy, 4 << 20, c.state.memory_bytes, 100, 200, 0, 4096, 1)

    async def exec(self, ident: str, command: tuple[str, ...], timeout: float = 60.0) -> ExecResult:  # noqa: ARG002
        """Runs `echo ...`; records `sh -c ...` in `executed` and succeeds; anything else
        exits 127 like a missing command."""
        self._up("exec", ident)
        self._running(ident)
        if command[:2] == ("sh", "-c"):
            self.executed.append((ident, command[2]))
            return ExecResult(0, "", "")
        if command and command[0] == "echo":
            return ExecResult(0, " ".join(command[1:]) + "\n", "")
        return ExecResult(127, "", f"sh: {command[0] if command else ''}: not found\n")

    async def shell(
        self, ident: str, command: tuple[str, ...] = ("/bin/sh",), rows: int = 24, cols: int = 80
    ) -> MemorySession:
        self._up("shell", ident)
        self._running(ident)
        session = MemorySession(command)
        await session.resize(rows, cols)
        return session

    async def pull(self, reference: str, progress: Progress) -> ImageInfo:
        """Only what `registry` holds can be pulled (a fake registry)."""
        self._up("pull", reference)
        if reference not in self.registry:
            raise BackendUnavailable(f"pulling {reference} failed: no registry is reachable")
        progress(f"{reference}: Pull complete")
        self.images[reference] = ImageInfo(reference, f"sha256:{reference}", 1)
        return self.images[reference]

    async def remove_image(self, reference: str) -> None:
        self._up("remove_image", reference)
        if any(c.spec.image == reference for c in self.containers.values()):
            raise Conflict(f"image {reference} is used by a container")
        self.images.pop(reference, None)

    async def image(self, reference: str) -> ImageInfo | None:
        self._up("image", reference)
        return self.images.get(reference)

    async def import_rootfs(
        self,
        tarball: Path,
        reference: str,
        changes: tuple[str, ...] = (),  # noqa: ARG002 - a memory image has no config
    ) -> ImageInfo:
        self._up("import", reference)
        if not tarball.exists():
            raise Conflict(f"no tarball at {tarball}")
        self.images[reference] = ImageInfo(reference, f"sha256:{reference}", 1, labels={})
        return self.images[reference]

    # Test helpers: what a container does by itself.
    def say(self, ident: str, text: str, stream: str = "stdout") -> None:
        self._get(ident).output.append(LogLine(_now(), stream, text))

    def die(self, ident: str, exit_code: int = 1, oom: bool = False) -> None:
        c = self._get(ident)
        c.state = replace(c.state, status=CS.EXITED, exit_code=exit_code, oom_killed=oom)


class MemorySession:
    """A terminal that echoes what it is sent, like a line discipline with no program."""

    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command
        self._pending: list[bytes] = []
        self.closed = False
        self.size = (24, 80)

    async def send(self, data: bytes) -> None:
        self._pending.append(data)

    async def receive(self) -> bytes:
        if self.closed or not self._pending:
            return b""
        return self._pending.pop(0)

    async def resize(self, rows: int, cols: int) -> None:
        self.size = (rows, cols)

    async def close(self) -> None:
        self.closed = True


def _now() -> datetime:
    return datetime.now(UTC)
