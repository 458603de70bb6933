"""DockerRuntime's operations on running containers against the real engine: pause, stats,
exec, terminal sessions and an enforced memory limit.

Every container carries `thecloud.test=<run id>`; the `docker_runtime` fixture removes them after
each test, whatever happened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.docker_support import MIB, engine_api, exited, spec, started, until
from thecloud.adapters.docker import DockerRuntime
from thecloud.adapters.docker.session import DockerSession
from thecloud.domain.errors import BackendUnavailable, Conflict
from thecloud.ports.compute import ContainerStats, ContainerStatus

BUSY = ("sh", "-c", "while :; do :; done")
COUNTER = ("sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /n; sleep 0.1; done")


async def count(runtime: DockerRuntime, ident: str) -> int:
    """The counter the COUNTER container writes (0 before its first write)."""
    result = await runtime.exec(ident, ("cat", "/n"))
    return int(result.stdout.strip() or 0)


async def status_for(runtime: DockerRuntime, ident: str, seconds: float) -> str:
    """The container's status after `seconds`; fails if it changes in between."""
    first = await runtime.inspect(ident)
    assert first is not None
    deadline = time.monotonic() + seconds

    async def check() -> str | None:
        state = await runtime.inspect(ident)
        assert state is not None and state.status == first.status
        return state.status if time.monotonic() >= deadline else None

    return await until(check, f"{seconds} s to pass", seconds + 5)


# --- pause ---------------------------------------------------------------------------------


async def test_pause_freezes_the_processes_and_unpause_resumes_them(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, *COUNTER))
    before = await until(lambda: count(docker_runtime, state.id), "the counter to start")
    await docker_runtime.pause(state.id)
    assert await status_for(docker_runtime, state.id, 1.5) == ContainerStatus.PAUSED
    await docker_runtime.unpause(state.id)
    after = await count(docker_runtime, state.id)
    assert after - before < 5  # 1.5 s of running would have counted about 15

    async def moved_on() -> bool:
        return await count(docker_runtime, state.id) > after + 3

    await until(moved_on, "the counter to run again")
    running = await docker_runtime.inspect(state.id)
    assert running is not None and running.status == ContainerStatus.RUNNING


async def test_pause_of_a_stopped_container_is_a_conflict(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "true"))
    await exited(docker_runtime, state.id)
    with pytest.raises(Conflict, match="it is exited, not running"):
        await docker_runtime.pause(state.id)


