"""ContainerRuntime on a Docker Engine, through the Docker SDK's low-level APIClient.

Every blocking SDK call runs in a worker thread; its exceptions become the platform's errors
there. The client is made on first use (from `base_url`, else DOCKER_HOST, else the default
socket) and made again on a later call if the engine could not be reached the first time.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import io
import json
import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import requests
from docker import APIClient
from docker import errors as docker_errors
from docker.types import CancellableStream
from docker.utils import parse_repository_tag

from thecloud.adapters.docker.client import EngineClient
from thecloud.adapters.docker.errors import engine_message
from thecloud.adapters.docker.execs import open_shell, run_exec
from thecloud.adapters.docker.logs import (
    Pump,
    checked,
    engine_url,
    frames,
    log_lines,
    logs_response,
)
from thecloud.adapters.docker.parse import LISTED, container_state, image_info, listed_state
from thecloud.adapters.docker.session import DockerSession
from thecloud.adapters.docker.stats import read_stats
from thecloud.domain.compute import PortMapping
from thecloud.domain.errors import BackendUnavailable, Conflict
from thecloud.ports.compute import (
    ContainerSpec,
    ContainerState,
    ContainerStats,
    ExecResult,
    ImageInfo,
    LogLine,
    Progress,
)

T = TypeVar("T")
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - published ports listen on every host address
PLUG_TARGET = "/.thecloud/volumes"  # where a container sees its plug directory


class DockerRuntime:
    """The platform's containers on one Docker Engine."""

    def __init__(self, base_url: str | None = None, timeout: int = 60) -> None:
        self._engine = EngineClient(base_url, timeout)

    def close(self) -> None:
        """Close the engine connections (the runtime reconnects if used again)."""
        self._engine.close()

    async def ping(self) -> None:
        await self._call(lambda api: api.ping())

    async def create(self, spec: ContainerSpec) -> ContainerState:
        return await self._call(lambda api: _create(api, spec))

    async def start(self, ident: str) -> ContainerState:
        return await self._call(lambda api: _start(api, ident))

    async def stop(self, ident: str, timeout: float = 10.0) -> None:
        await self._call(lambda api: api.stop(ident, timeout=math.ceil(timeout)))

    async def restart(self, ident: str, timeout: float = 10.0) -> ContainerState:
        return await self._call(lambda api: _restart(api, ident, math.ceil(timeout)))

    async def remove(self, ident: str) -> None:
        await self._call(lambda api: _remove(api, ident))

    async def inspect(self, ident: str) -> ContainerState | None:
        return await self._call(lambda api: _inspect(api, ident))

    async def list(self, labels: Mapping[str, str]) -> list[ContainerState]:
        """Running (and paused) containers as the engine lists them: without their start
        time and limits (`inspect` has those); the others inspected, with exit code."""
        return await self._call(lambda api: _list(api, labels))

    async def logs(
        self, ident: str, tail: int | None = None, since: datetime | None = None
    ) -> builtins.list[LogLine]:
        return await self._call(lambda api: _logs(api, ident, tail, since))

    async def follow(self, ident: str, since: datetime | None = None) -> AsyncIterator[LogLine]:
        """New output only when `since` is None, else everything written from `since` on."""
        response, lines = await self._call(lambda api: _open_follow(api, ident, since))
        stream = CancellableStream(lines, response)
        pump = Pump(stream)
        pump.thread.start()
        try:
            while (line := await pump.get()) is not None:
                yield line
        finally:
            pump.stop()
            _close_stream(stream, response)
            await asyncio.to_thread(pump.thread.join, 5.0)

    async def update_limits(self, ident: str, nano_cpus: int, memory_bytes: int) -> None:
        await self._call(lambda api: _update(api, ident, nano_cpus, memory_bytes))

    async def pause(self, ident: str) -> None:
        """A container that is not running (or already paused) is a Conflict."""
        await self._call(lambda api: _pause(api, ident))

    async def unpause(self, ident: str) -> None:
        """A container that is not paused is left as it is."""
        await self._call(lambda api: _unpause(api, ident))

    async def stats(self, ident: str) -> ContainerStats:
        """Takes about a second (the engine samples twice); a stopped container: zeros."""
        return await self._call(lambda api: read_stats(api, ident))

    async def exec(self, ident: str, command: tuple[str, ...], timeout: float = 60.0) -> ExecResult:
        """At the timeout the command is left running in the container (the engine offers no
        way to stop an exec); only the wait ends. A paused container is a Conflict too."""
        return await self._call(lambda api: run_exec(api, ident, command, timeout))

    async def shell(
        self, ident: str, command: tuple[str, ...] = ("/bin/sh",), rows: int = 24, cols: int = 80
    ) -> DockerSession:
        exec_id, marker, stream = await self._call(lambda api: open_shell(api, ident, command))
        session = DockerSession(self._engine, ident, exec_id, marker, stream)
        try:
            await session.resize(rows, cols)
        except BaseException:
            await session.close()
            raise
        return session

    async def image(self, reference: str) -> ImageInfo | None:
        return await self._call(lambda api: _image(api, reference))

    async def import_rootfs(
        self, tarball: Path, reference: str, changes: tuple[str, ...] = ()
    ) -> ImageInfo:
        return await self._call(lambda api: _import(api, tarball, reference, changes))

    async def remove_image(self, reference: str) -> None:
        await self._call(lambda api: _remove_image(api, reference))

    async def pull(self, reference: str, progress: Progress) -> ImageInfo:
        return await self._call(lambda api: _pull(api, reference, progress))

    async def _call(self, fn: Callable[[APIClient], T]) -> T:
        return await self._engine.call(fn)


