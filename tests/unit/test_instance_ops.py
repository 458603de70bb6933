"""Instance operations on fakes: pause/resume, resize, metadata and tags, exec, stats, console."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from unittest.mock import AsyncMock

import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from tests.unit.test_instances import launched, req
from thecloud.adapters.memory.compute import MemoryInstances
from thecloud.adapters.memory.runtime import MemoryRuntime
from thecloud.domain.common import ListQuery
from thecloud.domain.compute import InstanceStatus
from thecloud.domain.errors import (
    BackendUnavailable,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaExceeded,
)
from thecloud.services.instance_ops import InstanceOps

S = InstanceStatus


@pytest.fixture
async def runtime(h: Harness) -> MemoryRuntime:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    assert isinstance(h.adapters.runtime, MemoryRuntime)
    return h.adapters.runtime


def container(runtime: MemoryRuntime) -> str:
    (only,) = runtime.containers
    return only


async def test_pause_and_resume_freeze_the_container(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    paused = await h.cloud.instance_ops.pause(owner.principal, ident)
    assert paused.status == S.PAUSED
    assert runtime.containers[container(runtime)].state.status == "paused"
    with pytest.raises(Conflict, match="must be RUNNING"):
        await h.cloud.instance_ops.pause(owner.principal, ident)
    await h.cloud.worker.heal()  # a paused instance is left alone by the healer
    assert (await h.cloud.instances.get(owner.principal, ident)).status == S.PAUSED
    assert (await h.cloud.instance_ops.resume(owner.principal, ident)).status == S.RUNNING
    await h.cloud.instances.request(owner.principal, ident, "stop")
    await h.cloud.worker.step()
    assert (await h.cloud.instances.get(owner.principal, ident)).status == S.STOPPED


async def test_a_paused_instance_can_be_stopped(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    await h.cloud.instance_ops.pause(owner.principal, ident)
    await h.cloud.instances.request(owner.principal, ident, "stop")
    await h.cloud.worker.step()
    assert (await h.cloud.instances.get(owner.principal, ident)).status == S.STOPPED
    assert runtime.containers[container(runtime)].state.status == "exited"


async def test_resize_applies_the_new_limits_and_moves_the_quota(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    ident = await launched(h, owner)  # basic-1: 1 vCPU, 512 MiB
    bigger = await h.cloud.instance_ops.resize(owner.principal, ident, "standard-2")
    assert (bigger.instance_type, bigger.vcpus, bigger.memory_mb) == ("standard-2", 2, 4096)
    state = runtime.containers[container(runtime)].state
    assert (state.nano_cpus, state.memory_bytes) == (2 * 10**9, 4096 * 1024 * 1024)
    used = {q.resource: q.used for q in await h.cloud.quotas.get(owner.principal)}
    assert (used["vcpus"], used["memory_mb"]) == (2, 4096)
    await h.cloud.instance_ops.resize(owner.principal, ident, "basic-1")
    used = {q.resource: q.used for q in await h.cloud.quotas.get(owner.principal)}
    assert (used["vcpus"], used["memory_mb"]) == (1, 512)
    await h.cloud.quotas.set_limits(owner.principal, {"vcpus": 1})
    with pytest.raises(QuotaExceeded, match="vcpus"):
        await h.cloud.instance_ops.resize(owner.principal, ident, "standard-1")
    with pytest.raises(InvalidInput, match="unknown instance type"):
        await h.cloud.instance_ops.resize(owner.principal, ident, "tiny")


async def test_metadata_tags_and_label_filters(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    web = await launched(h, owner, "web", labels={"team": "a"})
    await launched(h, owner, "db", labels={"team": "b"})
    ops = h.cloud.instance_ops
    assert (await ops.set_metadata(owner.principal, web, {"owner": "ann"})).metadata == {
        "owner": "ann"
    }
    tagged = await ops.set_tags(owner.principal, "web", {"tier": "front"})
    assert tagged.labels == {"team": "a", "tier": "front"}
    assert (await ops.remove_tag(owner.principal, web, "team")).labels == {"tier": "front"}
    with pytest.raises(NotFound, match="tag team"):
        await ops.remove_tag(owner.principal, web, "team")
    with pytest.raises(InvalidInput, match="thecloud."):
        await ops.set_tags(owner.principal, web, {"thecloud.instance": "x"})
    found = await h.cloud.instances.list(owner.principal, ListQuery(labels={"team": "b"}))
    assert [i.name for i in found.items] == ["db"] and found.total == 1


async def test_exec_stats_and_console_need_a_running_instance(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    ops = h.cloud.instance_ops
    done = await ops.exec(owner.principal, ident, ("echo", "hi"), 5)
    assert (done.exit_code, done.stdout) == (0, "hi\n")
    with pytest.raises(InvalidInput, match="command"):
        await ops.exec(owner.principal, ident, (), 5)
    with pytest.raises(InvalidInput, match="timeout"):
        await ops.exec(owner.principal, ident, ("echo",), 0)
    assert (await ops.stats(owner.principal, ident)).memory_limit_bytes == 512 * 1024 * 1024
    session = await ops.console(owner.principal, ident, 40, 120)
    await session.send(b"ls\n")
    assert await session.receive() == b"ls\n"
    await session.close()
    await h.cloud.instances.request(owner.principal, ident, "stop")
    await h.cloud.worker.step()
    with pytest.raises(Conflict, match="STOPPED"):
        await ops.exec(owner.principal, ident, ("echo", "hi"), 5)
    types = [e.type for e in h.bus.published if e.resource_id == ident]
    assert "instance.exec" in types and "instance.console" in types


async def test_viewers_may_read_stats_but_not_change_or_enter(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    viewer = await h.member(owner, "viewer")
    assert await h.cloud.instance_ops.stats(viewer, ident)
    for call in (
        h.cloud.instance_ops.pause(viewer, ident),
        h.cloud.instance_ops.resize(viewer, ident, "basic-2"),
        h.cloud.instance_ops.exec(viewer, ident, ("echo",), 5),
        h.cloud.instance_ops.console(viewer, ident, 24, 80),
        h.cloud.instance_ops.set_tags(viewer, ident, {"a": "b"}),
    ):
        with pytest.raises(Forbidden):
            await call


async def test_the_worker_keeps_a_stats_history_within_its_retention(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    assert await h.cloud.worker.sample() == 1
    h.clock.advance(hours=23)
    assert await h.cloud.worker.sample() == 1
    history = await h.cloud.instance_ops.metrics(owner.principal, ident, ListQuery())
    assert history.total == 2 and history.items[0].memory_limit_bytes == 512 * 1024 * 1024
    h.clock.advance(hours=2)  # the first sample is now 25 h old
    await h.cloud.worker.sample()
    assert (await h.cloud.instance_ops.metrics(owner.principal, ident, ListQuery())).total == 2
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.instance_ops.metrics(stranger.principal, ident, ListQuery())


def racing(
    monkeypatch: pytest.MonkeyPatch, ops: InstanceOps, other: Callable[[], Awaitable[object]]
) -> None:
    """Run `other` (another writer) right after the operation's first read."""
    real, raced = ops._uow, []

    @asynccontextmanager
    async def uow(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with real(*args, **kwargs) as opened:
            yield opened
        if kwargs.get("read_only") and not raced:
            raced.append(True)
            await other()

    monkeypatch.setattr(ops, "_uow", uow)


@pytest.mark.parametrize("remove", [False, True])
async def test_tags_changed_meanwhile_are_a_conflict_not_a_lost_update(
    h: Harness, owner: Account, runtime: MemoryRuntime, monkeypatch: pytest.MonkeyPatch,
    remove: bool,
) -> None:  # fmt: skip
    ident = await launched(h, owner, labels={"team": "a"})
    ops = h.cloud.instance_ops
    racing(monkeypatch, ops, lambda: ops.set_tags(owner.principal, ident, {"other": "x"}))
    with pytest.raises(Conflict, match="changed meanwhile"):
        if remove:
            await ops.remove_tag(owner.principal, ident, "team")
        else:
            await ops.set_tags(owner.principal, ident, {"tier": "web"})
    found = await h.cloud.instances.get(owner.principal, ident)
    assert found.labels == {"team": "a", "other": "x"}


async def test_a_resize_that_loses_the_race_leaves_the_container_alone(
    h: Harness, owner: Account, runtime: MemoryRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ident = await launched(h, owner)  # basic-1
    before = runtime.containers[container(runtime)].state
    monkeypatch.setattr(MemoryInstances, "swap", AsyncMock(return_value=False))
    with pytest.raises(Conflict, match="changed meanwhile"):
        await h.cloud.instance_ops.resize(owner.principal, ident, "standard-2")
    after = runtime.containers[container(runtime)].state
    assert (after.nano_cpus, after.memory_bytes) == (before.nano_cpus, before.memory_bytes)
    assert not [call for call, _ in runtime.calls if call == "update"]


async def test_a_resize_the_engine_refuses_changes_nothing(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    runtime.down = True
    with pytest.raises(BackendUnavailable):
        await h.cloud.instance_ops.resize(owner.principal, ident, "standard-2")
    runtime.down = False
    found = await h.cloud.instances.get(owner.principal, ident)
    assert (found.instance_type, found.vcpus) == ("basic-1", 1)
    used = {q.resource: q.used for q in await h.cloud.quotas.get(owner.principal)}
    assert (used["vcpus"], used["memory_mb"]) == (1, 512)


async def test_follow_needs_a_container_and_sends_new_lines(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    starting = await h.cloud.instances.launch(owner.principal, req("later"))
    with pytest.raises(Conflict, match="STARTING"):
        await h.cloud.instances.follow(owner.principal, starting.id, None)
    ident = await launched(h, owner)
    found = await h.cloud.instances.get(owner.principal, ident)
    lines = await h.cloud.instances.follow(owner.principal, ident, None)
    first = asyncio.ensure_future(anext(lines))
    await asyncio.sleep(0.05)
    runtime.say(found.container_id or "", "news")
    assert (await asyncio.wait_for(first, 2)).text == "news"
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.instances.follow(stranger.principal, ident, None)
