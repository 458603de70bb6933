"""Instances on fakes: launch and requests recorded by the API, driven by the compute worker."""

from __future__ import annotations

import asyncio

import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from thecloud.adapters.memory.runtime import MemoryRuntime
from thecloud.domain.common import ListQuery
from thecloud.domain.compute import InstanceStatus, PortMapping
from thecloud.domain.errors import (
    BackendUnavailable,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaExceeded,
)
from thecloud.ports.compute import LABEL_INSTANCE, LABEL_MANAGED, ContainerSpec
from thecloud.services.compute_worker import spec_of
from thecloud.services.instances import LaunchRequest

S = InstanceStatus


@pytest.fixture
async def built(h: Harness) -> MemoryRuntime:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    runtime = h.adapters.runtime
    assert isinstance(runtime, MemoryRuntime)
    return runtime


def req(name: str = "web", **over: object) -> LaunchRequest:
    fields: dict[str, object] = {"name": name, "image": "busybox", "instance_type": "basic-1"}
    return LaunchRequest(**{**fields, **over})  # type: ignore[arg-type]


async def launched(h: Harness, owner: Account, name: str = "web", **over: object) -> str:
    instance = await h.cloud.instances.launch(owner.principal, req(name, **over))
    await h.cloud.worker.step()
    return instance.id


async def status(h: Harness, owner: Account, ident: str) -> InstanceStatus:
    return (await h.cloud.instances.get(owner.principal, ident)).status


