"""The SDK's networking resources: requests over httpx.MockTransport, then the real API
(in-process, on the in-memory platform) driven through the async client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from tests.unit.test_sdk_compute import FakeAPI, fail, instance, ok
from thecloud.adapters.memory.fabric import MemoryFabric
from thecloud.entrypoints.api.app import create_app
from thecloud.sdk import (
    AsyncClient,
    ConflictError,
    NotFoundError,
    ValidationError,
    WaitTimeoutError,
)

VPC = {"id": "v-1", "name": "net", "cidr_block": "10.0.0.0/16", "status": "AVAILABLE"}
SUBNET = {"id": "s-1", "vpc_id": "v-1", "name": "web", "cidr_block": "10.0.1.0/24"}
GROUP = {"id": "g-1", "vpc_id": "v-1", "name": "web", "rules": [], "instance_ids": []}
RULE = {"id": "r-1", "group_id": "g-1", "direction": "ingress", "protocol": "tcp"}
PEERING = {"id": "p-1", "requester_vpc_id": "v-1", "accepter_vpc_id": "v-2"}


def listed(items: list[Any], **meta: Any) -> httpx.Response:
    return ok(items, **{"total": len(items), "limit": 100, "offset": 0, "has_more": False, **meta})


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


def test_vpc_create_sends_only_what_was_given(api: FakeAPI) -> None:
    api.on("POST /vpcs", ok(VPC, 201))
    client = api.client()
    assert client.vpcs.create("net") == VPC
    assert sent(api.requests[0]) == {"name": "net"}
    client.vpcs.create(
        "net",
        cidr_block="10.8.0.0/16",
        description="the web tier",
        labels={"team": "blue"},
        idempotency_key="vpc-1",
    )
    request = api.requests[1]
    assert request.headers["Idempotency-Key"] == "vpc-1"
    assert sent(request) == {
        "name": "net",
        "cidr_block": "10.8.0.0/16",
        "description": "the web tier",
        "labels": {"team": "blue"},
    }


def test_vpc_list_get_update_and_iterate(api: FakeAPI) -> None:
    api.on("GET /vpcs", listed([VPC], total=2, has_more=True), listed([{**VPC, "id": "v-2"}]))
    api.on("GET /vpcs/a/b", ok(VPC))
    api.on("PATCH /vpcs/net", ok({**VPC, "description": "new"}))
    client = api.client()
    page = client.vpcs.list(name="net", limit=1, offset=0)
    assert page.items == [VPC] and page.has_more
    assert dict(api.requests[0].url.params) == {"name": "net", "limit": "1", "offset": "0"}
    assert client.vpcs.get("a/b") == VPC
    assert api.requests[-1].url.raw_path == b"/vpcs/a%2Fb"  # always one path segment
    assert client.vpcs.update("net", description="new")["description"] == "new"
    assert sent(api.sent("PATCH /vpcs/net")[0]) == {"description": "new"}
    client.vpcs.update("net", name="renamed", labels={})
    assert sent(api.sent("PATCH /vpcs/net")[1]) == {"name": "renamed", "labels": {}}
    api.on("GET /vpcs", listed([VPC], total=2, has_more=True), listed([{**VPC, "id": "v-2"}]))
    assert [v["id"] for v in client.vpcs.iterate(page_size=1)] == ["v-1", "v-2"]
    offsets = [r.url.params["offset"] for r in api.sent("GET /vpcs")[1:]]
    assert offsets == ["0", "1"]


def test_vpc_delete_sends_force_only_when_asked(api: FakeAPI) -> None:
    api.on("DELETE /vpcs/net", httpx.Response(204), ok({**VPC, "status": "DELETING"}, 202))
    client = api.client()
    assert client.vpcs.delete("net") is None
    assert client.vpcs.delete("net", force=True) is None
    first, second = api.sent("DELETE /vpcs/net")
    assert "force" not in first.url.params
    assert second.url.params["force"] == "true"


def test_vpc_delete_refused_is_a_conflict(api: FakeAPI) -> None:
    message = "VPC net still has 1 instance and 0 peerings: ... or delete the VPC with ?force=true"
    api.on("DELETE /vpcs/net", fail(409, "CONFLICT", message))
    with pytest.raises(ConflictError, match="force=true"):
        api.client().vpcs.delete("net")


def test_wait_deleted_polls_until_the_vpc_is_gone(api: FakeAPI) -> None:
    deleting = ok({**VPC, "status": "DELETING"})
    api.on("GET /vpcs/v-1", deleting, deleting, fail(404, "NOT_FOUND", "VPC v-1 not found"))
    seen: list[str] = []
    gone = api.client().vpcs.wait_deleted(
        VPC, interval=0.01, on_status=lambda v: seen.append(v["status"])
    )
    assert gone == {**VPC, "status": "DELETED"}
    assert seen == ["DELETING", "DELETED"]
    assert len(api.sent("GET /vpcs/v-1")) == 3


def test_wait_deleted_times_out_while_instances_remain(api: FakeAPI) -> None:
    api.on("GET /vpcs/net", ok({**VPC, "status": "DELETING"}))
    with pytest.raises(WaitTimeoutError, match="VPC net .* is still DELETING"):
        api.client().vpcs.wait_deleted("net", timeout=0.03, interval=0.01)


def test_subnets_are_created_and_listed_under_their_vpc(api: FakeAPI) -> None:
    api.on("POST /vpcs/net/subnets", ok(SUBNET, 201))
    api.on("GET /vpcs/net/subnets", listed([SUBNET]))
    api.on("GET /subnets/s-1", ok(SUBNET))
    api.on("DELETE /subnets/s-1", httpx.Response(204))
    client = api.client()
    assert client.subnets.create("net", "web", "10.0.1.0/24") == SUBNET
    assert sent(api.requests[-1]) == {"name": "web", "cidr_block": "10.0.1.0/24"}
    client.subnets.create("net", "db", "10.0.2.0/24", availability_zone="zone-b")
    assert sent(api.requests[-1])["availability_zone"] == "zone-b"
    assert client.subnets.list("net", name="web").items == [SUBNET]
    assert api.requests[-1].url.params["name"] == "web"
    assert [s["id"] for s in client.subnets.iterate("net")] == ["s-1"]
    assert client.subnets.get("s-1") == SUBNET
    assert client.subnets.delete("s-1") is None


def test_security_group_calls(api: FakeAPI) -> None:
    api.on("POST /security-groups", ok(GROUP, 201))
    api.on("GET /security-groups", listed([GROUP]))
    api.on("GET /security-groups/web", ok(GROUP))
    api.on("DELETE /security-groups/web", httpx.Response(204))
    api.on("POST /security-groups/attach", ok({**GROUP, "instance_ids": ["i-1"]}))
    api.on("POST /security-groups/detach", ok(GROUP))
    api.on("DELETE /security-groups/rules/r-1", httpx.Response(204))
    client = api.client()
    client.security_groups.create("net", "web", description="http", idempotency_key="g")
    assert sent(api.requests[-1]) == {"vpc_id": "net", "name": "web", "description": "http"}
    assert api.requests[-1].headers["Idempotency-Key"] == "g"
    client.security_groups.list(vpc_id="v-1", name="web")
    assert dict(api.requests[-1].url.params) == {"vpc_id": "v-1", "name": "web"}
    assert [g["id"] for g in client.security_groups.iterate(vpc_id="v-1")] == ["g-1"]
    assert client.security_groups.get("web") == GROUP
    assert client.security_groups.attach("web", "vm")["instance_ids"] == ["i-1"]
    assert sent(api.requests[-1]) == {"instance_id": "vm", "group_id": "web"}
    client.security_groups.detach("g-1", "i-1")
    assert sent(api.requests[-1]) == {"instance_id": "i-1", "group_id": "g-1"}
    assert client.security_groups.remove_rule("r-1") is None
    assert client.security_groups.delete("web") is None


def test_add_rule_names_the_fields_as_the_api_does(api: FakeAPI) -> None:
    api.on("POST /security-groups/g-1/rules", ok(RULE, 201))
    client = api.client()
    assert client.security_groups.add_rule("g-1", "ingress", cidr="0.0.0.0/0") == RULE
    assert sent(api.requests[-1]) == {"direction": "ingress", "cidr": "0.0.0.0/0"}
    client.security_groups.add_rule(
        "g-1",
        "egress",
        protocol="udp",
        port_min=8000,
        port_max=8100,
        source_group="db",
        priority=10,
        action="deny",
        description="no",
        idempotency_key="rule-1",
    )
    assert sent(api.requests[-1]) == {
        "direction": "egress",
        "protocol": "udp",
        "port_min": 8000,
        "port_max": 8100,
        "source_group_id": "db",
        "priority": 10,
        "action": "deny",
        "description": "no",
    }
    assert api.requests[-1].headers["Idempotency-Key"] == "rule-1"


def test_peering_calls(api: FakeAPI) -> None:
    api.on("POST /vpc-peerings", ok({**PEERING, "status": "PENDING_ACCEPTANCE"}, 201))
    api.on("GET /vpc-peerings", listed([PEERING]))
    api.on("GET /vpc-peerings/p-1", ok(PEERING))
    api.on("POST /vpc-peerings/p-1/accept", ok({**PEERING, "status": "ACTIVE"}))
    api.on("POST /vpc-peerings/p-1/reject", fail(409, "CONFLICT", "peering p-1 is ACTIVE"))
    api.on("DELETE /vpc-peerings/p-1", httpx.Response(204))
    client = api.client()
    client.vpc_peerings.create("net", "other", idempotency_key="peer")
    assert sent(api.requests[-1]) == {"requester_vpc_id": "net", "accepter_vpc_id": "other"}
    client.vpc_peerings.list(status="ACTIVE")
    assert api.requests[-1].url.params["status"] == "ACTIVE"
    assert [p["id"] for p in client.vpc_peerings.iterate()] == ["p-1"]
    assert client.vpc_peerings.get("p-1") == PEERING
    assert client.vpc_peerings.accept("p-1")["status"] == "ACTIVE"
    with pytest.raises(ConflictError, match="is ACTIVE"):
        client.vpc_peerings.reject("p-1")
    assert client.vpc_peerings.delete("p-1") is None


def test_launch_into_a_vpc_sends_the_placement(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(vpc_id="v-1", private_ip="10.0.1.9"), 202))
    client = api.client()
    client.instances.launch(
        "web",
        "busybox",
        vpc_id="net",
        subnet_id="s-1",
        private_ip="10.0.1.9",
        security_group_ids=("web", "default"),
    )
    assert sent(api.requests[-1]) == {
        "name": "web",
        "image": "busybox",
        "vpc_id": "net",
        "subnet_id": "s-1",
        "private_ip": "10.0.1.9",
        "security_group_ids": ["web", "default"],
    }
    client.instances.launch("db", "busybox", vpc_id="net", security_group_ids=[])
    assert sent(api.requests[-1]) == {"name": "db", "image": "busybox", "vpc_id": "net"}


async def test_the_async_client_shares_the_implementation(api: FakeAPI) -> None:
    api.on("POST /vpcs", ok(VPC, 201))
    api.on("DELETE /vpcs/v-1", httpx.Response(204))
    api.on("GET /vpcs/v-1", fail(404, "NOT_FOUND", "VPC v-1 not found"))
    api.on("POST /security-groups/g-1/rules", ok(RULE, 201))
    async with api.async_client() as client:
        vpc = await client.vpcs.create("net", cidr_block="10.0.0.0/16")
        await client.security_groups.add_rule("g-1", "ingress", port_min=22, cidr="10.0.0.0/16")
        assert await client.vpcs.delete("v-1", force=True) is None
        gone = await client.vpcs.wait_deleted(vpc, interval=0.01)
    assert gone["status"] == "DELETED"
    assert sent(api.requests[1])["port_min"] == 22
    assert api.requests[2].url.params["force"] == "true"


# --- the real API, in-process ----------------------------------------------------------------


@pytest.fixture
async def cloud_client(h: Harness, owner: Account) -> AsyncIterator[AsyncClient]:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    async with AsyncClient("http://cloud.test", api_key=owner.key, transport=transport) as c:
        yield c


async def test_the_sdk_against_the_api_end_to_end(h: Harness, cloud_client: AsyncClient) -> None:
    c, fabric = cloud_client, h.adapters.fabric
    assert isinstance(fabric, MemoryFabric)
    net = await c.vpcs.create("net", labels={"tier": "web"})
    other = await c.vpcs.create("other")
    assert (net["cidr_block"], other["cidr_block"]) == ("10.0.0.0/16", "10.1.0.0/16")
    assert (await c.vpcs.update("net", description="front"))["description"] == "front"
    web = await c.subnets.create("net", "web", "10.0.1.0/24")
    await c.subnets.create("other", "all", "10.1.0.0/24")
    assert [s["name"] for s in (await c.subnets.list("net")).items] == ["web"]
    with pytest.raises(ValidationError, match="not inside"):
        await c.subnets.create("net", "bad", "192.168.0.0/24")

    a = await c.instances.launch("a", "busybox", subnet_id=web["id"])
    b = await c.instances.launch("b", "busybox", vpc_id="net", private_ip=None)
    far = await c.instances.launch("far", "busybox", vpc_id="other")
    assert (a["private_ip"], b["private_ip"], far["vpc_id"]) == (
        "10.0.1.2",
        "10.0.1.3",
        other["id"],
    )
    await h.cloud.worker.step()  # the worker starts them: the data path now knows them
    ip_a, ip_b, ip_far = "10.0.1.2", "10.0.1.3", "10.1.0.2"
    assert fabric.allows(ip_a, ip_b, "icmp")  # the default group: members reach each other
    assert not fabric.allows(ip_a, ip_far, "icmp")  # another VPC: unreachable

    groups = (await c.security_groups.list(vpc_id=net["id"])).items
    assert [g["name"] for g in groups] == ["default"]
    assert sorted(groups[0]["instance_ids"]) == sorted([a["id"], b["id"]])
    web_group = await c.security_groups.create(net["id"], "web")
    await c.security_groups.detach(groups[0]["id"], b["id"])
    attached = await c.security_groups.attach(web_group["id"], b["id"])
    assert attached["instance_ids"] == [b["id"]]
    assert not fabric.allows(ip_a, ip_b, "tcp", 80)  # nothing opens the web group yet
    rule = await c.security_groups.add_rule(
        web_group["id"], "ingress", port_min=80, cidr="10.0.1.0/24"
    )
    assert (rule["port_min"], rule["port_max"], rule["source_group_id"]) == (80, 80, None)
    assert fabric.allows(ip_a, ip_b, "tcp", 80)  # in force when the call returned
    assert not fabric.allows(ip_a, ip_b, "tcp", 81)
    deny = await c.security_groups.add_rule(
        web_group["id"], "ingress", port_min=80, cidr=f"{ip_a}/32", action="deny", priority=10
    )
    assert not fabric.allows(ip_a, ip_b, "tcp", 80)
    await c.security_groups.remove_rule(deny["id"])
    assert fabric.allows(ip_a, ip_b, "tcp", 80)

    peering = await c.vpc_peerings.create("net", "other")
    assert peering["status"] == "PENDING_ACCEPTANCE"
    [their_default] = (await c.security_groups.list(vpc_id=other["id"])).items
    await c.security_groups.add_rule(
        their_default["id"], "ingress", protocol="icmp", cidr=net["cidr_block"]
    )
    assert not fabric.allows(ip_a, ip_far, "icmp")  # pending: the path is still closed
    assert (await c.vpc_peerings.accept(peering["id"]))["status"] == "ACTIVE"
    assert fabric.allows(ip_a, ip_far, "icmp")
    assert [p["id"] for p in (await c.vpc_peerings.list(status="ACTIVE")).items] == [peering["id"]]

    with pytest.raises(ConflictError, match="force=true"):
        await c.vpcs.delete("net")
    with pytest.raises(ConflictError, match="attached"):
        await c.security_groups.delete(web_group["id"])
    assert await c.vpcs.delete("net", force=True) is None
    assert (await c.vpcs.get("net"))["status"] == "DELETING"
    assert not fabric.allows(ip_a, ip_far, "icmp")  # its peering went at once
    for _ in range(3):  # terminate the instances, then the worker removes the VPC
        await h.cloud.worker.step()
    gone = await c.vpcs.wait_deleted(net, timeout=5, interval=0.01)
    assert gone["status"] == "DELETED"
    with pytest.raises(NotFoundError):
        await c.subnets.get(web["id"])
