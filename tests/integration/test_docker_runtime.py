"""DockerRuntime against the real Docker Engine (started by `scripts/docker.sh`).

Every container carries `thecloud.test=<run id>`; the `docker_runtime` fixture removes them after
each test, whatever happened.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import docker
import httpx
import pytest

from tests.integration.docker_support import (
    MIB,
    RUN_ID,
    TEST_LABEL,
    exited,
    run_in_container,
    spec,
    started,
    until,
)
from thecloud.adapters.docker import DockerRuntime
from thecloud.domain.compute import PortMapping
from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from thecloud.ports.compute import ContainerStatus, LogLine

# --- containers ----------------------------------------------------------------------------


async def test_started_container_publishes_any_free_host_port(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    serve = "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 80 -h /www"
    state = await started(
        docker_runtime, spec(busybox_image, "sh", "-c", serve, ports=(PortMapping(0, 80),))
    )
    assert state.status == ContainerStatus.RUNNING
    [port] = state.ports
    assert port.container == 80 and port.protocol == "tcp" and port.host > 0

    async def fetch() -> str | None:
        async with httpx.AsyncClient() as client:
            try:
                return (await client.get(f"http://127.0.0.1:{port.host}/index.html")).text
            except httpx.TransportError:
                return None

    assert await until(fetch, f"busybox httpd on host port {port.host}") == "hello\n"


async def test_start_on_a_host_port_in_use_is_a_conflict(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    first = await started(
        docker_runtime, spec(busybox_image, "sleep", "60", ports=(PortMapping(0, 80),))
    )
    taken = first.ports[0].host
    second = await docker_runtime.create(
        spec(busybox_image, "sleep", "60", ports=(PortMapping(taken, 80),))
    )
    with pytest.raises(Conflict, match="already"):
        await docker_runtime.start(second.id)


async def test_create_of_an_existing_name_returns_that_container(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    container = spec(busybox_image, "sleep", "60", labels={"case": f"idempotent-{RUN_ID}"})
    first = await docker_runtime.create(container)
    second = await docker_runtime.create(container)
    assert second.id == first.id and second.status == ContainerStatus.CREATED
    assert [s.id for s in await docker_runtime.list({"case": f"idempotent-{RUN_ID}"})] == [first.id]


async def test_created_container_reports_its_spec(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    container = spec(
        busybox_image, "true", env=("GREETING=hi",), ports=(PortMapping(0, 53, "udp"),)
    )
    state = await docker_runtime.create(container)
    assert (state.name, state.image, state.status) == (container.name, busybox_image, "created")
    assert (state.nano_cpus, state.memory_bytes) == (500_000_000, 64 * MIB)
    assert state.labels[TEST_LABEL] == RUN_ID
    assert state.ports == (PortMapping(0, 53, "udp"),)
    assert state.started_at is None and state.exit_code is None


async def test_list_returns_the_containers_with_all_labels(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    group = uuid.uuid4().hex
    roles = ["web", "web", "db"]
    made = [
        await docker_runtime.create(
            spec(busybox_image, "true", labels={"group": group, "role": role})
        )
        for role in roles
    ]
    webs = await docker_runtime.list({TEST_LABEL: RUN_ID, "group": group, "role": "web"})
    everyone = await docker_runtime.list({"group": group})
    assert {s.id for s in webs} == {made[0].id, made[1].id}
    assert {s.id for s in everyone} == {s.id for s in made}


async def test_list_tells_what_inspect_tells_of_running_and_dead_containers(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    group = uuid.uuid4().hex
    mark = {"group": group}
    web = await started(
        docker_runtime,
        spec(busybox_image, "sleep", "60", labels=mark, ports=(PortMapping(0, 80),)),
    )
    dead = await started(docker_runtime, spec(busybox_image, "sh", "-c", "exit 3", labels=mark))
    await exited(docker_runtime, dead.id)
    listed = {s.id: s for s in await docker_runtime.list(mark)}
    for ident in (web.id, dead.id):
        inspected = await docker_runtime.inspect(ident)
        assert inspected is not None
        got = listed[ident]
        assert (got.name, got.status, got.image, dict(got.labels), got.ports) == (
            inspected.name, inspected.status, inspected.image, dict(inspected.labels),
            inspected.ports,
        )  # fmt: skip
        assert (got.exit_code, got.oom_killed) == (inspected.exit_code, inspected.oom_killed)
    assert listed[dead.id].exit_code == 3 and listed[web.id].ports[0].host > 0


async def test_missing_image_is_not_found_and_a_malformed_one_invalid(
    docker_runtime: DockerRuntime,
) -> None:
    with pytest.raises(NotFound):
        await docker_runtime.create(spec(f"thecloud/missing-{RUN_ID}:1"))
    with pytest.raises(InvalidInput):
        await docker_runtime.create(spec("Not A Reference::"))


async def test_missing_container_is_none_removable_and_not_found_elsewhere(
    docker_runtime: DockerRuntime,
) -> None:
    name = f"tc-test-{RUN_ID}-never-created"
    assert await docker_runtime.inspect(name) is None
    await docker_runtime.remove(name)
    for operation in (
        docker_runtime.start(name),
        docker_runtime.logs(name),
        docker_runtime.stop(name),
    ):
        with pytest.raises(NotFound):
            await operation
    with pytest.raises(NotFound):
        await anext(docker_runtime.follow(name))


async def test_remove_removes_a_running_container(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "60"))
    await docker_runtime.remove(state.id)
    assert await docker_runtime.inspect(state.id) is None


# --- logs ----------------------------------------------------------------------------------


async def test_logs_split_streams_and_honour_tail_and_since(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    script = "echo out1; echo err1 >&2; sleep 0.4; echo out2; echo err2 >&2"
    state = await started(docker_runtime, spec(busybox_image, "sh", "-c", script))
    await exited(docker_runtime, state.id)
    lines = await docker_runtime.logs(state.id)
    by_stream = {s: [line.text for line in lines if line.stream == s] for s in ("stdout", "stderr")}
    assert by_stream == {"stdout": ["out1", "out2"], "stderr": ["err1", "err2"]}
    assert all(line.at.tzinfo is not None for line in lines)
    late = min(line.at for line in lines if line.text.endswith("2"))
    assert {line.text for line in await docker_runtime.logs(state.id, tail=2)} == {"out2", "err2"}
    assert {line.text for line in await docker_runtime.logs(state.id, since=late)} == {
        "out2",
        "err2",
    }


async def test_follow_yields_a_line_written_after_subscribing(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    ticker = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.1; done"
    state = await started(docker_runtime, spec(busybox_image, "sh", "-c", ticker))
    await until(lambda: docker_runtime.logs(state.id), "the first tick")
    subscribed_at = datetime.now(UTC)
    stream = docker_runtime.follow(state.id)
    line = await asyncio.wait_for(anext(stream), 5)
    assert line.text.startswith("tick ") and line.at > subscribed_at
    await stream.aclose()
    assert not [t for t in threading.enumerate() if t.name == "docker-logs-follow"]


async def test_follow_ends_when_the_container_exits(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(
        docker_runtime, spec(busybox_image, "sh", "-c", "sleep 0.3; echo bye; echo oops >&2")
    )

    async def everything() -> list[LogLine]:
        return [line async for line in docker_runtime.follow(state.id, since=datetime(2000, 1, 1))]

    lines = await asyncio.wait_for(everything(), 10)
    assert sorted((line.stream, line.text) for line in lines) == [
        ("stderr", "oops"),
        ("stdout", "bye"),
    ]


# --- lifecycle and limits -----------------------------------------------------------------


async def test_stop_start_and_restart(docker_runtime: DockerRuntime, busybox_image: str) -> None:
    first = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    await docker_runtime.stop(first.id, timeout=5)
    await docker_runtime.stop(first.id, timeout=5)  # a stopped one is left as it is
    stopped = await docker_runtime.inspect(first.id)
    assert stopped is not None and stopped.status == ContainerStatus.EXITED
    assert stopped.exit_code is not None and stopped.finished_at is not None
    again = await docker_runtime.start(first.id)
    again = await docker_runtime.start(first.id)  # a running one is left as it is
    restarted = await docker_runtime.restart(first.id, timeout=5)
    assert again.status == restarted.status == ContainerStatus.RUNNING
    assert first.started_at and again.started_at and restarted.started_at
    assert first.started_at < again.started_at < restarted.started_at


async def test_update_limits_reaches_the_cgroup(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    await docker_runtime.update_limits(state.id, 1_500_000_000, 96 * MIB)
    updated = await docker_runtime.inspect(state.id)
    assert updated is not None and (updated.nano_cpus, updated.memory_bytes) == (
        1_500_000_000,
        96 * MIB,
    )
    memory, quota, period = (await asyncio.to_thread(_cgroup_limits, state.id)).split()
    assert int(memory) == 96 * MIB
    assert int(quota) / int(period) == 1.5


def _cgroup_limits(ident: str) -> str:
    """'<memory bytes> <cpu quota> <cpu period>' as the container's cgroup (v1 or v2) has it."""
    v1 = (
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu/cpu.cfs_quota_us "
        "/sys/fs/cgroup/cpu/cpu.cfs_period_us"
    )
    v2 = "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max"
    return run_in_container(ident, f"if [ -f /sys/fs/cgroup/cpu.max ]; then {v2}; else {v1}; fi")