async def test_pause_twice_is_a_conflict_and_unpause_of_a_running_one_is_fine(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    await docker_runtime.unpause(state.id)
    await docker_runtime.pause(state.id)
    with pytest.raises(Conflict, match="it is paused, not running"):
        await docker_runtime.pause(state.id)
    await docker_runtime.unpause(state.id)
    await docker_runtime.unpause(state.id)
    running = await docker_runtime.inspect(state.id)
    assert running is not None and running.status == ContainerStatus.RUNNING


# --- stats ---------------------------------------------------------------------------------


async def test_stats_of_an_idle_container(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    idle = spec(busybox_image, "sleep", "600", memory_bytes=96 * MIB)
    state = await started(docker_runtime, idle)
    sample = await docker_runtime.stats(state.id)
    assert sample.cpu_percent < 20
    assert 0 < sample.memory_bytes < 96 * MIB and sample.memory_limit_bytes == 96 * MIB
    assert sample.pids >= 1 and sample.network_rx_bytes >= 0 and sample.block_read_bytes >= 0
    assert sample.at.tzinfo is not None and sample.at.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - sample.at) < timedelta(seconds=30)


async def busy_sample(runtime: DockerRuntime, ident: str, above: float) -> ContainerStats:
    """The first sample with more than `above` percent CPU (the loop needs a moment)."""

    async def check() -> ContainerStats | None:
        sample = await runtime.stats(ident)
        return sample if sample.cpu_percent > above else None

    return await until(check, f"more than {above}% CPU", 20)


async def test_stats_of_a_container_burning_a_cpu_show_about_one_cpu(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    unlimited = dataclasses.replace(spec(busybox_image, *BUSY), nano_cpus=0)
    state = await started(docker_runtime, unlimited)
    sample = await busy_sample(docker_runtime, state.id, 50)
    assert sample.cpu_percent < 130


async def test_stats_of_a_busy_container_limited_to_half_a_cpu_show_about_half(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, *BUSY))
    assert state.nano_cpus == 500_000_000
    first = await busy_sample(docker_runtime, state.id, 25)
    second = await docker_runtime.stats(state.id)
    assert first.cpu_percent < 75 and 25 < second.cpu_percent < 75


async def test_stats_of_a_stopped_container_are_zero(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await docker_runtime.create(spec(busybox_image, "sleep", "600"))
    sample = await docker_runtime.stats(state.id)
    assert (sample.cpu_percent, sample.memory_bytes, sample.pids) == (0.0, 0, 0)


# --- exec ----------------------------------------------------------------------------------


async def test_exec_separates_stdout_stderr_and_the_exit_code(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    script = "echo out; echo err >&2; exit 3"
    result = await docker_runtime.exec(state.id, ("sh", "-c", script))
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")


async def test_exec_returns_long_output_whole(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    result = await docker_runtime.exec(state.id, ("seq", "1", "50000"))
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [str(n) for n in range(1, 50001)]


async def test_exec_past_its_timeout_is_backend_unavailable(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    began = time.monotonic()
    with pytest.raises(BackendUnavailable, match="did not finish within 1 s"):
        await docker_runtime.exec(state.id, ("sleep", "30"), timeout=1)
    assert time.monotonic() - began < 2.5


async def test_exec_in_a_stopped_or_paused_container_is_a_conflict(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    stopped = await docker_runtime.create(spec(busybox_image, "sleep", "600"))
    with pytest.raises(Conflict, match="instance is not running"):
        await docker_runtime.exec(stopped.id, ("true",))
    paused = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    await docker_runtime.pause(paused.id)
    with pytest.raises(Conflict, match="instance is paused"):
        await docker_runtime.exec(paused.id, ("true",))


# --- terminal sessions ---------------------------------------------------------------------


async def read_until(session: DockerSession, text: str, seconds: float = 10.0) -> str:
    """The terminal's output up to and including `text`; fails at the deadline or the end."""
    seen, deadline = b"", time.monotonic() + seconds
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no {text!r} from the terminal within {seconds} s: {seen!r}")
        chunk = await asyncio.wait_for(session.receive(), left)
        if not chunk:
            pytest.fail(f"the terminal ended before {text!r}: {seen!r}")
        seen += chunk
    return seen.decode("utf-8", "replace")


def exec_running(exec_id: str) -> bool:
    api = engine_api()
    try:
        return bool(api.exec_inspect(exec_id)["Running"])
    finally:
        api.close()


async def test_shell_runs_commands_resizes_and_close_ends_it(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    session = await docker_runtime.shell(state.id, rows=40, cols=120)
    try:
        await session.send(b"echo $((6*7))\n")
        assert "\r\n42\r\n" in await read_until(session, "\r\n42\r\n")
        await session.send(b"stty size\n")
        await read_until(session, "40 120")
        await session.resize(30, 100)
        await session.send(b"stty size\n")
        await read_until(session, "30 100")
    finally:
        await session.close()
    assert await session.receive() == b""

    async def ended() -> bool:
        return not await asyncio.to_thread(exec_running, session.exec_id)

    await until(ended, "the shell to get its hangup")
    gc.collect()  # an unclosed socket would warn here, and warnings fail the test


async def test_shell_hangup_ends_what_the_shell_started(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    session = await docker_runtime.shell(state.id)
    try:
        await session.send(b"sleep 4242\n")
        await read_until(session, "sleep 4242")
    finally:
        await session.close()

    async def gone() -> bool:
        listing = await docker_runtime.exec(state.id, ("ps", "-o", "args"))
        return "sleep 4242" not in listing.stdout

    await until(gone, "the shell's child to get its hangup")


async def test_shell_receive_is_empty_once_the_process_exits(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    session = await docker_runtime.shell(state.id, ("sh", "-c", "echo bye"))
    try:
        await read_until(session, "bye")

        async def at_end() -> bool:
            return await asyncio.wait_for(session.receive(), 10) == b""

        await until(at_end, "the end of the terminal's output")
    finally:
        await session.close()


async def test_shell_close_ends_a_pending_receive_and_refuses_sends(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await started(docker_runtime, spec(busybox_image, "sleep", "600"))
    session = await docker_runtime.shell(state.id, ("sh", "-c", "sleep 600"))
    try:
        pending = asyncio.create_task(session.receive())
        await asyncio.sleep(0)  # let it start waiting on the socket
        assert not pending.done()
    finally:
        await session.close()
    assert await asyncio.wait_for(pending, 10) == b""
    with pytest.raises(Conflict, match="ended"):
        await session.send(b"x")


async def test_shell_in_a_stopped_container_is_a_conflict(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    state = await docker_runtime.create(spec(busybox_image, "sleep", "600"))
    with pytest.raises(Conflict, match="instance is not running"):
        await docker_runtime.shell(state.id)


# --- limits --------------------------------------------------------------------------------


async def test_memory_limit_is_enforced_by_the_kernel(
    docker_runtime: DockerRuntime, busybox_image: str
) -> None:
    hog = spec(busybox_image, "sh", "-c", "x=a; while :; do x=$x$x; done", memory_bytes=64 * MIB)
    state = await started(docker_runtime, hog)
    dead = await exited(docker_runtime, state.id)
    assert dead.oom_killed or dead.exit_code == 137
