"""The Docker bridge fabric against the real engine and the host's iptables: networks come and
go, the policy lands in the installation's own chains, stale chains go, and rules that are not
ours (the host's, Docker's, another installation's) are never touched."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.integration.docker_support import ENGINE_DOWN
from thecloud.adapters.docker.network import DockerFabric
from thecloud.domain.errors import BackendUnavailable, Conflict
from thecloud.ports.compute import LABEL_MANAGED
from thecloud.ports.network import LABEL_VPC, Endpoint, FabricState, Filter, NetworkSpec, VpcNet

FOREIGN = [
    "DOCKER-USER",
    "-s",
    "192.0.2.77/32",
    "-m",
    "comment",
    "--comment",
    "not-ours",
    "-j",
    "RETURN",
]


def iptables(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", *args], capture_output=True, text=True, check=False)


def saved() -> str:
    return iptables_save("filter") + iptables_save("nat")


def iptables_save(table: str) -> str:
    return subprocess.run(
        ["iptables-save", "-t", table], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
async def fabric() -> AsyncIterator[DockerFabric]:
    installation = f"it-{uuid.uuid4().hex[:12]}"
    f = DockerFabric(installation)
    try:
        await f.networks({LABEL_MANAGED: installation})
    except BackendUnavailable as exc:
        pytest.fail(f"{ENGINE_DOWN} ({exc.message})", pytrace=False)
    iptables("-A", *FOREIGN)
    try:
        yield f
    finally:
        for n in await f.networks({LABEL_MANAGED: installation}):
            await f.remove_network(n.name)
        await f.clear()
        iptables("-D", *FOREIGN)
        f.close()


def spec(f: DockerFabric, vpc_id: str, cidr: str) -> NetworkSpec:
    gateway = cidr.rsplit(".", 2)[0] + ".0.1"
    labels = {LABEL_VPC: vpc_id, LABEL_MANAGED: f.installation}
    return NetworkSpec(f"thecloud-it-{vpc_id}", f.bridge_name(vpc_id), cidr, gateway, labels)


async def test_networks_are_made_once_listed_by_label_and_removed(fabric: DockerFabric) -> None:
    vpc = uuid.uuid4().hex
    s = spec(fabric, vpc, "10.213.0.0/16")
    made = await fabric.ensure_network(s)
    again = await fabric.ensure_network(s)
    assert made.id == again.id and made.cidr == "10.213.0.0/16"
    assert made.created_at is not None
    listed = await fabric.networks({LABEL_VPC: vpc})
    assert [n.name for n in listed] == [s.name]
    link = subprocess.run(["ip", "link", "show", s.bridge], capture_output=True, check=False)
    assert link.returncode == 0, "the bridge carries the name the platform chose"
    other = spec(fabric, uuid.uuid4().hex, "10.213.128.0/17")
    with pytest.raises(Conflict, match="overlaps"):
        await fabric.ensure_network(other)
    await fabric.remove_network(s.name)
    await fabric.remove_network(s.name)  # gone already: fine
    assert await fabric.networks({LABEL_VPC: vpc}) == []


async def test_sync_installs_exactly_the_state_and_leaves_other_rules_alone(
    fabric: DockerFabric,
) -> None:
    p = f"TC-{fabric.tag}"
    a = VpcNet("vpc-a", fabric.bridge_name("aaaaaaaa"), "10.214.0.0/16")
    one = Endpoint(
        "11111111-0000-0000",
        "vpc-a",
        "10.214.1.2",
        (Filter("ingress", True, "tcp", ("10.214.0.0/16",), 22, 22),),
    )
    two = Endpoint("22222222-0000-0000", "vpc-a", "10.214.1.3", ())
    await fabric.sync(FabricState(vpcs=(a,), endpoints=(one, two)))
    text = saved()
    assert f"-A {p}-I-111111110000 -s 10.214.0.0/16 -p tcp -m tcp --dport 22 -j ACCEPT" in text
    assert f":{p}-I-222222220000" in text
    assert text.count(f'--comment "thecloud:{fabric.tag}"') == 6  # 3 filter, 3 nat
    await fabric.sync(FabricState(vpcs=(a,), endpoints=(one,)))  # again: no second jump
    text = saved()
    assert text.count(f'--comment "thecloud:{fabric.tag}"') == 6
    assert f":{p}-I-222222220000" not in text, "the stale chain is deleted"
    assert "not-ours" in text
    await fabric.clear()
    text = saved()
    assert p not in text and "not-ours" in text
    assert iptables("-C", *FOREIGN).returncode == 0


async def test_a_sync_puts_our_jumps_back_on_top_when_docker_inserted_rules_above(
    fabric: DockerFabric,
) -> None:
    """Docker inserts its MASQUERADE rule at the top of POSTROUTING for each new network;
    ours must stay first or an elastic IP's SNAT would never be reached."""
    state = FabricState(vpcs=(VpcNet("v", fabric.bridge_name("cccccccc"), "10.215.0.0/16"),))
    await fabric.sync(state)
    above = ["-s", "192.0.2.0/24", "-m", "comment", "--comment", "not-ours", "-j", "RETURN"]
    iptables("-t", "nat", "-I", "POSTROUTING", "1", *above)
    try:
        await fabric.sync(state)
        rules = [r for r in iptables_save("nat").splitlines() if r.startswith("-A POSTROUTING")]
        assert f"thecloud:{fabric.tag}" in rules[0]
        assert sum(f"thecloud:{fabric.tag}" in r for r in rules) == 1
        assert any("not-ours" in r for r in rules)
    finally:
        iptables("-t", "nat", "-D", "POSTROUTING", *above)


async def test_without_vpcs_nothing_is_installed_and_what_was_goes(fabric: DockerFabric) -> None:
    p = f"TC-{fabric.tag}"
    await fabric.sync(FabricState())
    assert p not in saved()
    await fabric.sync(
        FabricState(vpcs=(VpcNet("v", fabric.bridge_name("dddddddd"), "10.216.0.0/16"),))
    )
    assert f":{p}-VPC" in saved()
    await fabric.sync(FabricState())
    assert p not in saved() and "not-ours" in saved()