async def test_out_of_memory_kill_is_reported(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    hog = "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"
    state = await started(
        docker_runtime, spec(busybox_image, "sh", "-c", hog, memory_bytes=16 * MIB)
    )
    dead = await exited(docker_runtime, state.id)
    assert dead.oom_killed and dead.exit_code != 0


# --- an engine that is not there ----------------------------------------------------------


async def test_unreachable_engine_is_backend_unavailable() -> None:
    engine = DockerRuntime("unix:///nonexistent.sock")
    for operation in (engine.ping(), engine.inspect("x"), engine.list({}), engine.image("x")):
        with pytest.raises(BackendUnavailable, match="unreachable"):
            await operation
    with pytest.raises(BackendUnavailable, match="unreachable"):
        await anext(engine.follow("x"))


async def test_runtime_connects_once_the_engine_appears(tmp_path: Path) -> None:
    path = tmp_path / "engine.sock"
    engine = DockerRuntime(f"unix://{path}")
    with pytest.raises(BackendUnavailable):
        await engine.ping()
    relay = Relay()
    server = await asyncio.start_unix_server(relay.handle, path=str(path))
    try:
        await engine.ping()
        assert await engine.inspect(f"tc-test-{RUN_ID}-absent") is None
    finally:
        engine.close()
        server.close()
        await server.wait_closed()
        await relay.finish()


ENGINE_SOCKET = str(docker.utils.parse_host(os.environ.get("DOCKER_HOST"))).removeprefix(
    "http+unix://"
)


class Relay:
    """Forwards every connection to the real engine's socket: an engine that appears late."""

    def __init__(self) -> None:
        self.connections: set[asyncio.Task[object]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        up_reader, up_writer = await asyncio.open_unix_connection(ENGINE_SOCKET)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def finish(self) -> None:
        if self.connections:
            await asyncio.wait(self.connections, timeout=5)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
