"""VPC deletes (rows first, then the network, then a sync), the structured range clash,
security group views built in the changing transaction, placement's group check, and the
in-memory uniqueness of elastic IPs and internet gateways."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_network import launch, prepared_fabric, vpc_and_subnets
from thecloud.adapters.memory.fabric import MemoryFabric
from thecloud.domain.common import ListQuery, new_id
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, RangeInUse
from thecloud.domain.network import (
    EipStatus,
    ElasticIp,
    GatewayStatus,
    InternetGateway,
    new_security_group,
)
from thecloud.ports.network import NetworkSpec, NetworkState
from thecloud.services.security_groups import RuleRequest

OLD = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
async def fabric(h: Harness) -> MemoryFabric:
    return await prepared_fabric(h)


def synced_vpcs(fabric: MemoryFabric) -> set[str]:
    return {v.id for v in fabric.state.vpcs}


async def test_a_plain_delete_syncs_and_a_stuck_network_is_left_to_the_reconciler(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    p = owner.principal
    gone = await h.cloud.vpcs.create(p, "gone")
    await h.cloud.fabric.sync()
    assert [(v.id, v.gateway) for v in fabric.state.vpcs] == [(gone.id, gone.gateway_ip)]
    assert await h.cloud.vpcs.delete(p, "gone") is None
    assert gone.id not in synced_vpcs(fabric) and gone.network not in fabric.nets
    stuck = await h.cloud.vpcs.create(p, "stuck")
    fabric.attached[stuck.network] = 1  # the engine refuses to remove it
    assert await h.cloud.vpcs.delete(p, "stuck") is None  # committed: the VPC is gone
    with pytest.raises(NotFound):
        await h.cloud.vpcs.get(p, stuck.id)
    assert stuck.network in fabric.nets and stuck.id not in synced_vpcs(fabric)
    fabric.attached.clear()
    fabric.nets[stuck.network] = replace(fabric.nets[stuck.network], created_at=OLD)
    assert await h.cloud.fabric.reconcile() == 1
    assert stuck.network not in fabric.nets


async def test_a_forced_delete_finished_by_the_worker_syncs_the_vpc_away(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    p = owner.principal
    vpc_id, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24")
    await launch(h, owner, "vm", subnet_id=subnet)
    assert vpc_id in synced_vpcs(fabric)
    await h.cloud.vpcs.delete(p, "prod", force=True)
    await h.cloud.worker.step()  # terminates the instance
    await h.cloud.worker.step()  # then the VPC goes
    with pytest.raises(NotFound):
        await h.cloud.vpcs.get(p, vpc_id)
    assert fabric.nets == {} and vpc_id not in synced_vpcs(fabric)


async def test_a_host_range_clash_is_a_range_in_use_conflict_and_only_it_moves_on(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    p = owner.principal
    fabric.nets["x"] = NetworkState("x", "x", "10.0.0.0/16", {})
    with pytest.raises(RangeInUse, match="overlaps a network already on this host"):
        await fabric.ensure_network(NetworkSpec("y", "y", "10.0.1.0/24", "10.0.1.1", {}))
    assert (await h.cloud.vpcs.create(p, "next")).cidr == "10.1.0.0/16"
    tries = 0
    real = fabric.ensure_network

    async def refusing(spec: NetworkSpec) -> NetworkState:
        nonlocal tries
        tries += 1
        raise Conflict("a network overlaps a network of something else")  # not RangeInUse

    fabric.ensure_network = refusing  # type: ignore[method-assign]
    try:
        with pytest.raises(Conflict, match="something else"):
            await h.cloud.vpcs.create(p, "other")
    finally:
        fabric.ensure_network = real  # type: ignore[method-assign]
    assert tries == 1


async def test_attach_and_detach_need_only_sg_update_and_a_repeat_attach_writes_nothing(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    vpc_id, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24")
    vm = await launch(h, owner, "vm", subnet_id=subnet)
    web = await h.cloud.security_groups.create(owner.principal, vpc_id, "web")
    await h.cloud.rbac.create_role(owner.principal, "sg-editor", "", ["sg:update"])
    editor = await h.member(owner, "sg-editor", "editor")
    with pytest.raises(Forbidden):
        await h.cloud.security_groups.get(editor, "web")
    view = await h.cloud.security_groups.attach(editor, vm.id, "web")
    assert (view.group.id, view.instance_ids) == (web.group.id, (vm.id,))
    assert view.rules == web.rules
    syncs = fabric.syncs
    assert await h.cloud.security_groups.attach(editor, vm.id, "web") == view
    assert fabric.syncs == syncs  # nothing written, nothing to push
    after = await h.cloud.security_groups.detach(editor, vm.id, "web")
    assert after.instance_ids == () and fabric.syncs == syncs + 1


async def test_the_list_shows_each_groups_rules_and_live_members_of_the_tenant_only(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    p = owner.principal
    vpc_id, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24")
    await h.cloud.security_groups.create(p, vpc_id, "web")
    rule = await h.cloud.security_groups.add_rule(
        p, "web", RuleRequest("ingress", "tcp", 80, cidr="0.0.0.0/0", priority=10)
    )
    a = await launch(h, owner, "a", subnet_id=subnet, security_group_ids=("web",))
    b = await launch(h, owner, "b", subnet_id=subnet, security_group_ids=("web", "default"))
    c = await launch(h, owner, "c", subnet_id=subnet)
    await h.cloud.instances.request(p, b.id, "terminate")
    await h.cloud.worker.step()
    stranger = await h.register("stranger")
    await h.cloud.vpcs.create(stranger.principal, "theirs", "10.9.0.0/16")
    page = await h.cloud.security_groups.list(p, ListQuery())
    views = {v.group.name: v for v in page.items}
    assert set(views) == {"web", "default"} and page.total == 2
    assert views["web"].instance_ids == (a.id,)
    assert views["default"].instance_ids == (c.id,)
    assert views["web"].rules[0] == rule and len(views["web"].rules) == 2  # by priority
    assert len(views["default"].rules) == 2
    for name, view in views.items():
        assert view == await h.cloud.security_groups.get(p, view.group.id), name


async def test_a_group_of_another_vpc_fails_the_launch_and_leaves_nothing(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    p = owner.principal
    _, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24")
    other = await h.cloud.vpcs.create(p, "other")
    theirs = await h.cloud.security_groups.create(p, other.id, "theirs")
    with pytest.raises(InvalidInput, match="belongs to another VPC"):
        await launch(h, owner, "vm", subnet_id=subnet, security_group_ids=(theirs.group.id,))
    assert (await h.cloud.instances.list(p, ListQuery())).total == 0
    used = {line.resource: line.used for line in await h.cloud.quotas.get(p)}
    assert used["instances"] == 0


def test_a_new_group_comes_with_its_rules() -> None:
    now = datetime.now(UTC)
    group, rules = new_security_group("t", "v", "default", "", True, "u", now)
    assert group.is_default and {r.group_id for r in rules} == {group.id}
    assert [r.direction for r in rules] == ["egress", "ingress"]
    plain, only = new_security_group("t", "v", "web", "", False, "u", now)
    assert [r.direction for r in only] == ["egress"] and plain.id != group.id


async def test_memory_keeps_one_eip_per_instance_and_one_igw_per_vpc(
    h: Harness, owner: Account
) -> None:
    now, t = datetime.now(UTC), owner.tenant_id
    vm = new_id()

    def eip(address: str, instance: str | None) -> ElasticIp:
        status = EipStatus.ASSOCIATED if instance else EipStatus.ALLOCATED
        return ElasticIp(new_id(), t, address, status, instance, "u", now, now)

    def igw(vpc: str | None) -> InternetGateway:
        status = GatewayStatus.ATTACHED if vpc else GatewayStatus.DETACHED
        return InternetGateway(new_id(), t, "", vpc, status, "u", now, now)

    async with h.cloud.uow() as uow:
        for row in (eip("100.64.0.1", vm), eip("100.64.0.2", None), eip("100.64.0.3", None)):
            await uow.elastic_ips.add(row)
        for bad in (eip("100.64.0.4", vm), eip("100.64.0.1", None)):
            with pytest.raises(Conflict):
                await uow.elastic_ips.add(bad)
        await uow.internet_gateways.add(igw("vpc-1"))
        await uow.internet_gateways.add(igw(None))
        await uow.internet_gateways.add(igw(None))
        with pytest.raises(Conflict):
            await uow.internet_gateways.add(igw("vpc-1"))
