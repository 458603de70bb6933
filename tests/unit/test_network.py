"""VPCs, subnets, IPAM, security groups and peering on fakes: what the services record, and
the policy they hand the fabric (checked with MemoryFabric.allows, the reference evaluation
of what the iptables chains enforce)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from thecloud.adapters.memory.fabric import MemoryFabric
from thecloud.domain.common import ListQuery
from thecloud.domain.compute import Instance, InstanceStatus
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, QuotaExceeded
from thecloud.domain.network import allocate_ip, next_free_vpc_cidr, validate_vpc_cidr
from thecloud.ports.compute import LABEL_MANAGED
from thecloud.ports.network import LABEL_VPC, NetworkState
from thecloud.services.instances import LaunchRequest
from thecloud.services.security_groups import RuleRequest


async def prepared_fabric(h: Harness) -> MemoryFabric:
    """The busybox image recorded, and the fake fabric the platform runs on."""
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    f = h.adapters.fabric
    assert isinstance(f, MemoryFabric)
    return f


@pytest.fixture
async def fabric(h: Harness) -> MemoryFabric:
    return await prepared_fabric(h)


async def vpc_and_subnets(h: Harness, owner: Account, name: str, *cidrs: str) -> list[str]:
    vpc = await h.cloud.vpcs.create(owner.principal, name)
    out = [vpc.id]
    for n, cidr in enumerate(cidrs):
        out.append((await h.cloud.subnets.create(owner.principal, vpc.id, f"s{n}", cidr)).id)
    return out


async def launch(h: Harness, owner: Account, name: str, **over: object) -> Instance:
    req = LaunchRequest(name=name, image="busybox", instance_type="basic-1", **over)  # type: ignore[arg-type]
    launched = await h.cloud.instances.launch(owner.principal, req)
    await h.cloud.worker.step()
    return await h.cloud.instances.get(owner.principal, launched.id)


async def test_a_vpc_gets_a_network_a_default_range_and_a_default_group(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    first = await h.cloud.vpcs.create(owner.principal, "prod")
    second = await h.cloud.vpcs.create(owner.principal, "dev")
    assert (first.cidr, second.cidr) == ("10.0.0.0/16", "10.1.0.0/16")
    assert first.gateway_ip == "10.0.0.1" and len(first.bridge) <= 15
    net = fabric.nets[first.network]
    assert net.labels[LABEL_VPC] == first.id and net.cidr == "10.0.0.0/16"
    groups = await h.cloud.security_groups.list(owner.principal, ListQuery())
    assert sorted(g.group.is_default for g in groups.items) == [True, True]
    explicit = await h.cloud.vpcs.create(owner.principal, "lab", "192.168.10.0/24")
    assert explicit.cidr == "192.168.10.0/24"
    with pytest.raises(Conflict, match="overlaps"):
        await h.cloud.vpcs.create(owner.principal, "clash", "10.0.128.0/17")
    with pytest.raises(Conflict, match="already exists"):
        await h.cloud.vpcs.create(owner.principal, "prod")
    with pytest.raises(InvalidInput, match="private"):
        await h.cloud.vpcs.create(owner.principal, "pub", "8.8.8.0/24")


async def test_a_range_taken_on_the_host_outside_the_platform_is_skipped(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    fabric.nets["someone-else"] = NetworkState("x", "someone-else", "10.0.0.0/16", {})
    vpc = await h.cloud.vpcs.create(owner.principal, "prod")
    assert vpc.cidr == "10.1.0.0/16"
    with pytest.raises(Conflict, match="overlaps a network already on this host"):
        await h.cloud.vpcs.create(owner.principal, "mine", "10.0.5.0/24")


async def test_network_failure_leaves_no_row_and_a_failed_row_leaves_no_network(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    fabric.down = True
    with pytest.raises(Exception, match="down"):
        await h.cloud.vpcs.create(owner.principal, "prod")
    fabric.down = False
    assert (await h.cloud.vpcs.list(owner.principal, ListQuery())).total == 0
    await h.cloud.quotas.set_limits(owner.principal, {"vpcs": 0})
    with pytest.raises(QuotaExceeded):
        await h.cloud.vpcs.create(owner.principal, "prod")
    assert fabric.nets == {}


async def test_subnets_must_fit_the_vpc_and_not_overlap(h: Harness, owner: Account) -> None:
    vpc = await h.cloud.vpcs.create(owner.principal, "prod")
    p = owner.principal
    s = await h.cloud.subnets.create(p, vpc.id, "a", "10.0.1.0/24", "zone-b")
    assert (s.availability_zone, s.gateway_ip) == ("zone-b", "10.0.0.1")
    with pytest.raises(InvalidInput, match="inside"):
        await h.cloud.subnets.create(p, vpc.id, "b", "10.1.0.0/24")
    with pytest.raises(Conflict, match="overlaps subnet a"):
        await h.cloud.subnets.create(p, vpc.id, "b", "10.0.1.128/25")
    with pytest.raises(Conflict, match="already has a subnet named"):
        await h.cloud.subnets.create(p, vpc.id, "a", "10.0.2.0/24")
    with pytest.raises(InvalidInput, match="did you mean 10.0.2.0/24"):
        await h.cloud.subnets.create(p, vpc.id, "b", "10.0.2.7/24")
    page = await h.cloud.subnets.list(p, "prod", ListQuery())
    assert [x.name for x in page.items] == ["a"]


async def test_ipam_hands_out_free_addresses_and_checks_requested_ones(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    vpc_id, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.0.0/28")
    a = await launch(h, owner, "a", subnet_id=subnet)
    b = await launch(h, owner, "b", vpc_id="prod")  # the VPC's first subnet
    # .0 network, .1 the VPC router and the subnet's first host, .15 broadcast
    assert (a.private_ip, b.private_ip) == ("10.0.0.2", "10.0.0.3")
    assert a.vpc_id == vpc_id and a.subnet_id == subnet
    c = await launch(h, owner, "c", subnet_id=subnet, private_ip="10.0.0.9")
    assert c.private_ip == "10.0.0.9"
    with pytest.raises(Conflict, match="in use"):
        await launch(h, owner, "d", subnet_id=subnet, private_ip="10.0.0.9")
    for bad, words in (("10.0.0.1", "reserved"), ("10.0.0.15", "reserved"), ("10.0.1.5", "not in")):
        with pytest.raises(InvalidInput, match=words):
            await launch(h, owner, "d", subnet_id=subnet, private_ip=bad)
    # terminating frees the address
    await h.cloud.instances.request(owner.principal, c.id, "terminate")
    await h.cloud.worker.step()
    again = await launch(h, owner, "e", subnet_id=subnet, private_ip="10.0.0.9")
    assert again.private_ip == "10.0.0.9"


def test_allocation_runs_out_with_a_clear_message() -> None:
    from thecloud.domain.network import Subnet

    now = datetime.now(UTC)
    s = Subnet("s", "t", "v", "tiny", "10.0.0.0/30", "zone-a", "10.0.0.1", "u", now, now)
    with pytest.raises(Conflict, match="no free address"):
        allocate_ip(s, ["10.0.0.2"])
    with pytest.raises(InvalidInput, match="/16 to /28"):
        validate_vpc_cidr("10.0.0.0/29")
    assert next_free_vpc_cidr(["10.0.0.0/16", "10.1.0.0/24"]) == "10.2.0.0/16"


async def test_default_groups_let_members_talk_and_vpcs_stay_apart(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    _, sa = await vpc_and_subnets(h, owner, "a", "10.0.1.0/24")
    _, sb = await vpc_and_subnets(h, owner, "b", "10.1.1.0/24")
    a1 = await launch(h, owner, "a1", subnet_id=sa)
    a2 = await launch(h, owner, "a2", subnet_id=sa)
    b1 = await launch(h, owner, "b1", subnet_id=sb)
    assert fabric.allows(a1.private_ip, a2.private_ip, "tcp", 22)
    assert not fabric.allows(a1.private_ip, b1.private_ip, "icmp")
    peering = await h.cloud.peerings.create(owner.principal, "a", "b")
    await h.cloud.peerings.accept(owner.principal, peering.id)
    # the path is open, but b's default group takes only its own members
    assert not fabric.allows(a1.private_ip, b1.private_ip, "icmp")
    rule = RuleRequest("ingress", "all", cidr="10.0.0.0/16")
    await h.cloud.security_groups.add_rule(owner.principal, (await _default(h, owner, "b")), rule)
    assert fabric.allows(a1.private_ip, b1.private_ip, "icmp")
    await h.cloud.peerings.delete(owner.principal, peering.id)
    assert not fabric.allows(a1.private_ip, b1.private_ip, "icmp")


async def _default(h: Harness, owner: Account, vpc: str) -> str:
    vpc_id = (await h.cloud.vpcs.get(owner.principal, vpc)).id
    groups = await h.cloud.security_groups.list(owner.principal, ListQuery())
    return next(g.group.id for g in groups.items if g.group.vpc_id == vpc_id and g.group.is_default)


async def test_rules_by_priority_with_deny_first_and_group_peers(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    vpc_id, s1, s2 = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24", "10.0.2.0/24")
    p = owner.principal
    web = await h.cloud.security_groups.create(p, vpc_id, "web")
    clients = await h.cloud.security_groups.create(p, vpc_id, "clients")
    server = await launch(h, owner, "srv", subnet_id=s1, security_group_ids=("web",))
    near = await launch(h, owner, "near", subnet_id=s1)
    member = await launch(h, owner, "member", subnet_id=s2, security_group_ids=("clients",))
    assert not fabric.allows(near.private_ip, server.private_ip, "tcp", 80)
    await h.cloud.security_groups.add_rule(
        p, "web", RuleRequest("ingress", "tcp", 80, 80, cidr="10.0.1.0/24")
    )
    await h.cloud.security_groups.add_rule(
        p, web.group.id, RuleRequest("ingress", "tcp", 8000, 8100, group_id=clients.group.id)
    )
    assert fabric.allows(near.private_ip, server.private_ip, "tcp", 80)
    assert not fabric.allows(near.private_ip, server.private_ip, "tcp", 81)
    assert not fabric.allows(member.private_ip, server.private_ip, "tcp", 80)
    assert fabric.allows(member.private_ip, server.private_ip, "tcp", 8050)
    assert not fabric.allows(near.private_ip, server.private_ip, "tcp", 8050)
    deny = RuleRequest("ingress", "tcp", 80, cidr=f"{near.private_ip}/32", action="deny")
    await h.cloud.security_groups.add_rule(p, "web", deny)  # same priority: deny first
    assert not fabric.allows(near.private_ip, server.private_ip, "tcp", 80)
    view = await h.cloud.security_groups.get(p, "web")
    assert view.instance_ids == (server.id,)
    with pytest.raises(Conflict, match="attached"):
        await h.cloud.security_groups.delete(p, "web")
    await h.cloud.security_groups.detach(p, member.id, "clients")
    with pytest.raises(Conflict, match="named by rules"):
        await h.cloud.security_groups.delete(p, "clients")
    await h.cloud.security_groups.detach(p, server.id, "web")
    assert not fabric.allows(near.private_ip, server.private_ip, "tcp", 80)  # no group: closed
    await h.cloud.security_groups.attach(p, server.id, "default")
    assert fabric.allows(near.private_ip, server.private_ip, "tcp", 80)


async def test_rule_input_is_checked(h: Harness, owner: Account) -> None:
    vpc = await h.cloud.vpcs.create(owner.principal, "prod")
    other = await h.cloud.vpcs.create(owner.principal, "other")
    g = await h.cloud.security_groups.create(owner.principal, vpc.id, "g")
    o = await h.cloud.security_groups.create(owner.principal, other.id, "o")
    cases = [
        (RuleRequest("up", "tcp", cidr="0.0.0.0/0"), "direction"),
        (RuleRequest("ingress", "sctp", cidr="0.0.0.0/0"), "protocol"),
        (RuleRequest("ingress", "tcp", 90, 80, cidr="0.0.0.0/0"), "port"),
        (RuleRequest("ingress", "icmp", 1, cidr="0.0.0.0/0"), "tcp and udp"),
        (RuleRequest("ingress", "tcp"), "exactly one"),
        (RuleRequest("ingress", "tcp", cidr="10.0.0.0/33"), "not an IPv4 network"),
        (RuleRequest("ingress", "tcp", cidr="0.0.0.0/0", priority=0), "priority"),
        (RuleRequest("ingress", "tcp", cidr="0.0.0.0/0", action="maybe"), "action"),
        (RuleRequest("ingress", "tcp", group_id=o.group.id), "same VPC"),
    ]
    for request, words in cases:
        with pytest.raises(InvalidInput, match=words):
            await h.cloud.security_groups.add_rule(owner.principal, g.group.id, request)
    with pytest.raises(Conflict, match="default security group"):
        await h.cloud.security_groups.delete(owner.principal, await _default(h, owner, "prod"))


async def test_peering_rules(h: Harness, owner: Account) -> None:
    p = owner.principal
    await h.cloud.vpcs.create(p, "a", "10.0.0.0/16")
    await h.cloud.vpcs.create(p, "b", "10.1.0.0/16")
    await h.cloud.vpcs.create(p, "c", "192.168.0.0/24")
    with pytest.raises(InvalidInput, match="itself"):
        await h.cloud.peerings.create(p, "a", "a")
    first = await h.cloud.peerings.create(p, "a", "b")
    with pytest.raises(Conflict, match="already have a peering"):
        await h.cloud.peerings.create(p, "b", "a")
    rejected = await h.cloud.peerings.reject(p, first.id)
    assert rejected.status == "REJECTED"
    with pytest.raises(Conflict, match="not pending"):
        await h.cloud.peerings.accept(p, first.id)
    second = await h.cloud.peerings.create(p, "b", "a")  # a rejected one does not block
    assert (await h.cloud.peerings.accept(p, second.id)).status == "ACTIVE"
    with pytest.raises(Conflict, match="peering"):
        await h.cloud.vpcs.delete(p, "a")
    stranger = await h.register("stranger")
    theirs = await h.cloud.vpcs.create(stranger.principal, "theirs", "10.2.0.0/16")
    with pytest.raises(NotFound):
        await h.cloud.peerings.create(p, "a", theirs.id)
    with pytest.raises(NotFound):
        await h.cloud.peerings.get(stranger.principal, second.id)


async def test_deleting_a_vpc(h: Harness, owner: Account, fabric: MemoryFabric) -> None:
    p = owner.principal
    vpc_id, subnet = await vpc_and_subnets(h, owner, "prod", "10.0.1.0/24")
    vm = await launch(h, owner, "vm", subnet_id=subnet)
    with pytest.raises(Conflict, match="1 instance and 0 peerings"):
        await h.cloud.vpcs.delete(p, "prod")
    with pytest.raises(Conflict, match="in use by 1 instance"):
        await h.cloud.subnets.delete(p, subnet)
    pending = await h.cloud.vpcs.delete(p, "prod", force=True)
    assert pending is not None and pending.status == "DELETING"
    with pytest.raises(Conflict, match="being deleted"):
        await h.cloud.subnets.create(p, vpc_id, "late", "10.0.2.0/24")
    await h.cloud.worker.step()  # terminates the instance
    assert (await h.cloud.instances.get(p, vm.id)).status == InstanceStatus.DELETED
    await h.cloud.worker.step()  # then the VPC goes
    with pytest.raises(NotFound):
        await h.cloud.vpcs.get(p, vpc_id)
    assert fabric.nets == {} and fabric.state.endpoints == ()
    empty = await h.cloud.vpcs.create(p, "empty")
    assert await h.cloud.vpcs.delete(p, empty.id) is None
    used = {line.resource: line.used for line in await h.cloud.quotas.get(p)}
    assert used["vpcs"] == 0


async def test_viewers_read_and_strangers_see_nothing(h: Harness, owner: Account) -> None:
    vpc = await h.cloud.vpcs.create(owner.principal, "prod")
    viewer = await h.member(owner, "viewer")
    assert (await h.cloud.vpcs.get(viewer, "prod")).id == vpc.id
    with pytest.raises(Forbidden):
        await h.cloud.vpcs.create(viewer, "mine")
    with pytest.raises(Forbidden):
        await h.cloud.security_groups.create(viewer, vpc.id, "g")
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.vpcs.get(stranger.principal, vpc.id)
    with pytest.raises(NotFound):
        await h.cloud.subnets.create(stranger.principal, vpc.id, "s", "10.0.1.0/24")


async def test_renaming(h: Harness, owner: Account) -> None:
    await h.cloud.vpcs.create(owner.principal, "prod")
    await h.cloud.vpcs.create(owner.principal, "dev")
    renamed = await h.cloud.vpcs.update(owner.principal, "prod", name="live", labels={"k": "v"})
    assert (renamed.name, renamed.labels, renamed.version) == ("live", {"k": "v"}, 2)
    with pytest.raises(Conflict):
        await h.cloud.vpcs.update(owner.principal, "live", name="dev")


async def test_the_reconciler_recreates_lost_networks_and_removes_orphans(
    h: Harness, owner: Account, fabric: MemoryFabric
) -> None:
    vpc = await h.cloud.vpcs.create(owner.principal, "prod")
    del fabric.nets[vpc.network]
    installation = h.cloud.settings.installation
    old = datetime(2020, 1, 1, tzinfo=UTC)
    labels = {LABEL_VPC: "gone", LABEL_MANAGED: installation}
    fabric.nets["orphan"] = NetworkState("o", "orphan", "10.9.0.0/16", labels, old)
    young = h.cloud.clock.now()
    fabric.nets["in-flight"] = NetworkState("f", "in-flight", "10.8.0.0/16", labels, young)
    assert await h.cloud.fabric.reconcile() == 2
    assert set(fabric.nets) == {vpc.network, "in-flight"}
