"""DNS zones and records on fakes: validation, isolation, what reaches the DNS server
(MemoryDnsBackend, with PowerDNS's semantics), instances registered by name, and the
reconcilers that repair drift after a crash."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from thecloud.adapters.memory.compute import MemoryInstances
from thecloud.adapters.memory.dns import MemoryDnsBackend, MemoryVpcResolverServer
from thecloud.domain.common import ListQuery
from thecloud.domain.compute import Instance, InstanceStatus
from thecloud.domain.dns import DnsRecord, DnsZoneStatus
from thecloud.domain.errors import (
    BackendUnavailable,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
)
from thecloud.ports.dns import RecordSet
from thecloud.services.dns_instances import DnsRegistrar
from thecloud.services.instance_hooks import InstanceHooks
from thecloud.services.instances import LaunchRequest

ALL = ListQuery()


@pytest.fixture
def dns(h: Harness) -> MemoryDnsBackend:
    backend = h.adapters.dns
    assert isinstance(backend, MemoryDnsBackend)
    return backend


@pytest.fixture
async def images(h: Harness) -> None:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")


async def records(h: Harness, owner: Account, zone: str) -> list[DnsRecord]:
    return (await h.cloud.dns.list_records(owner.principal, zone, ALL)).items


async def vpc_with_subnet(h: Harness, owner: Account, name: str = "prod") -> tuple[str, str]:
    vpc = await h.cloud.vpcs.create(owner.principal, name)
    third = vpc.cidr.split(".")[1]
    subnet = await h.cloud.subnets.create(owner.principal, vpc.id, "a", f"10.{third}.1.0/24")
    return vpc.id, subnet.id


async def launch(h: Harness, owner: Account, name: str, subnet_id: str) -> Instance:
    req = LaunchRequest(name=name, image="busybox", instance_type="basic-1", subnet_id=subnet_id)
    launched = await h.cloud.instances.launch(owner.principal, req)
    await h.cloud.worker.step()
    return await h.cloud.instances.get(owner.principal, launched.id)


async def terminate(h: Harness, owner: Account, ident: str) -> None:
    await h.cloud.instances.request(owner.principal, ident, "terminate")
    await h.cloud.worker.step()
    assert (await h.cloud.instances.get(owner.principal, ident)).status == InstanceStatus.DELETED


async def test_a_zone_is_validated_created_on_the_server_and_unique_on_the_platform(
    h: Harness, owner: Account, dns: MemoryDnsBackend
) -> None:
    zone = await h.cloud.dns.create_zone(owner.principal, "Example.COM", "site")
    assert (zone.name, zone.status, zone.vpc_id) == ("example.com.", DnsZoneStatus.ACTIVE, None)
    assert dns.account_of("example.com.") == f"thecloud:{h.cloud.settings.installation}"
    assert dns.lookup("example.com.", "NS") == ("ns1.thecloud.internal.",)
    for bad, match in (("com", "at least two labels"), ("a..b", "empty label"), ("-x.y", "'-'")):
        with pytest.raises(InvalidInput, match=match):
            await h.cloud.dns.create_zone(owner.principal, bad)
    with pytest.raises(Conflict, match="already taken"):
        await h.cloud.dns.create_zone(owner.principal, "example.com.")
    stranger = await h.register("stranger")
    with pytest.raises(Conflict, match="already taken") as taken:
        await h.cloud.dns.create_zone(stranger.principal, "example.com")
    assert owner.tenant_id not in taken.value.message and zone.id not in taken.value.message
    await dns.ensure_zone("foreign.org", "someone-else")  # on the server, not the platform's
    with pytest.raises(Conflict, match="already taken") as foreign:
        await h.cloud.dns.create_zone(owner.principal, "foreign.org")
    assert "someone-else" not in foreign.value.message
    assert dns.account_of("foreign.org") == "someone-else"  # left alone
    assert (await h.cloud.dns.get_zone(owner.principal, "example.com")).id == zone.id
    assert (await h.cloud.dns.list_zones(owner.principal, ALL, "example.com")).total == 1
    with pytest.raises(NotFound):
        await h.cloud.dns.create_zone(owner.principal, "corp.internal", vpc_id="no-such-vpc")


async def test_records_of_every_type_answer_with_their_validated_content(
    h: Harness, owner: Account, dns: MemoryDnsBackend
) -> None:
    await h.cloud.dns.create_zone(owner.principal, "example.com")
    create = h.cloud.dns.create_record
    p = owner.principal
    a = await create(p, "example.com", "www", "A", " 192.0.2.10 ")
    assert (a.name, a.content, a.ttl) == ("www.example.com.", "192.0.2.10", 300)
    assert a.instance_id is None
    await create(p, "example.com", "www.example.com.", "aaaa", "2001:DB8:0::1")
    await create(p, "example.com", "@", "MX", "mail.example.com", priority=10)
    await create(p, "example.com", "@", "TXT", 'v=spf1 -all "quoted"')
    await create(p, "example.com", "_sip._tcp", "SRV", "5 5060 sip.example.com", priority=1)
    await create(p, "example.com", "docs", "CNAME", "www.example.com")
    assert dns.lookup("www.example.com", "A") == ("192.0.2.10",)
    assert dns.lookup("www.example.com", "AAAA") == ("2001:db8::1",)
    assert dns.lookup("example.com", "MX") == ("10 mail.example.com.",)
    assert dns.lookup("example.com", "TXT") == ('"v=spf1 -all \\"quoted\\""',)
    assert dns.lookup("_sip._tcp.example.com", "SRV") == ("1 5 5060 sip.example.com.",)
    assert dns.lookup("docs.example.com", "CNAME") == ("www.example.com.",)
    for args, kw, match in (
        (("www", "A", "300.1.1.1"), {}, "IPv4"),
        (("mx2", "MX", "mail.example.com"), {}, "need a priority"),
        (("www", "A", "192.0.2.1"), {"priority": 5}, "only for MX and SRV"),
        (("ns", "NS", "ns.example.com"), {}, "managed by the platform"),
        (("www.other.org.", "A", "192.0.2.1"), {}, "not inside the zone"),
        (("bad..name", "A", "192.0.2.1"), {}, "empty label"),
        (("@", "CNAME", "www.example.com"), {}, "zone apex"),
        (("x", "SPF", "v=spf1"), {}, "not supported"),
    ):
        with pytest.raises(InvalidInput, match=match):
            await create(p, "example.com", *args, **kw)
    with pytest.raises(Conflict, match="already has this record"):
        await create(p, "example.com", "www", "A", "192.0.2.10")
    assert len(await records(h, owner, "example.com")) == 6


async def test_a_cname_stands_alone_at_its_name(h: Harness, owner: Account) -> None:
    await h.cloud.dns.create_zone(owner.principal, "example.com")
    create = h.cloud.dns.create_record
    p = owner.principal
    await create(p, "example.com", "www", "A", "192.0.2.1")
    with pytest.raises(Conflict, match="cannot coexist"):
        await create(p, "example.com", "www", "CNAME", "other.example.com")
    await create(p, "example.com", "alias", "CNAME", "www.example.com")
    with pytest.raises(Conflict, match="has a CNAME record"):
        await create(p, "example.com", "alias", "TXT", "hello")
    with pytest.raises(Conflict, match="only one"):
        await create(p, "example.com", "alias", "CNAME", "else.example.com")


async def test_ttl_is_clamped_and_one_per_record_set(
    h: Harness, owner: Account, dns: MemoryDnsBackend
) -> None:
    await h.cloud.dns.create_zone(owner.principal, "example.com")
    create = h.cloud.dns.create_record
    p = owner.principal
    low = await create(p, "example.com", "a", "A", "192.0.2.1", ttl=5)
    high = await create(p, "example.com", "b", "A", "192.0.2.1", ttl=10**9)
    assert (low.ttl, high.ttl) == (60, 86400)
    first = await create(p, "example.com", "www", "A", "192.0.2.1", ttl=600)
    second = await create(p, "example.com", "www", "A", "192.0.2.2")  # takes the set's
    assert second.ttl == 600
    third = await create(p, "example.com", "www", "A", "192.0.2.3", ttl=120)  # sets the set's
    ttls = {r.id: r.ttl for r in await records(h, owner, "example.com")}
    assert ttls[first.id] == ttls[second.id] == ttls[third.id] == 120
    assert dns._zones["example.com."].rrsets[("www.example.com.", "A")] == RecordSet(
        "www.example.com.", "A", 120, ("192.0.2.1", "192.0.2.2", "192.0.2.3")
    )
    await h.cloud.dns.update_record(p, first.id, ttl=3600)
    assert {r.ttl for r in await records(h, owner, "example.com") if r.name.startswith("www")} == {
        3600
    }
    assert dns._zones["example.com."].rrsets[("www.example.com.", "A")].ttl == 3600


async def test_updates_and_deletes_answer_at_once(
    h: Harness, owner: Account, dns: MemoryDnsBackend
) -> None:
    await h.cloud.dns.create_zone(owner.principal, "example.com")
    p = owner.principal
    www = await h.cloud.dns.create_record(p, "example.com", "www", "A", "192.0.2.1")
    mx = await h.cloud.dns.create_record(p, "example.com", "@", "MX", "mx.example.com", priority=10)
    updated = await h.cloud.dns.update_record(p, www.id, content="192.0.2.99")
    assert (updated.content, updated.version) == ("192.0.2.99", 2)
    assert dns.lookup("www.example.com", "A") == ("192.0.2.99",)
    again = await h.cloud.dns.update_record(p, www.id, content="192.0.2.99")
    assert again.version == 2  # nothing changed, nothing written
    moved = await h.cloud.dns.update_record(p, mx.id, priority=20)
    assert (moved.content, moved.priority) == ("20 mx.example.com.", 20)
    assert dns.lookup("example.com", "MX") == ("20 mx.example.com.",)
    with pytest.raises(InvalidInput, match="IPv4"):
        await h.cloud.dns.update_record(p, www.id, content="nope")
    await h.cloud.dns.delete_record(p, www.id)
    assert dns.lookup("www.example.com", "A") == ()
    with pytest.raises(NotFound):
        await h.cloud.dns.get_record(p, www.id)
    actions = [a.action for a in (await h.cloud.activity.audit(p, ALL)).items]
    assert {"dns:create", "dns:update", "dns:delete"} <= set(actions)
    await h.cloud.dns.delete_zone(p, "example.com")
    assert dns.account_of("example.com") is None
    with pytest.raises(NotFound):
        await h.cloud.dns.get_record(p, mx.id)


async def test_other_tenants_see_nothing_and_viewers_only_read(
    h: Harness, owner: Account, dns: MemoryDnsBackend
) -> None:
    zone = await h.cloud.dns.create_zone(owner.principal, "example.com")
    record = await h.cloud.dns.create_record(owner.principal, zone.id, "www", "A", "192.0.2.1")
    stranger = await h.register("stranger")
    s = stranger.principal
    for call in (
        h.cloud.dns.get_zone(s, zone.id),
        h.cloud.dns.get_zone(s, "example.com"),
        h.cloud.dns.delete_zone(s, zone.id),
        h.cloud.dns.create_record(s, zone.id, "x", "A", "192.0.2.2"),
        h.cloud.dns.list_records(s, zone.id, ALL),
        h.cloud.dns.get_record(s, record.id),
        h.cloud.dns.update_record(s, record.id, content="192.0.2.3"),
        h.cloud.dns.delete_record(s, record.id),
    ):
        with pytest.raises(NotFound):
            await call
    assert (await h.cloud.dns.list_zones(s, ALL)).total == 0
    viewer = await h.member(owner, "viewer")
    assert (await h.cloud.dns.get_record(viewer, record.id)).id == record.id
    assert (await h.cloud.dns.list_zones(viewer, ALL)).total == 1
    for call in (
        h.cloud.dns.create_zone(viewer, "viewer.example"),
        h.cloud.dns.create_record(viewer, zone.id, "x", "A", "192.0.2.2"),
        h.cloud.dns.update_record(viewer, record.id, content="192.0.2.3"),
        h.cloud.dns.delete_record(viewer, record.id),
        h.cloud.dns.delete_zone(viewer, zone.id),
    ):
        with pytest.raises(Forbidden):
            await call
    assert dns.lookup("www.example.com", "A") == ("192.0.2.1",)


async def test_a_server_that_is_down_fails_the_call_and_changes_nothing(
    h: Harness, owner: Account, dns: MemoryDnsBackend
) -> None:
    p = owner.principal
    zone = await h.cloud.dns.create_zone(p, "example.com")
    www = await h.cloud.dns.create_record(p, zone.id, "www", "A", "192.0.2.1")
    dns.down = True
    for call in (
        h.cloud.dns.create_zone(p, "other.example"),
        h.cloud.dns.create_record(p, zone.id, "api", "A", "192.0.2.2"),
        h.cloud.dns.update_record(p, www.id, content="192.0.2.3", ttl=900),
        h.cloud.dns.delete_record(p, www.id),
        h.cloud.dns.delete_zone(p, zone.id),
    ):
        with pytest.raises(BackendUnavailable, match="powerdns.sh start"):
            await call
    dns.down = False
    assert [z.name for z in (await h.cloud.dns.list_zones(p, ALL)).items] == ["example.com."]
    assert await records(h, owner, zone.id) == [www]
    assert dns.lookup("www.example.com", "A") == ("192.0.2.1",)
    assert dns.account_of("other.example") is None


async def test_a_failed_commit_removes_the_zone_it_created_on_the_server(
    h: Harness, owner: Account, dns: MemoryDnsBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kw: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(h.cloud.dns, "_record", broken)
    with pytest.raises(RuntimeError, match="went away"):
        await h.cloud.dns.create_zone(owner.principal, "example.com")
    assert dns.account_of("example.com") is None
    assert (await h.cloud.dns.list_zones(owner.principal, ALL)).total == 0


async def test_instances_in_a_vpc_with_a_zone_answer_by_name_until_terminated(
    h: Harness, owner: Account, dns: MemoryDnsBackend, images: None
) -> None:
    p = owner.principal
    vpc_id, subnet_id = await vpc_with_subnet(h, owner)
    early = await launch(h, owner, "early", subnet_id)
    zone = await h.cloud.dns.create_zone(p, "corp.internal", vpc_id=vpc_id)
    assert zone.vpc_id == vpc_id
    assert dns.lookup("early.corp.internal", "A") == (early.private_ip,)  # registered at once
    web = await launch(h, owner, "Web", subnet_id)
    assert web.status == InstanceStatus.RUNNING
    assert dns.lookup("web.corp.internal", "A") == (web.private_ip,)
    mine = {r.instance_id: r for r in await records(h, owner, zone.id)}
    assert mine[web.id].name == "web.corp.internal." and mine[web.id].ttl == 60
    with pytest.raises(Conflict, match="belongs to instance"):
        await h.cloud.dns.update_record(p, mine[web.id].id, content="10.9.9.9")
    with pytest.raises(Conflict, match="belongs to instance"):
        await h.cloud.dns.delete_record(p, mine[web.id].id)
    with pytest.raises(Conflict, match="cannot coexist"):
        await h.cloud.dns.create_record(p, zone.id, "web", "CNAME", "early.corp.internal")
    public = await h.cloud.dns.create_zone(p, "example.com")
    assert await records(h, owner, public.id) == []  # public zones get no instances
    await terminate(h, owner, web.id)
    assert dns.lookup("web.corp.internal", "A") == ()
    assert [r.instance_id for r in await records(h, owner, zone.id)] == [early.id]
    events = {e.type for e in h.bus.published}
    assert {"dns.instance_record_added", "dns.instance_record_removed"} <= events
    await h.cloud.dns.delete_zone(p, zone.id)
    assert dns.lookup("early.corp.internal", "A") == ()
    resolver = h.adapters.resolver
    assert isinstance(resolver, MemoryVpcResolverServer) and resolver.view is not None
    assert (await resolver.view()).visible[vpc_id] == frozenset({public.name})


async def test_names_that_cannot_be_registered_are_skipped_and_the_instance_runs(
    h: Harness, owner: Account, dns: MemoryDnsBackend, images: None
) -> None:
    p = owner.principal
    vpc_id, subnet_id = await vpc_with_subnet(h, owner)
    zone = await h.cloud.dns.create_zone(p, "corp.internal", vpc_id=vpc_id)
    await h.cloud.dns.create_record(p, zone.id, "db", "CNAME", "db.example.com")
    taken = await launch(h, owner, "db", subnet_id)  # a user's CNAME owns the name
    odd = await launch(h, owner, "a..b", subnet_id)  # no valid host name
    dotted = await launch(h, owner, "api.v2", subnet_id)
    assert taken.status == odd.status == InstanceStatus.RUNNING
    assert dns.lookup("db.corp.internal", "CNAME") == ("db.example.com.",)
    assert dns.lookup("db.corp.internal", "A") == ()
    assert dns.lookup("api.v2.corp.internal", "A") == (dotted.private_ip,)
    assert [r.instance_id for r in await records(h, owner, zone.id) if r.instance_id] == [dotted.id]


async def test_a_dns_server_that_is_down_does_not_stop_a_launch(
    h: Harness, owner: Account, dns: MemoryDnsBackend, images: None
) -> None:
    vpc_id, subnet_id = await vpc_with_subnet(h, owner)
    zone = await h.cloud.dns.create_zone(owner.principal, "corp.internal", vpc_id=vpc_id)
    dns.down = True
    web = await launch(h, owner, "web", subnet_id)
    assert web.status == InstanceStatus.RUNNING
    assert await records(h, owner, zone.id) == []  # nothing recorded that is not served
    await h.cloud.worker.heal()  # still down: the reconcilers log and wait
    dns.down = False
    await h.cloud.worker.heal()
    assert dns.lookup("web.corp.internal", "A") == (web.private_ip,)


async def test_an_outage_is_logged_once_and_its_end_once(
    h: Harness, dns: MemoryDnsBackend, caplog: pytest.LogCaptureFixture
) -> None:
    """Heals during an outage log it once; one that asks nothing of the server (no stale
    instance records) must not announce that it is back."""
    dns.down = True
    with caplog.at_level(logging.WARNING, logger="thecloud.services.dns_sync"):
        for _ in range(3):
            await h.cloud.worker.heal()
        messages = [r.getMessage() for r in caplog.records]
        assert sum("unreachable" in m for m in messages) == 1
        assert not any("reachable again" in m for m in messages)
        dns.down = False
        await h.cloud.worker.heal()
        await h.cloud.worker.heal()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("reachable again" in m for m in messages) == 1


async def test_the_reconciler_repairs_instance_records_after_a_crash(
    h: Harness, owner: Account, dns: MemoryDnsBackend, images: None
) -> None:
    vpc_id, subnet_id = await vpc_with_subnet(h, owner)
    zone = await h.cloud.dns.create_zone(owner.principal, "corp.internal", vpc_id=vpc_id)
    web = await launch(h, owner, "web", subnet_id)
    db = await launch(h, owner, "db", subnet_id)
    (web_row,) = [r for r in await records(h, owner, zone.id) if r.instance_id == web.id]
    async with h.cloud.uow() as uow:
        await uow.dns_records.delete(web_row.id)  # a crash lost web's record
        await uow.instances.update(replace(db, private_ip="10.0.1.200"))  # db's address moved
        await uow.commit()
    await dns.remove("corp.internal.", "web.corp.internal.", "A")
    await h.cloud.worker.heal()
    assert dns.lookup("web.corp.internal", "A") == (web.private_ip,)
    assert dns.lookup("db.corp.internal", "A") == ("10.0.1.200",)
    async with h.cloud.uow() as uow:  # web terminated while the worker was away
        gone = replace(web, status=InstanceStatus.DELETED, deleted_at=h.clock.now())
        await uow.instances.update(gone)
        await uow.commit()
    await h.cloud.worker.heal()
    assert dns.lookup("web.corp.internal", "A") == ()
    assert {r.instance_id for r in await records(h, owner, zone.id)} == {db.id}


async def test_the_reconciler_makes_the_server_match_the_rows(
    h: Harness, owner: Account, dns: MemoryDnsBackend
) -> None:
    p = owner.principal
    await h.cloud.dns.create_zone(p, "example.com")
    await h.cloud.dns.create_zone(p, "example.org")
    await h.cloud.dns.create_record(p, "example.com", "www", "A", "192.0.2.1")
    await h.cloud.dns.create_record(p, "example.org", "@", "TXT", "hello")
    await dns.replace("example.com.", RecordSet("www.example.com.", "A", 300, ("203.0.113.9",)))
    await dns.replace("example.com.", RecordSet("stray.example.com.", "A", 300, ("192.0.2.7",)))
    await dns.delete_zone("example.org.")  # lost on the server
    account = h.cloud.dns_sync.account
    await dns.ensure_zone("orphan.example.", account)  # a create that crashed before its row
    await dns.ensure_zone("theirs.example.", "another-platform")
    assert await h.cloud.dns_sync.reconcile(full=True) == 4
    assert dns.lookup("www.example.com", "A") == ("192.0.2.1",)
    assert dns.lookup("stray.example.com", "A") == ()
    assert dns.lookup("example.org", "TXT") == ('"hello"',)
    assert dns.account_of("orphan.example") == account  # seen once: may be a create in flight
    assert await h.cloud.dns_sync.reconcile(full=True) == 1
    assert dns.account_of("orphan.example") is None
    assert dns.account_of("theirs.example") == "another-platform"
    assert await h.cloud.dns_sync.reconcile(full=True) == 0


async def test_a_deleted_vpc_takes_its_zones_with_it(
    h: Harness, owner: Account, dns: MemoryDnsBackend
) -> None:
    vpc = await h.cloud.vpcs.create(owner.principal, "lab")
    await h.cloud.dns.create_zone(owner.principal, "lab.internal", vpc_id=vpc.id)
    await h.cloud.vpcs.delete(owner.principal, vpc.id)
    assert (await h.cloud.dns.list_zones(owner.principal, ALL)).total == 0
    await h.cloud.dns_sync.reconcile()
    await h.cloud.dns_sync.reconcile()
    assert dns.account_of("lab.internal") is None


async def test_hooks_run_in_order_and_a_failure_stops_the_rest() -> None:
    calls: list[str] = []

    class Part:
        def __init__(self, name: str, fail: bool = False) -> None:
            self.name, self.fail = name, fail

        async def prepare(self, _i: Instance) -> None:
            calls.append(f"{self.name}.prepare")
            if self.fail:
                raise RuntimeError(self.name)

        async def released(self, _i: Instance) -> None:
            calls.append(f"{self.name}.released")

    instance = object()
    await InstanceHooks([Part("fabric"), Part("dns")]).released(instance)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="fabric"):
        await InstanceHooks([Part("fabric", fail=True), Part("dns")]).prepare(instance)  # type: ignore[arg-type]
    assert calls == ["fabric.released", "dns.released", "fabric.prepare"]


async def test_the_instance_record_reconciler_reads_the_instances_once_per_pass(
    h: Harness, owner: Account, dns: MemoryDnsBackend, images: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    p = owner.principal
    prod, prod_subnet = await vpc_with_subnet(h, owner, "prod")
    lab, lab_subnet = await vpc_with_subnet(h, owner, "lab")
    await h.cloud.dns.create_zone(p, "corp.internal", vpc_id=prod)
    await h.cloud.dns.create_zone(p, "alt.internal", vpc_id=prod)
    lab_zone = await h.cloud.dns.create_zone(p, "lab.internal", vpc_id=lab)
    web = await launch(h, owner, "web", prod_subnet)
    box = await launch(h, owner, "box", lab_subnet)
    (row,) = [r for r in await records(h, owner, lab_zone.id) if r.instance_id == box.id]
    async with h.cloud.uow() as uow:
        await uow.dns_records.delete(row.id)  # a crash lost box's record
        await uow.commit()
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
    registrar = DnsRegistrar(h.cloud.uow, h.clock, h.cloud.dns_sync)
    assert await registrar.reconcile() == 1
    assert reads == ["live", "find"]  # once for the check; once more for the stale zone's fix
    assert dns.lookup("box.lab.internal", "A") == (box.private_ip,)
    assert dns.lookup("web.alt.internal", "A") == (web.private_ip,)
    reads.clear()
    assert await registrar.reconcile() == 0
    assert reads == ["live"]
