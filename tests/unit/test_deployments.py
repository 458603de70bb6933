"""Container deployments on fakes: the worker keeps `replicas` instances running."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from thecloud.adapters.memory.compute import MemoryInstances
from thecloud.adapters.memory.runtime import MemoryRuntime
from thecloud.domain.common import ListQuery
from thecloud.domain.compute import Instance
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from thecloud.services.deployments import DeploymentRequest


@pytest.fixture
async def runtime(h: Harness) -> MemoryRuntime:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    assert isinstance(h.adapters.runtime, MemoryRuntime)
    return h.adapters.runtime


def req(replicas: int = 3, **over: object) -> DeploymentRequest:
    fields: dict[str, object] = {
        "name": "web",
        "image": "busybox",
        "replicas": replicas,
        "ports": "0:80",
        "instance_type": "basic-1",
        "cmd": ("sleep", "600"),
    }
    return DeploymentRequest(**{**fields, **over})  # type: ignore[arg-type]


async def settle(h: Harness) -> None:
    for _ in range(3):
        await h.cloud.worker.step()


async def running(h: Harness, owner: Account) -> int:
    _, replicas = await h.cloud.deployments.get(owner.principal, "web")
    return sum(1 for i in replicas if i.status == "RUNNING")


async def test_replicas_are_launched_scaled_and_replaced(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    d = await h.cloud.deployments.create(owner.principal, req())
    await settle(h)
    assert await running(h, owner) == 3 and len(runtime.containers) == 3
    _, replicas = await h.cloud.deployments.get(owner.principal, d.id)
    assert all(i.name.startswith("web-") and i.deployment_id == d.id for i in replicas)
    assert all(i.host_ports[0].host > 0 for i in replicas)
    await h.cloud.instances.request(owner.principal, replicas[0].id, "terminate")
    await settle(h)
    assert await running(h, owner) == 3  # a replacement came
    await h.cloud.deployments.scale(owner.principal, "web", 1)
    await settle(h)
    assert await running(h, owner) == 1 and len(runtime.containers) == 1
    used = {q.resource: q.used for q in await h.cloud.quotas.get(owner.principal)}
    assert used["instances"] == 1


async def test_deleting_terminates_every_replica_then_the_deployment(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    await h.cloud.deployments.create(owner.principal, req(2))
    await settle(h)
    assert (await h.cloud.deployments.delete(owner.principal, "web")).status == "DELETING"
    with pytest.raises(Conflict, match="being deleted"):
        await h.cloud.deployments.scale(owner.principal, "web", 5)
    await settle(h)
    assert not runtime.containers
    with pytest.raises(NotFound):
        await h.cloud.deployments.get(owner.principal, "web")
    types = {e.type for e in h.bus.published if e.resource_type == "deployment"}
    assert {"container.replica_launched", "container.deleted"} <= types


async def test_a_quota_that_does_not_fit_stalls_with_a_reason(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    await h.cloud.quotas.set_limits(owner.principal, {"instances": 2})
    await h.cloud.deployments.create(owner.principal, req(3))
    await settle(h)
    d, replicas = await h.cloud.deployments.get(owner.principal, "web")
    assert len(replicas) == 2 and "quota exceeded" in d.status_reason


async def test_bad_deployments_and_roles(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    with pytest.raises(InvalidInput, match="replicas"):
        await h.cloud.deployments.create(owner.principal, req(500))
    with pytest.raises(InvalidInput, match="unknown image"):
        await h.cloud.deployments.create(owner.principal, req(image="nope"))
    viewer = await h.member(owner, "viewer")
    with pytest.raises(Forbidden):
        await h.cloud.deployments.create(viewer, req())
    await h.cloud.deployments.create(owner.principal, req(1))
    assert (await h.cloud.deployments.list(viewer, ListQuery())).total == 1
    with pytest.raises(Forbidden):
        await h.cloud.deployments.scale(viewer, "web", 4)


async def test_the_stall_reason_is_cleared_once_the_deployment_converges(
    h: Harness, owner: Account, runtime: MemoryRuntime
) -> None:
    await h.cloud.quotas.set_limits(owner.principal, {"instances": 2})
    await h.cloud.deployments.create(owner.principal, req(3))
    await settle(h)
    stalled, _ = await h.cloud.deployments.get(owner.principal, "web")
    assert "quota exceeded" in stalled.status_reason
    await h.cloud.deployments.scale(owner.principal, "web", 2)
    await settle(h)
    d, replicas = await h.cloud.deployments.get(owner.principal, "web")
    assert len(replicas) == 2 and d.status_reason == ""
    types = [e.type for e in h.bus.published if e.resource_id == d.id]
    assert types.count("container.stalled") == 1 and types.count("container.converged") == 1
    await settle(h)  # nothing more to say
    assert [e.type for e in h.bus.published if e.resource_id == d.id] == types


async def test_a_pass_reads_every_deployments_replicas_at_once(
    h: Harness, owner: Account, runtime: MemoryRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b", "c"):
        await h.cloud.deployments.create(owner.principal, req(1, name=name))
    await settle(h)
    reads: list[str] = []
    find, live = MemoryInstances.find, MemoryInstances.live

    async def counted_find(self: MemoryInstances, **filters: object) -> list[Instance]:
        reads.append("find")
        return await find(self, **filters)

    async def counted_live(self: MemoryInstances, statuses: Sequence[str] = ()) -> list[Instance]:
        reads.append("live")
        return await live(self, statuses)

    monkeypatch.setattr(MemoryInstances, "find", counted_find)
    monkeypatch.setattr(MemoryInstances, "live", counted_live)
    assert await h.cloud.deployments.reconcile() == 0
    assert reads == ["live"]