def _create(api: APIClient, spec: ContainerSpec) -> ContainerState:
    try:
        created = api.create_container(
            spec.image,
            command=list(spec.command) or None,
            name=spec.name,
            environment=list(spec.env),
            labels=dict(spec.labels),
            ports=[(p.container, p.protocol) for p in spec.ports],
            host_config=_host_config(api, spec),
            networking_config=_networking(api, spec),
        )
    except docker_errors.APIError as exc:
        if exc.status_code == 409 and (existing := _inspect(api, spec.name)) is not None:
            return existing
        raise
    return _existing(api, created["Id"])


def _host_config(api: APIClient, spec: ContainerSpec) -> Any:
    memory = spec.memory_bytes or None
    return api.create_host_config(
        port_bindings={f"{p.container}/{p.protocol}": _binding(p) for p in spec.ports},
        nano_cpus=spec.nano_cpus or None,
        mem_limit=memory,
        memswap_limit=memory,
        init=True,
        network_mode=spec.network or None,
        dns=list(spec.dns) or None,
        binds=_binds(spec) or None,
    )


def _binds(spec: ContainerSpec) -> list[str]:
    binds = [f"{host}:{path}:rw" for host, path in spec.mounts]
    if spec.plug_dir:
        binds.append(f"{spec.plug_dir}:{PLUG_TARGET}:rslave")
    return binds


def _networking(api: APIClient, spec: ContainerSpec) -> Any:
    if not spec.network:
        return None
    endpoint = api.create_endpoint_config(ipv4_address=spec.ip or None)
    return api.create_networking_config({spec.network: endpoint})  # type: ignore[arg-type]


def _binding(port: PortMapping) -> dict[str, str]:
    return {"HostIp": ANY_ADDRESS, "HostPort": str(port.host) if port.host else ""}


def _start(api: APIClient, ident: str) -> ContainerState:
    api.start(ident)
    return _existing(api, ident)


def _restart(api: APIClient, ident: str, timeout: int) -> ContainerState:
    api.restart(ident, timeout=timeout)
    return _existing(api, ident)


def _remove(api: APIClient, ident: str) -> None:
    try:
        api.remove_container(ident, v=True, force=True)
    except docker_errors.NotFound:
        return
    except docker_errors.APIError as exc:
        if exc.status_code != 409 or "already in progress" not in str(exc.explanation):
            raise


def _inspect(api: APIClient, ident: str) -> ContainerState | None:
    try:
        return container_state(api.inspect_container(ident))
    except docker_errors.NotFound:
        return None


def _existing(api: APIClient, ident: str) -> ContainerState:
    state = _inspect(api, ident)
    if state is None:
        raise Conflict(f"container {ident} was removed while it was being changed")
    return state


