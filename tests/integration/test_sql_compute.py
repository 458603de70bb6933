"""SQL repositories of compute (images, instances) on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.domain.common import ListQuery, new_id
from thecloud.domain.compute import Image, ImageStatus, Instance, InstanceStatus, PortMapping


def instance(tenant_id: str, **over: object) -> Instance:
    i = Instance(
        id=new_id(),
        tenant_id=tenant_id,
        name=b.uniq("vm"),
        image="busybox",
        image_ref="thecloud/busybox:1.35.0",
        instance_type="basic-1",
        vcpus=1,
        memory_mb=512,
        status=InstanceStatus.STARTING,
        ports=(PortMapping(8080, 80), PortMapping(0, 53, "udp")),
        env=("A=1", "B=two words"),
        cmd=("sleep", "60"),
        labels={"team": "web"},
        metadata={"owner": "ann"},
        created_by=new_id(),
        created_at=b.BASE,
        updated_at=b.BASE,
    )
    return replace(i, **over)  # type: ignore[arg-type]


def image(tenant_id: str | None, name: str, **over: object) -> Image:
    i = Image(
        new_id(),
        tenant_id,
        name,
        "ref:1",
        "busybox",
        "1.35.0",
        ImageStatus.AVAILABLE,
        "",
        None,
        b.BASE,
        b.BASE,
    )
    return replace(i, **over)  # type: ignore[arg-type]


async def test_an_instance_round_trips_every_field(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    vm = instance(t.id)
    await b.add_all(db, "instances", vm)
    running = replace(
        vm,
        status=InstanceStatus.RUNNING,
        container_id="c" * 64,
        host_ports=(PortMapping(8080, 80), PortMapping(40001, 53, "udp")),
        started_at=b.at(1),
        version=2,
    )
    async with db.uow() as w:
        assert await w.instances.get(vm.id, t.id) == vm
        assert await w.instances.swap(running, 1)
        assert not await w.instances.swap(replace(running, version=3), 1)  # lost the race
        await w.commit()
    for read_only in (True, False):
        async with db.uow(read_only=read_only) as w:
            assert await w.instances.get(vm.id, t.id) == running


async def test_names_are_unique_among_live_instances_of_a_tenant(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    vm = instance(t.id, name="web")
    await b.add_all(db, "instances", vm, instance(other.id, name="web"))
    await b.expect_conflict(db, "instances", "add", instance(t.id, name="web"))
    gone = replace(vm, status=InstanceStatus.DELETED, deleted_at=b.at(5), version=2)
    async with db.uow() as w:
        assert await w.instances.swap(gone, 1)
        await w.commit()
    await b.add_all(db, "instances", instance(t.id, name="web"))  # the name is free again
    async with db.uow(read_only=True) as w:
        assert await w.instances.count(tenant_id=t.id, name="web") == 2


async def test_live_lists_every_tenants_unfinished_instances(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    starting = instance(t.id, created_at=b.at(1))
    running = instance(other.id, status=InstanceStatus.RUNNING, created_at=b.at(2))
    deleted = instance(t.id, status=InstanceStatus.DELETED, deleted_at=b.at(3))
    await b.add_all(db, "instances", starting, running, deleted)
    async with db.uow(read_only=True) as w:
        everything = [i.id for i in await w.instances.live()]
        pending = [i.id for i in await w.instances.live(["STARTING", "STOPPING"])]
    assert everything[-2:] == [starting.id, running.id] and deleted.id not in everything
    assert starting.id in pending and running.id not in pending


async def test_images_visible_to_a_tenant_are_the_catalog_and_its_own(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    name = b.uniq("img")
    public, mine = image(None, name), image(t.id, name, reference="mine:1")
    await b.add_all(db, "images", public, mine, image(other.id, b.uniq("theirs")))
    async with db.uow(read_only=True) as w:
        seen = await w.images.visible(t.id, ListQuery(filters={"name": name}))
        assert {i.id for i in seen.items} == {public.id, mine.id}
        assert await w.images.by_name(t.id, name) == mine
        assert await w.images.by_name(other.id, name) == public


async def test_of_many_concurrent_writers_with_one_version_exactly_one_wins(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    vm = instance(t.id)
    await b.add_all(db, "instances", vm)

    async def attempt(n: int) -> bool:
        async with db.uow() as w:
            won = await w.instances.swap(replace(vm, status_reason=f"writer {n}", version=2), 1)
            await w.commit()
        return won

    results = await asyncio.gather(*(attempt(n) for n in range(8)))
    assert sum(results) == 1
    async with db.uow(read_only=True) as w:
        stored = await w.instances.get(vm.id)
    assert stored is not None and stored.version == 2
    assert stored.status_reason == f"writer {results.index(True)}"