async def test_launch_is_recorded_then_driven_to_running(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    first = await h.cloud.instances.launch(
        owner.principal, req(ports="8080:80,0:22", env=("A=1",), cmd=("sleep", "60"))
    )
    assert first.status == S.STARTING and first.image_ref == BUSYBOX_REF
    assert await h.cloud.worker.step() == 1
    running = await h.cloud.instances.get(owner.principal, "web")
    assert running.status == S.RUNNING and running.container_id
    assert running.host_ports[0] == PortMapping(8080, 80) and running.host_ports[1].host > 0
    spec = built.containers[running.container_id].spec
    assert (spec.nano_cpus, spec.memory_bytes) == (1_000_000_000, 512 * 1024 * 1024)
    assert spec.labels[LABEL_INSTANCE] == first.id and spec.command == ("sleep", "60")
    types = [e.type for e in h.bus.published if e.resource_id == first.id]
    assert types == ["instance.launch", "instance.running"]


@pytest.mark.parametrize(
    ("over", "error", "match"),
    [
        ({"image": "no-such-image"}, InvalidInput, "unknown image"),
        ({"image": "python:3.11"}, Conflict, "images build python:3.11"),
        ({"instance_type": "huge-9"}, InvalidInput, "basic-1, basic-2"),
        ({"ports": "80:abc"}, InvalidInput, "HOST:CONTAINER"),
        ({"ports": "8080:80,8080:81"}, InvalidInput, "same host port"),
        ({"env": ("not an assignment",)}, InvalidInput, "NAME=value"),
        ({"labels": {"thecloud.instance": "x"}}, InvalidInput, "thecloud."),
        ({"name": "-bad name"}, InvalidInput, "instance name"),
    ],
)
async def test_bad_launches_say_what_to_fix(
    h: Harness,
    owner: Account,
    built: MemoryRuntime,
    over: dict[str, object],
    error: type[Exception],
    match: str,
) -> None:
    with pytest.raises(error, match=match):
        await h.cloud.instances.launch(owner.principal, req(**over))
    assert not built.containers


async def test_names_are_unique_among_live_instances_only(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    with pytest.raises(Conflict, match="already exists"):
        await h.cloud.instances.launch(owner.principal, req())
    await h.cloud.instances.request(owner.principal, ident, "terminate")
    await h.cloud.worker.step()
    assert await status(h, owner, ident) == S.DELETED and not built.containers
    again = await launched(h, owner)
    assert again != ident and await status(h, owner, again) == S.RUNNING


async def test_stop_start_reboot_and_terminate(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    for what, between, after in (
        ("stop", S.STOPPING, S.STOPPED),
        ("start", S.STARTING, S.RUNNING),
        ("reboot", S.REBOOTING, S.RUNNING),
        ("terminate", S.DELETING, S.DELETED),
    ):
        assert (await h.cloud.instances.request(owner.principal, ident, what)).status == between
        await h.cloud.worker.step()
        assert await status(h, owner, ident) == after, what
    deleted = await h.cloud.instances.get(owner.principal, ident)
    assert deleted.deleted_at is not None and not built.containers


async def test_requests_that_make_no_sense_now_are_conflicts(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    await h.cloud.instances.request(owner.principal, ident, "stop")
    with pytest.raises(Conflict, match="cannot reboot"):
        await h.cloud.instances.request(owner.principal, ident, "reboot")
    again = await h.cloud.instances.request(owner.principal, ident, "stop")
    assert again.status == S.STOPPING  # already on its way: answered as is


async def test_viewer_cannot_launch_and_other_tenants_see_nothing(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    viewer = await h.member(owner, "viewer")
    with pytest.raises(Forbidden):
        await h.cloud.instances.launch(viewer, req("other"))
    with pytest.raises(Forbidden):
        await h.cloud.instances.request(viewer, ident, "stop")
    assert (await h.cloud.instances.get(viewer, ident)).id == ident
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.instances.get(stranger.principal, ident)
    with pytest.raises(NotFound):
        await h.cloud.instances.request(stranger.principal, ident, "terminate")
    assert (await h.cloud.instances.list(stranger.principal, ListQuery())).total == 0


async def test_quota_is_reserved_at_launch_and_released_when_deleted(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    await h.cloud.quotas.set_limits(owner.principal, {"instances": 1})
    ident = await launched(h, owner, "one")
    with pytest.raises(QuotaExceeded, match="instances"):
        await h.cloud.instances.launch(owner.principal, req("two"))
    await h.cloud.instances.request(owner.principal, ident, "terminate")
    await h.cloud.worker.step()
    assert await status(h, owner, await launched(h, owner, "two")) == S.RUNNING


async def test_an_unreachable_engine_leaves_work_pending_until_it_returns(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    built.down = True
    instance = await h.cloud.instances.launch(owner.principal, req())
    await h.cloud.worker.step()
    assert await status(h, owner, instance.id) == S.STARTING
    with pytest.raises(BackendUnavailable):
        await h.cloud.worker.heal()
    built.down = False
    await h.cloud.worker.step()
    assert await status(h, owner, instance.id) == S.RUNNING


async def test_a_failed_start_is_an_error_with_its_reason_then_retried_with_backoff(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    built.fail_start[BUSYBOX_REF] = BackendUnavailable("port is already allocated")
    ident = await launched(h, owner)
    failed = await h.cloud.instances.get(owner.principal, ident)
    assert failed.status == S.ERROR and "already allocated" in failed.status_reason
    await h.cloud.worker.heal()
    assert await status(h, owner, ident) == S.ERROR  # not before the backoff has passed
    del built.fail_start[BUSYBOX_REF]
    h.clock.advance(2)
    await h.cloud.worker.heal()
    await h.cloud.worker.step()
    healed = await h.cloud.instances.get(owner.principal, ident)
    assert healed.status == S.RUNNING and healed.restart_count == 1


async def test_a_dead_container_is_restarted_by_the_healer(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    running = await h.cloud.instances.get(owner.principal, ident)
    assert running.container_id
    built.die(running.container_id, exit_code=137, oom=True)
    await h.cloud.worker.heal()
    dead = await h.cloud.instances.get(owner.principal, ident)
    assert dead.status == S.ERROR and "memory limit" in dead.status_reason
    h.clock.advance(1)
    await h.cloud.worker.heal()
    await h.cloud.worker.step()
    assert await status(h, owner, ident) == S.RUNNING
    assert len(built.containers) == 1  # the same container, started again


async def test_reconciling_adopts_a_crash_leftover_and_removes_orphans_of_this_platform(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    instance = await h.cloud.instances.launch(owner.principal, req())
    installation = h.cloud.settings.installation
    await built.create(spec_of(instance, installation))  # the crash came after create
    orphan = await built.create(
        ContainerSpec("leftover", BUSYBOX_REF, {LABEL_MANAGED: installation}, 1, 1)
    )
    foreign = await built.create(ContainerSpec("theirs", BUSYBOX_REF, {LABEL_MANAGED: "x"}, 1, 1))
    await h.cloud.worker.step()
    await h.cloud.worker.heal()
    assert await status(h, owner, instance.id) == S.RUNNING
    names = {c.state.name for c in built.containers.values()}
    assert names == {f"thecloud-{instance.id}", "theirs"}
    assert orphan.id not in built.containers and foreign.id in built.containers


async def test_logs_come_from_the_container(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    running = await h.cloud.instances.get(owner.principal, ident)
    assert running.container_id
    built.say(running.container_id, "hello")
    built.say(running.container_id, "oops", "stderr")
    lines = await h.cloud.instances.logs(owner.principal, "web", 2, None)
    assert [(x.stream, x.text) for x in lines] == [("stdout", "hello"), ("stderr", "oops")]


async def test_images_list_the_catalog_with_what_each_contains(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    page = await h.cloud.images.list(owner.principal, ListQuery())
    by_name = {i.name: i for i in page.items}
    assert by_name["busybox"].status == "AVAILABLE" and by_name["busybox"].version == "1.35.0"
    assert by_name["redis:7"].status == "MISSING"
    alias = await h.cloud.images.alias("alpine", "busybox")
    assert (alias.alias_of, alias.reference) == ("busybox", BUSYBOX_REF)
    ident = await launched(h, owner, image="alpine")
    assert (await h.cloud.instances.get(owner.principal, ident)).image_ref == BUSYBOX_REF


async def test_concurrent_requests_on_one_instance_end_consistent(
    h: Harness, owner: Account, built: MemoryRuntime
) -> None:
    ident = await launched(h, owner)
    calls = [
        h.cloud.instances.request(owner.principal, ident, w) for w in ("stop", "terminate") * 4
    ]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert all(isinstance(e, Conflict) for e in errors), errors
    for _ in range(3):
        await h.cloud.worker.step()
    final = await h.cloud.instances.get(owner.principal, ident)
    assert final.status == S.DELETED and not built.containers  # terminate wins over stop
    assert len(errors) == 3  # the stops that came after the terminate
    used = {q.resource: q.used for q in await h.cloud.quotas.get(owner.principal)}
    assert used["instances"] == 0  # released once, not once per request