def _list(api: APIClient, labels: Mapping[str, str]) -> list[ContainerState]:
    """One listing; only the containers that are not running are inspected (their exit code
    and OOM kill are not in it). One gone meanwhile is left out."""
    wanted = [f"{key}={value}" for key, value in labels.items()]
    found = api.containers(all=True, filters={"label": wanted})
    states = (
        listed_state(item) if item.get("State") in LISTED else _inspect(api, item["Id"])
        for item in found
    )
    return [state for state in states if state is not None]


def _tty(api: APIClient, ident: str) -> bool:
    return bool(api.inspect_container(ident)["Config"].get("Tty"))


def _logs(api: APIClient, ident: str, tail: int | None, since: datetime | None) -> list[LogLine]:
    tty = _tty(api, ident)
    with logs_response(api, ident, tail, since, follow=False) as response:
        return list(log_lines(frames(io.BytesIO(response.content).read, tty)))


def _open_follow(
    api: APIClient, ident: str, since: datetime | None
) -> tuple[requests.Response, Iterator[LogLine]]:
    tty = _tty(api, ident)
    response = logs_response(api, ident, 0 if since is None else None, since, follow=True)
    read = response.raw.read1 if tty else response.raw.read
    return response, log_lines(frames(read, tty))


def _close_stream(stream: CancellableStream[LogLine], response: requests.Response) -> None:
    """Shut the socket down under the reading thread, then release the response."""
    with contextlib.suppress(OSError, docker_errors.DockerException):
        stream.close()
    response.close()


def _pause(api: APIClient, ident: str) -> None:
    try:
        api.pause(ident)
    except docker_errors.APIError as exc:
        if exc.status_code != 409:
            raise
        status = state.status if (state := _inspect(api, ident)) else "gone"
        raise Conflict(f"cannot pause container {ident}: it is {status}, not running") from exc


def _unpause(api: APIClient, ident: str) -> None:
    try:
        api.unpause(ident)
    except docker_errors.APIError as exc:
        if "is not paused" not in engine_message(exc):
            raise


def _update(api: APIClient, ident: str, nano_cpus: int, memory_bytes: int) -> None:
    limits = {"NanoCpus": nano_cpus, "Memory": memory_bytes, "MemorySwap": memory_bytes}
    url = engine_url(api, "/containers/{}/update", ident)
    checked(api.post(url, json=limits, timeout=api.timeout)).close()


def _image(api: APIClient, reference: str) -> ImageInfo | None:
    try:
        return image_info(reference, api.inspect_image(reference))  # type: ignore[no-untyped-call]
    except docker_errors.NotFound:
        return None


def _pull(api: APIClient, reference: str, progress: Progress) -> ImageInfo:
    repository, tag = parse_repository_tag(reference)
    for event in api.pull(repository, tag=tag or "latest", stream=True, decode=True):
        if event.get("error"):
            raise BackendUnavailable(f"pulling {reference} failed: {event['error']}")
        if event.get("status") and not event.get("progressDetail"):
            progress(f"{reference}: {event.get('id', '')} {event['status']}".replace("  ", " "))
    info = _image(api, reference if tag else f"{reference}:latest")
    if info is None:
        raise BackendUnavailable(f"pulling {reference} left no image")
    return info


def _remove_image(api: APIClient, reference: str) -> None:
    with contextlib.suppress(docker_errors.NotFound):
        api.remove_image(reference)


def _import(api: APIClient, tarball: Path, reference: str, changes: tuple[str, ...]) -> ImageInfo:
    repository, tag = parse_repository_tag(reference)
    output = api.import_image_from_file(
        str(tarball), repository=repository, tag=tag or "latest", changes=list(changes) or None
    )
    _raise_import_error(reference, str(output))
    info = _image(api, reference)
    if info is None:
        raise BackendUnavailable(f"importing {reference} left no image: {output}")
    return info


def _raise_import_error(reference: str, output: str) -> None:
    for line in filter(None, (raw.strip() for raw in output.splitlines())):
        with contextlib.suppress(ValueError):
            message = json.loads(line).get("error")
            if message:
                raise BackendUnavailable(f"importing {reference} failed: {message}")
