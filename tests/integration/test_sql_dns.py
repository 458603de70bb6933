"""SQL repositories of DNS (zones, records) on SQLite and PostgreSQL: every field round-trips,
zone names are unique on the platform, deletes cascade, and writers of one zone queue on its
row (what keeps record sets pushed from committed rows)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.domain.common import ListQuery, PageRequest, new_id
from thecloud.domain.dns import DnsRecord, DnsZone, DnsZoneStatus, RecordType
from thecloud.domain.network import Vpc, VpcStatus
from thecloud.services.dns_sync import DnsSync


def vpc(tenant_id: str) -> Vpc:
    ident = new_id()
    return Vpc(
        ident, tenant_id, b.uniq("vpc"), "10.7.0.0/16", VpcStatus.AVAILABLE, f"net-{ident}",
        "tcbr-x", "10.7.0.1", "", {}, new_id(), b.BASE, b.BASE,
    )  # fmt: skip


def zone(tenant_id: str, vpc_id: str | None = None, **over: object) -> DnsZone:
    z = DnsZone(
        new_id(), tenant_id, f"{b.uniq('z')}.internal.", "the zone", vpc_id,
        DnsZoneStatus.ACTIVE, new_id(), b.BASE, b.BASE,
    )  # fmt: skip
    return replace(z, **over)  # type: ignore[arg-type]


def record(z: DnsZone, name: str = "www", **over: object) -> DnsRecord:
    r = DnsRecord(
        new_id(), z.tenant_id, z.id, f"{name}.{z.name}", RecordType.A, "10.7.1.5", 300, None,
        None, b.BASE, b.BASE,
    )  # fmt: skip
    return replace(r, **over)  # type: ignore[arg-type]


async def test_zones_and_records_round_trip_every_field(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    net = vpc(t.id)
    private = zone(t.id, net.id, version=3)
    public = zone(t.id, created_at=b.at(1))
    mx = record(private, "@", type=RecordType.MX, content="10 mail.x.", priority=10, ttl=600)
    txt = record(private, "t", type=RecordType.TXT, content='"héllo \\"q\\""' + "x" * 3000)
    mine = record(private, "web", instance_id=new_id(), version=2, updated_at=b.at(5))
    await b.add_all(db, "vpcs", net)
    await b.add_all(db, "dns_zones", private, public)
    await b.add_all(db, "dns_records", mx, txt, mine)
    async with db.uow(read_only=True) as uow:
        assert await uow.dns_zones.get(private.id, t.id) == private
        assert await uow.dns_zones.get(public.id) == public
        assert await uow.dns_zones.find(vpc_id=net.id) == [private]
        got = {r.id: r for r in await uow.dns_records.find(zone_id=private.id)}
        assert got == {r.id: r for r in (mx, txt, mine)}
        assert isinstance(got[mx.id].type, RecordType)
        assert await uow.dns_records.find(zone_id=private.id, name=mx.name, type="MX") == [mx]
        page = await uow.dns_zones.list(ListQuery(page=PageRequest(limit=1)), t.id)
        assert (page.total, page.items) == (2, [private])


async def test_a_zone_name_is_unique_across_tenants(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    first = zone(t.id)
    await b.add_all(db, "dns_zones", first)
    await b.expect_conflict(db, "dns_zones", "add", zone(other.id, name=first.name))
    await b.add_all(db, "dns_zones", zone(other.id))


async def test_deleting_a_zone_or_its_vpc_deletes_what_it_holds(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    net = vpc(t.id)
    private, public = zone(t.id, net.id), zone(t.id)
    await b.add_all(db, "vpcs", net)
    await b.add_all(db, "dns_zones", private, public)
    await b.add_all(db, "dns_records", record(private), record(public), record(public, "api"))
    async with db.uow() as uow:
        assert await uow.dns_zones.delete(public.id, t.id)
        await uow.vpcs.delete(net.id)
        await uow.commit()
    async with db.uow(read_only=True) as uow:
        assert await uow.dns_zones.find(tenant_id=t.id) == []
        assert await uow.dns_records.find(tenant_id=t.id) == []


async def test_writers_of_one_zone_queue_on_its_row(db: Db) -> None:
    """The second writer reads the rows once the first has committed, so the record set it
    pushes holds the first one's record too."""
    _, t = await b.seed_tenant(db.uow)
    z = zone(t.id)
    await b.add_all(db, "dns_zones", z)
    sync = DnsSync(db.uow, None, "it")
    first_locked, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with db.uow() as uow:
            await sync.lock_zone(uow, z.id)
            await uow.dns_records.add(record(z, content="10.7.1.1"))
            first_locked.set()
            await release.wait()
            await uow.commit()

    async def second() -> list[str]:
        await first_locked.wait()
        async with db.uow() as uow:
            await sync.lock_zone(uow, z.id)
            rows = await uow.dns_records.find(zone_id=z.id, name=f"www.{z.name}")
            await uow.dns_records.add(record(z, content="10.7.1.2"))
            await uow.commit()
        return sorted(r.content for r in rows)

    one = asyncio.create_task(first())
    two = asyncio.create_task(second())
    await first_locked.wait()
    await asyncio.sleep(0.3)  # the second writer is waiting for the row now
    assert not two.done()
    release.set()
    await one
    assert await asyncio.wait_for(two, 10) == ["10.7.1.1"]
