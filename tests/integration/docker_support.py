"""Shared by the Docker adapter tests: the engine fixtures, containers by label, waiting.

The engine is started by `scripts/docker.sh` (make test runs it); without it the tests fail with
a message naming that step. Every container carries `thecloud.test=<run id>`; the
`docker_runtime` fixture removes them after each test, whatever happened.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import docker
import pytest

from thecloud.adapters.docker import DockerRuntime
from thecloud.adapters.docker.images import build
from thecloud.domain.compute import PortMapping
from thecloud.domain.errors import BackendUnavailable
from thecloud.ports.compute import ContainerSpec, ContainerState, ContainerStatus

T = TypeVar("T")
RUN_ID = uuid.uuid4().hex[:12]
TEST_LABEL = "thecloud.test"
MIB = 1024 * 1024
ENGINE_DOWN = (
    "the Docker Engine is not answering: run `scripts/docker.sh` as root "
    "(make test and scripts/setup.sh run it)"
)


@pytest.fixture
async def docker_runtime() -> AsyncIterator[DockerRuntime]:
    """A DockerRuntime on the local engine; removes the run's containers afterwards."""
    engine = DockerRuntime()
    try:
        await engine.ping()
    except BackendUnavailable as exc:
        pytest.fail(f"{ENGINE_DOWN} ({exc.message})", pytrace=False)
    try:
        yield engine
    finally:
        for state in await engine.list({TEST_LABEL: RUN_ID}):
            await engine.remove(state.id)
        engine.close()


@pytest.fixture
async def busybox_image(docker_runtime: DockerRuntime) -> str:
    """The reference of the busybox image (built if missing)."""
    [image] = await build(docker_runtime, ["busybox"], lambda _line: None)
    return image.reference


def spec(
    image: str,
    *command: str,
    labels: dict[str, str] | None = None,
    ports: tuple[PortMapping, ...] = (),
    env: tuple[str, ...] = (),
    memory_bytes: int = 64 * MIB,
) -> ContainerSpec:
    """A container of this run: a unique name, the test label, 0.5 CPU."""
    return ContainerSpec(
        name=f"tc-test-{RUN_ID}-{uuid.uuid4().hex[:8]}",
        image=image,
        labels={TEST_LABEL: RUN_ID, **(labels or {})},
        nano_cpus=500_000_000,
        memory_bytes=memory_bytes,
        env=env,
        command=command,
        ports=ports,
    )


async def started(runtime: DockerRuntime, container: ContainerSpec) -> ContainerState:
    created = await runtime.create(container)
    return await runtime.start(created.id)


async def until(check: Callable[[], Awaitable[T | None]], what: str, seconds: float = 10.0) -> T:
    """Poll `check` until it returns something truthy, failing after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out after {seconds}s waiting for {what}")


async def exited(runtime: DockerRuntime, ident: str) -> ContainerState:
    async def check() -> ContainerState | None:
        state = await runtime.inspect(ident)
        return state if state and state.status == ContainerStatus.EXITED else None

    return await until(check, f"container {ident} to exit")


def engine_api() -> docker.APIClient:
    """The SDK's client, for what the port does not offer (exec, image removal)."""
    return docker.APIClient(version="auto")


def run_in_container(ident: str, script: str) -> str:
    """The output of `sh -c script` run in the container (an exec, outside the port)."""
    api = engine_api()
    try:
        exec_id = api.exec_create(ident, ["sh", "-c", script])["Id"]
        return api.exec_start(exec_id).decode()
    finally:
        api.close()
