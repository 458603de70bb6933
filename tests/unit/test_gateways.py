"""Elastic IPs, internet and NAT gateways and route tables on fakes: the records and the egress
and public addresses the services hand the fabric."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_network import launch, prepared_fabric, vpc_and_subnets
from thecloud.adapters.memory.fabric import MemoryFabric
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from thecloud.ports.network import Egress, PublicAddress


@pytest.fixture
async def fabric(h: Harness) -> MemoryFabric:
    return await prepared_fabric(h)


def egress_of(f: MemoryFabric, vpc_id: str) -> tuple[Egress, ...]:
    [net] = [v for v in f.state.vpcs if v.id == vpc_id]
    return net.egress


async def main_table(h: Harness, owner: Account, vpc_id: str) -> str:
    page = await h.cloud.route_tables.list(owner.principal, ListQuery(filters={"vpc_id": vpc_id}))
    return next(t.id for t in page.items if t.is_main)


async def test_elastic_ips_come_from_the_pool_one_per_instance(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    p = owner.principal
    _, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24")
    vm = await launch(h, owner, "vm", subnet_id=subnet)
    first = await h.cloud.elastic_ips.allocate(p)
    second = await h.cloud.elastic_ips.allocate(p)
    assert (first.address, second.address) == ("100.64.0.1", "100.64.0.2")
    await h.cloud.elastic_ips.associate(p, first.id, "vm")
    assert fabric.state.public == (PublicAddress("100.64.0.1", vm.private_ip),)
    with pytest.raises(Conflict, match="already has an elastic IP"):
        await h.cloud.elastic_ips.associate(p, second.id, vm.id)
    with pytest.raises(Conflict, match="disassociate it first"):
        await h.cloud.elastic_ips.release(p, first.address)
    plain = await launch(h, owner, "plain")
    with pytest.raises(InvalidInput, match="not in a VPC"):
        await h.cloud.elastic_ips.associate(p, second.id, plain.id)
    # a terminated instance lets go of its address; the address stays the tenant's
    await h.cloud.instances.request(p, vm.id, "terminate")
    await h.cloud.worker.step()
    freed = await h.cloud.elastic_ips.get(p, first.id)
    assert (freed.status, freed.instance_id) == ("ALLOCATED", None)
    assert fabric.state.public == ()
    await h.cloud.elastic_ips.release(p, first.id)
    again = await h.cloud.elastic_ips.allocate(p)
    assert again.address == "100.64.0.1"
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.elastic_ips.get(stranger.principal, again.id)
    viewer = await h.member(owner, "viewer")
    with pytest.raises(Forbidden):
        await h.cloud.elastic_ips.allocate(viewer)


async def test_egress_follows_the_route_table_of_each_subnet(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    p = owner.principal
    vpc_id, public, private = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24", "10.0.2.0/24")
    web = await launch(h, owner, "web", subnet_id=public)
    assert egress_of(fabric, vpc_id) == ()
    igw = await h.cloud.internet_gateways.create(p, "gw")
    with pytest.raises(InvalidInput, match="attach it first"):
        await h.cloud.route_tables.add_route(
            p, await main_table(h, owner, vpc_id), "0.0.0.0/0", "igw", igw.id
        )
    await h.cloud.internet_gateways.attach(p, "gw", "prod")
    table = await h.cloud.route_tables.create(p, vpc_id, "public")
    await h.cloud.route_tables.add_route(p, table.id, "0.0.0.0/0", "igw", igw.id)
    assert egress_of(fabric, vpc_id) == ()  # no subnet uses the table yet
    await h.cloud.route_tables.associate(p, table.id, public)
    assert egress_of(fabric, vpc_id) == (Egress("10.0.1.0/24"),)
    eip = await h.cloud.elastic_ips.allocate(p)
    await h.cloud.elastic_ips.associate(p, eip.id, web.id)
    assert egress_of(fabric, vpc_id) == (
        Egress(f"{web.private_ip}/32", "0.0.0.0/0", eip.address),
        Egress("10.0.1.0/24"),
    )
    # the private subnet goes out through a NAT gateway, for one range only
    nat_ip = await h.cloud.elastic_ips.allocate(p)
    nat = await h.cloud.nat_gateways.create(p, public, nat_ip.address)
    main = await main_table(h, owner, vpc_id)
    await h.cloud.route_tables.add_route(p, main, "192.0.2.0/24", "nat", nat.id)
    assert Egress("10.0.2.0/24", "192.0.2.0/24", nat_ip.address) in egress_of(fabric, vpc_id)
    with pytest.raises(Conflict, match="route through this NAT gateway"):
        await h.cloud.nat_gateways.delete(p, nat.id)
    with pytest.raises(Conflict, match="used by NAT gateway"):
        await h.cloud.elastic_ips.release(p, nat_ip.id)
    await h.cloud.route_tables.remove_route(p, main, "192.0.2.0/24")
    await h.cloud.nat_gateways.delete(p, nat.id)
    # detaching the internet gateway: the route carries nothing
    await h.cloud.internet_gateways.detach(p, igw.id)
    assert egress_of(fabric, vpc_id) == ()
    with pytest.raises(Conflict, match="route through this internet gateway"):
        await h.cloud.internet_gateways.delete(p, igw.id)
    # back to the main table
    await h.cloud.route_tables.disassociate(p, table.id, public)
    found, subnets = await h.cloud.route_tables.get(p, table.id)
    assert subnets == [] and found.name == "public"
    await h.cloud.route_tables.delete(p, table.id)


async def test_route_and_gateway_rules(h: Harness, owner: Account) -> None:
    p = owner.principal
    vpc_id, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24")
    other_id, other_subnet = await vpc_and_subnets(h, owner, "other", "10.1.1.0/24")
    main = await main_table(h, owner, vpc_id)
    igw = await h.cloud.internet_gateways.create(p)
    await h.cloud.internet_gateways.attach(p, igw.id, vpc_id)
    with pytest.raises(Conflict, match="another VPC"):
        await h.cloud.internet_gateways.attach(p, igw.id, other_id)
    second = await h.cloud.internet_gateways.create(p)
    with pytest.raises(Conflict, match="already has an internet gateway"):
        await h.cloud.internet_gateways.attach(p, second.id, vpc_id)
    cases = [
        ("10.0.5.0/24", "igw", igw.id, "inside the VPC"),
        ("0.0.0.0/0", "local", None, "local route"),
        ("0.0.0.0/0", "tunnel", None, "target_type"),
        ("0.0.0.0/0", "igw", None, "target_id"),
        ("nonsense", "igw", igw.id, "not an IPv4 network"),
    ]
    for dest, kind, target, words in cases:
        with pytest.raises(InvalidInput, match=words):
            await h.cloud.route_tables.add_route(p, main, dest, kind, target)
    await h.cloud.route_tables.add_route(p, main, "0.0.0.0/0", "igw", igw.id)
    with pytest.raises(Conflict, match="already has a route"):
        await h.cloud.route_tables.add_route(p, main, "0.0.0.0/0", "igw", igw.id)
    with pytest.raises(Conflict, match="goes only with its VPC"):
        await h.cloud.route_tables.delete(p, main)
    with pytest.raises(InvalidInput, match="another VPC"):
        await h.cloud.route_tables.associate(p, main, other_subnet)
    with pytest.raises(NotFound):
        await h.cloud.route_tables.remove_route(p, main, "192.0.2.0/24")
    eip = await h.cloud.elastic_ips.allocate(p)
    nat = await h.cloud.nat_gateways.create(p, other_subnet, eip.id)
    with pytest.raises(InvalidInput, match="another VPC"):
        await h.cloud.route_tables.add_route(p, main, "192.0.2.0/24", "nat", nat.id)
    with pytest.raises(Conflict, match="already serves"):
        await h.cloud.nat_gateways.create(p, subnet, eip.id)
    # making another table the main one
    new_main = await h.cloud.route_tables.create(p, vpc_id, "new-main", is_main=True)
    assert await main_table(h, owner, vpc_id) == new_main.id
    # a VPC's gateways, tables and routes go with it
    await h.cloud.internet_gateways.detach(p, igw.id)
    await h.cloud.vpcs.delete(p, vpc_id)
    assert (await h.cloud.route_tables.list(p, ListQuery(filters={"vpc_id": vpc_id}))).total == 0


async def test_a_deleted_vpc_lets_go_of_its_internet_gateway(h: Harness, owner: Account) -> None:
    p = owner.principal
    vpc_id, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24")
    igw = await h.cloud.internet_gateways.create(p, "gw")
    await h.cloud.internet_gateways.attach(p, igw.id, vpc_id)
    eip = await h.cloud.elastic_ips.allocate(p)
    nat = await h.cloud.nat_gateways.create(p, subnet, eip.id)
    with pytest.raises(Conflict, match="holds NAT gateway"):
        await h.cloud.subnets.delete(p, subnet)
    await h.cloud.vpcs.delete(p, vpc_id)
    left = await h.cloud.internet_gateways.get(p, igw.id)
    assert (left.vpc_id, left.status) == (None, "DETACHED")
    with pytest.raises(NotFound):
        await h.cloud.nat_gateways.get(p, nat.id)
    await h.cloud.internet_gateways.delete(p, igw.id)
    await h.cloud.elastic_ips.release(p, eip.id)
