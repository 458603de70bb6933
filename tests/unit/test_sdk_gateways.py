"""The SDK's elastic IPs, internet and NAT gateways and route tables: requests over
httpx.MockTransport, then the real API (in-process, on the in-memory platform) driven through
the async client, checking what the data path was given."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from tests.unit.test_sdk_compute import FakeAPI, fail
from tests.unit.test_sdk_network import listed, ok, sent
from thecloud.adapters.memory.fabric import MemoryFabric
from thecloud.entrypoints.api.app import create_app
from thecloud.ports.network import Egress, PublicAddress
from thecloud.sdk import AsyncClient, ConflictError, NotFoundError, ValidationError

EIP = {"id": "e-1", "address": "100.64.0.1", "status": "ALLOCATED", "instance_id": None}
IGW = {"id": "gw-1", "name": "gw", "vpc_id": None, "status": "DETACHED"}
NAT = {"id": "n-1", "vpc_id": "v-1", "subnet_id": "s-1", "eip_id": "e-1", "status": "AVAILABLE"}
LOCAL = {"destination_cidr": "10.0.0.0/16", "target_type": "local", "target_id": None}
TABLE = {"id": "t-1", "vpc_id": "v-1", "name": "public", "is_main": False, "routes": [LOCAL]}


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


def test_elastic_ip_calls(api: FakeAPI) -> None:
    associated = {**EIP, "status": "ASSOCIATED", "instance_id": "i-1"}
    api.on("POST /elastic-ips", ok(EIP, 201))
    api.on("GET /elastic-ips", listed([EIP], total=2, has_more=True), listed([associated]))
    api.on("GET /elastic-ips/100.64.0.1", ok(EIP))
    api.on("POST /elastic-ips/e-1/associate", ok(associated))
    api.on("POST /elastic-ips/e-1/disassociate", ok(EIP))
    api.on("DELETE /elastic-ips/e-1", httpx.Response(204))
    client = api.client()
    assert client.elastic_ips.allocate(idempotency_key="eip-1") == EIP
    allocate = api.requests[-1]
    assert allocate.content == b"" and allocate.headers["Idempotency-Key"] == "eip-1"
    page = client.elastic_ips.list(status="ALLOCATED", limit=1)
    assert page.items == [EIP] and page.has_more
    assert dict(api.requests[-1].url.params) == {"status": "ALLOCATED", "limit": "1"}
    api.on("GET /elastic-ips", listed([EIP], total=2, has_more=True), listed([associated]))
    assert [e["status"] for e in client.elastic_ips.iterate(page_size=1)] == [
        "ALLOCATED",
        "ASSOCIATED",
    ]
    assert client.elastic_ips.get("100.64.0.1") == EIP
    assert client.elastic_ips.associate("e-1", "web")["instance_id"] == "i-1"
    assert sent(api.requests[-1]) == {"instance_id": "web"}
    assert client.elastic_ips.disassociate("e-1")["status"] == "ALLOCATED"
    assert api.requests[-1].content == b""
    assert client.elastic_ips.release("e-1") is None


def test_release_while_associated_is_a_conflict(api: FakeAPI) -> None:
    message = "elastic IP 100.64.0.1 is associated: disassociate it first"
    api.on("DELETE /elastic-ips/e-1", fail(409, "CONFLICT", message))
    with pytest.raises(ConflictError, match="disassociate it first"):
        api.client().elastic_ips.release("e-1")


def test_internet_gateway_calls(api: FakeAPI) -> None:
    attached = {**IGW, "vpc_id": "v-1", "status": "ATTACHED"}
    api.on("POST /internet-gateways", ok(IGW, 201))
    api.on("GET /internet-gateways", listed([IGW]))
    api.on("GET /internet-gateways/gw", ok(IGW))
    api.on("POST /internet-gateways/gw/attach", ok(attached))
    api.on("POST /internet-gateways/gw/detach", ok(IGW))
    api.on("DELETE /internet-gateways/gw", httpx.Response(204))
    client = api.client()
    client.internet_gateways.create()
    assert sent(api.requests[-1]) == {}
    client.internet_gateways.create(name="gw", idempotency_key="igw")
    assert sent(api.requests[-1]) == {"name": "gw"}
    assert api.requests[-1].headers["Idempotency-Key"] == "igw"
    client.internet_gateways.list(limit=5, offset=5)
    assert dict(api.requests[-1].url.params) == {"limit": "5", "offset": "5"}
    assert [g["id"] for g in client.internet_gateways.iterate()] == ["gw-1"]
    assert client.internet_gateways.get("gw") == IGW
    assert client.internet_gateways.attach("gw", "net")["status"] == "ATTACHED"
    assert sent(api.requests[-1]) == {"vpc_id": "net"}
    client.internet_gateways.detach("gw")
    assert sent(api.requests[-1]) == {}
    client.internet_gateways.detach("gw", vpc="net")
    assert sent(api.requests[-1]) == {"vpc_id": "net"}
    assert client.internet_gateways.delete("gw") is None


def test_nat_gateway_calls(api: FakeAPI) -> None:
    api.on("POST /nat-gateways", ok(NAT, 201))
    api.on("GET /nat-gateways", listed([NAT]))
    api.on("GET /nat-gateways/n-1", ok(NAT))
    api.on("DELETE /nat-gateways/n-1", fail(409, "CONFLICT", "route tables public route ..."))
    client = api.client()
    assert client.nat_gateways.create("s-1", "100.64.0.1", idempotency_key="nat") == NAT
    assert sent(api.requests[-1]) == {"subnet_id": "s-1", "eip_id": "100.64.0.1"}
    assert api.requests[-1].headers["Idempotency-Key"] == "nat"
    assert client.nat_gateways.list().items == [NAT]
    assert [n["id"] for n in client.nat_gateways.iterate()] == ["n-1"]
    assert client.nat_gateways.get("n-1") == NAT
    with pytest.raises(ConflictError, match="route tables public"):
        client.nat_gateways.delete("n-1")


def test_route_table_calls(api: FakeAPI) -> None:
    routed = {**TABLE, "routes": [LOCAL, {"destination_cidr": "0.0.0.0/0",
                                          "target_type": "igw", "target_id": "gw-1"}]}  # fmt: skip
    api.on("POST /route-tables", ok(TABLE, 201))
    api.on("GET /route-tables", listed([TABLE]))
    api.on("GET /route-tables/t-1", ok({**TABLE, "subnet_ids": ["s-1"]}))
    api.on("POST /route-tables/t-1/routes", ok(routed, 201))
    api.on("DELETE /route-tables/t-1/routes", ok(TABLE))
    api.on("POST /route-tables/t-1/associate", ok(TABLE))
    api.on("POST /route-tables/t-1/disassociate", ok(TABLE))
    api.on("DELETE /route-tables/t-1", httpx.Response(204))
    client = api.client()
    client.route_tables.create("net", "public", idempotency_key="rt")
    assert sent(api.requests[-1]) == {"vpc_id": "net", "name": "public", "is_main": False}
    assert api.requests[-1].headers["Idempotency-Key"] == "rt"
    client.route_tables.create("net", "main2", is_main=True)
    assert sent(api.requests[-1])["is_main"] is True
    client.route_tables.list(vpc_id="v-1")
    assert dict(api.requests[-1].url.params) == {"vpc_id": "v-1"}
    assert [t["id"] for t in client.route_tables.iterate(vpc_id="v-1")] == ["t-1"]
    assert client.route_tables.get("t-1")["subnet_ids"] == ["s-1"]
    assert client.route_tables.add_route("t-1", "0.0.0.0/0", internet_gateway="gw") == routed
    assert sent(api.requests[-1]) == {
        "destination_cidr": "0.0.0.0/0",
        "target_type": "igw",
        "target_id": "gw",
    }
    client.route_tables.add_route("t-1", "8.8.8.0/24", nat_gateway="n-1")
    assert sent(api.requests[-1]) == {
        "destination_cidr": "8.8.8.0/24",
        "target_type": "nat",
        "target_id": "n-1",
    }
    assert client.route_tables.remove_route("t-1", "0.0.0.0/0") == TABLE
    assert dict(api.requests[-1].url.params) == {"destination_cidr": "0.0.0.0/0"}
    client.route_tables.associate("t-1", "s-1")
    assert sent(api.requests[-1]) == {"subnet_id": "s-1"}
    client.route_tables.disassociate("t-1", "s-1")
    assert sent(api.requests[-1]) == {"subnet_id": "s-1"}
    assert client.route_tables.delete("t-1") is None


@pytest.mark.parametrize("targets", [{}, {"internet_gateway": "gw", "nat_gateway": "n-1"}])
def test_add_route_needs_exactly_one_target(api: FakeAPI, targets: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        api.client().route_tables.add_route("t-1", "0.0.0.0/0", **targets)
    assert api.requests == []


async def test_the_async_client_shares_the_implementation(api: FakeAPI) -> None:
    api.on("POST /elastic-ips", ok(EIP, 201))
    api.on("POST /route-tables/t-1/routes", ok(TABLE, 201))
    api.on("DELETE /route-tables/t-1/routes", ok(TABLE))
    async with api.async_client() as client:
        assert await client.elastic_ips.allocate() == EIP
        await client.route_tables.add_route("t-1", "0.0.0.0/0", nat_gateway="n-1")
        await client.route_tables.remove_route("t-1", "0.0.0.0/0")
    assert sent(api.requests[1])["target_type"] == "nat"
    assert api.requests[2].url.params["destination_cidr"] == "0.0.0.0/0"


# --- the real API, in-process ----------------------------------------------------------------


@pytest.fixture
async def cloud_client(h: Harness, owner: Account) -> AsyncIterator[AsyncClient]:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    async with AsyncClient("http://cloud.test", api_key=owner.key, transport=transport) as c:
        yield c


def egress_of(fabric: MemoryFabric, vpc_id: str) -> tuple[Egress, ...]:
    return next(v.egress for v in fabric.state.vpcs if v.id == vpc_id)


async def test_elastic_ips_against_the_api(h: Harness, cloud_client: AsyncClient) -> None:
    c, fabric = cloud_client, h.adapters.fabric
    assert isinstance(fabric, MemoryFabric)
    await c.vpcs.create("net")
    subnet = await c.subnets.create("net", "web", "10.0.1.0/24")
    vm = await c.instances.launch("vm", "busybox", subnet_id=subnet["id"])
    outside = await c.instances.launch("outside", "busybox")
    await h.cloud.worker.step()

    eip = await c.elastic_ips.allocate()
    other = await c.elastic_ips.allocate()
    assert (eip["address"], other["address"]) == ("100.64.0.1", "100.64.0.2")
    assert eip["status"] == "ALLOCATED" and eip["instance_id"] is None
    assert (await c.elastic_ips.get("100.64.0.1"))["id"] == eip["id"]
    with pytest.raises(ValidationError, match="not in a VPC"):
        await c.elastic_ips.associate(eip["id"], outside["id"])

    associated = await c.elastic_ips.associate(eip["address"], "vm")
    assert (associated["status"], associated["instance_id"]) == ("ASSOCIATED", vm["id"])
    assert fabric.state.public == (PublicAddress("100.64.0.1", "10.0.1.2"),)  # in force now
    with pytest.raises(ConflictError, match="already has an elastic IP"):
        await c.elastic_ips.associate(other["id"], vm["id"])
    with pytest.raises(ConflictError, match="disassociate it first"):
        await c.elastic_ips.release(eip["id"])
    listed_ = (await c.elastic_ips.list(status="ASSOCIATED")).items
    assert [e["id"] for e in listed_] == [eip["id"]]

    assert (await c.elastic_ips.disassociate(eip["id"]))["status"] == "ALLOCATED"
    assert fabric.state.public == ()
    await c.elastic_ips.associate(eip["id"], vm["id"])
    await c.instances.terminate(vm["id"])
    for _ in range(2):
        await h.cloud.worker.step()
    freed = await c.elastic_ips.get(eip["id"])  # the terminated instance let it go
    assert (freed["status"], freed["instance_id"]) == ("ALLOCATED", None)
    assert fabric.state.public == ()
    for e in (eip, other):
        assert await c.elastic_ips.release(e["id"]) is None
    with pytest.raises(NotFoundError):
        await c.elastic_ips.get(eip["id"])


async def test_gateways_and_route_tables_against_the_api(
    h: Harness, cloud_client: AsyncClient
) -> None:
    c, fabric = cloud_client, h.adapters.fabric
    assert isinstance(fabric, MemoryFabric)
    vpc = await c.vpcs.create("net")
    public = await c.subnets.create("net", "public", "10.0.1.0/24")
    private = await c.subnets.create("net", "private", "10.0.2.0/24")
    web = await c.instances.launch("web", "busybox", subnet_id=public["id"])
    await c.instances.launch("inner", "busybox", subnet_id=private["id"])
    await h.cloud.worker.step()
    assert egress_of(fabric, vpc["id"]) == ()  # nothing leaves the VPC

    [main] = (await c.route_tables.list(vpc_id=vpc["id"])).items
    assert (main["name"], main["is_main"]) == ("main", True)
    assert main["routes"] == [
        {"destination_cidr": "10.0.0.0/16", "target_type": "local", "target_id": None}
    ]

    igw = await c.internet_gateways.create(name="gw")
    assert (igw["status"], igw["vpc_id"]) == ("DETACHED", None)
    table = await c.route_tables.create(vpc["id"], "public")
    with pytest.raises(ValidationError, match="attach it first"):
        await c.route_tables.add_route(table["id"], "0.0.0.0/0", internet_gateway="gw")
    attached = await c.internet_gateways.attach("gw", "net")
    assert (attached["status"], attached["vpc_id"]) == ("ATTACHED", vpc["id"])
    with pytest.raises(ValidationError, match="local route"):
        await c.route_tables.add_route(table["id"], "10.0.5.0/24", internet_gateway="gw")
    routed = await c.route_tables.add_route(table["id"], "0.0.0.0/0", internet_gateway="gw")
    assert routed["routes"][-1] == {
        "destination_cidr": "0.0.0.0/0",
        "target_type": "igw",
        "target_id": igw["id"],
    }
    assert egress_of(fabric, vpc["id"]) == ()  # no subnet uses the table yet
    await c.route_tables.associate(table["id"], public["id"])
    assert (await c.route_tables.get(table["id"]))["subnet_ids"] == [public["id"]]
    assert egress_of(fabric, vpc["id"]) == (Egress("10.0.1.0/24", "0.0.0.0/0"),)

    eip = await c.elastic_ips.allocate()
    await c.elastic_ips.associate(eip["id"], web["id"])  # web now leaves from its own address
    assert egress_of(fabric, vpc["id"]) == (
        Egress("10.0.1.2/32", "0.0.0.0/0", eip["address"]),
        Egress("10.0.1.0/24", "0.0.0.0/0"),
    )

    nat_eip = await c.elastic_ips.allocate()
    nat = await c.nat_gateways.create(public["id"], nat_eip["address"])
    assert (nat["vpc_id"], nat["eip_id"], nat["status"]) == (vpc["id"], nat_eip["id"], "AVAILABLE")
    with pytest.raises(ConflictError, match="already serves a NAT gateway"):
        await c.nat_gateways.create(private["id"], nat_eip["id"])
    with pytest.raises(ConflictError, match="NAT gateway"):
        await c.elastic_ips.release(nat_eip["id"])
    await c.route_tables.add_route(main["id"], "198.51.100.0/24", nat_gateway=nat["id"])
    assert Egress("10.0.2.0/24", "198.51.100.0/24", nat_eip["address"]) in egress_of(
        fabric, vpc["id"]
    )

    with pytest.raises(ConflictError, match="remove those routes"):
        await c.nat_gateways.delete(nat["id"])
    with pytest.raises(ConflictError, match="detach it first"):
        await c.internet_gateways.delete(igw["id"])
    with pytest.raises(ConflictError, match="main route table"):
        await c.route_tables.delete(main["id"])
    with pytest.raises(ConflictError, match="has subnets"):
        await c.route_tables.delete(table["id"])

    detached = await c.internet_gateways.detach(igw["id"], vpc="net")
    assert detached["status"] == "DETACHED"
    assert egress_of(fabric, vpc["id"]) == (
        Egress("10.0.2.0/24", "198.51.100.0/24", nat_eip["address"]),
    )  # the route to the detached gateway carries nothing
    await c.route_tables.remove_route(main["id"], "198.51.100.0/24")
    assert egress_of(fabric, vpc["id"]) == ()
    assert await c.nat_gateways.delete(nat["id"]) is None
    await c.route_tables.disassociate(table["id"], public["id"])
    with pytest.raises(ConflictError, match="route through this internet gateway"):
        await c.internet_gateways.delete(igw["id"])
    left = await c.route_tables.remove_route(table["id"], "0.0.0.0/0")
    assert [r["target_type"] for r in left["routes"]] == ["local"]
    assert await c.route_tables.delete(table["id"]) is None
    assert await c.internet_gateways.delete("gw") is None
    assert [g["id"] for g in (await c.internet_gateways.list()).items] == []
    assert [n["id"] for n in (await c.nat_gateways.list()).items] == []
