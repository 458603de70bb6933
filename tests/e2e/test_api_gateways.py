"""Ways in and out of a VPC, proven with real packets: an elastic IP reaches its instance from
the host; egress beyond the VPC is dropped until a route to an attached internet gateway or a
NAT gateway exists, and leaves from the elastic IP / the NAT gateway's address.

"The world" here is a container on the engine's default bridge, outside every VPC, running
busybox httpd with a CGI script that answers the caller's address."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import assert_error
from tests.e2e.test_api_compute import busybox_built  # noqa: F401
from tests.e2e.test_api_network import WEB, docker, launch, ok, running, vpc_with_subnets

CGI = (
    "mkdir -p /www/cgi-bin && printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\n"
    "echo $REMOTE_ADDR\\n' > /www/cgi-bin/ip && chmod +x /www/cgi-bin/ip && "
    "exec httpd -f -p 80 -h /www"
)


@pytest.fixture(scope="module")
def world() -> Iterator[str]:
    """The address of a web server outside every VPC that says who called it."""
    name = f"world-{uuid.uuid4().hex[:8]}"
    image = docker("images", "thecloud/busybox", "--format", "{{.Repository}}:{{.Tag}}")
    ref = image.stdout.split()[0]
    started = docker(
        "run", "-d", "--name", name, "--label", "thecloud.test=e2e", ref, "sh", "-c", CGI
    )
    assert started.returncode == 0, started.stderr
    try:
        ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", name).stdout.strip()
        deadline = time.monotonic() + 10
        while httpx.get(f"http://{ip}/cgi-bin/ip", timeout=2).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield ip
    finally:
        docker("rm", "-f", name)


def caller_seen(vm: dict[str, object], world: str) -> str | None:
    """What address the world saw `vm` call from, or None when nothing got through."""
    url = f"http://{world}/cgi-bin/ip"
    r = docker("exec", str(vm["container_id"]), "timeout", "3", "wget", "-q", "-O-", url)
    if r.returncode != 0:
        return None
    return r.stdout.strip().removeprefix("[::ffff:").removesuffix("]")


def host_side(world: str) -> str:
    """The host's own address on the world's network (what a masqueraded caller looks like)."""
    gateway = docker("network", "inspect", "bridge", "-f", "{{(index .IPAM.Config 0).Gateway}}")
    assert gateway.returncode == 0, gateway.stderr
    return gateway.stdout.strip() or world.rsplit(".", 1)[0] + ".1"


def web_answers(address: str) -> bool:
    """Whether the instance's web page comes back from `address` (from the host). Anything
    else counts as no: a timeout, or whatever the host's own network says about an address
    that is no longer NATed (some networks answer every address)."""
    try:
        page = httpx.get(f"http://{address}/", timeout=2)
    except httpx.HTTPError:
        return False
    return page.status_code == 200 and page.text.startswith("hello-")


@pytest.fixture
def vpcs(client: httpx.Client) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for vpc in made:
        client.delete(f"/vpcs/{vpc}", params={"force": "true"})


def test_egress_needs_a_route_to_a_gateway_and_leaves_from_the_elastic_ip(
    client: httpx.Client, world: str, vpcs: list[str]
) -> None:
    vpc, [public, private] = vpc_with_subnets(client, 1, 2)
    vpcs.append(str(vpc["id"]))
    web, inner = running(client, launch(client, public, WEB), launch(client, private))
    assert caller_seen(web, world) is None, "no gateway: nothing leaves the VPC"

    igw = ok(client.post("/internet-gateways", json={"name": "gw"}), 201)
    ok(client.post(f"/internet-gateways/{igw['id']}/attach", json={"vpc_id": vpc["id"]}))
    assert caller_seen(web, world) is None, "attached but no route: still nothing"

    table = ok(client.post("/route-tables", json={"vpc_id": vpc["id"], "name": "public"}), 201)
    route = {"destination_cidr": "0.0.0.0/0", "target_type": "igw", "target_id": igw["id"]}
    ok(client.post(f"/route-tables/{table['id']}/routes", json=route), 201)
    ok(client.post(f"/route-tables/{table['id']}/associate", json={"subnet_id": public}))
    assert caller_seen(web, world) == host_side(world)  # out through the host's address
    assert caller_seen(inner, world) is None  # the other subnet keeps the main table

    eip = ok(client.post("/elastic-ips"), 201)
    assert str(eip["address"]).startswith("100.") and eip["status"] == "ALLOCATED"
    ok(client.post(f"/elastic-ips/{eip['id']}/associate", json={"instance_id": web["id"]}))
    assert caller_seen(web, world) == eip["address"]  # now it leaves from its elastic IP

    # The host reaches the instance at its elastic IP once a rule lets the web in.
    [default] = ok(client.get("/security-groups", params={"vpc_id": vpc["id"]}))
    assert not web_answers(str(eip["address"]))
    rule = {"direction": "ingress", "protocol": "tcp", "port_min": 80, "cidr": "0.0.0.0/0"}
    ok(client.post(f"/security-groups/{default['id']}/rules", json=rule), 201)
    assert web_answers(str(eip["address"]))

    ok(client.post(f"/elastic-ips/{eip['id']}/disassociate"))
    assert not web_answers(str(eip["address"]))
    assert caller_seen(web, world) == host_side(world)

    r = client.delete(f"/internet-gateways/{igw['id']}")
    assert "detach" in str(assert_error(r, 409, "CONFLICT")["message"])
    ok(client.post(f"/internet-gateways/{igw['id']}/detach"))
    assert caller_seen(web, world) is None, "detached: the route carries nothing"


def test_a_nat_gateway_lets_a_private_subnet_out_from_its_address(
    client: httpx.Client, world: str, vpcs: list[str]
) -> None:
    vpc, [public, private] = vpc_with_subnets(client, 1, 2)
    vpcs.append(str(vpc["id"]))
    [inner] = running(client, launch(client, private))
    eip = ok(client.post("/elastic-ips"), 201)
    nat = ok(client.post("/nat-gateways", json={"subnet_id": public, "eip_id": eip["id"]}), 201)
    assert caller_seen(inner, world) is None
    tables = ok(client.get("/route-tables", params={"vpc_id": vpc["id"]}))
    [main] = [t for t in tables if t["is_main"]]
    assert main["routes"] == [
        {"destination_cidr": vpc["cidr_block"], "target_type": "local", "target_id": None}
    ]
    route = {"destination_cidr": f"{world}/32", "target_type": "nat", "target_id": nat["id"]}
    ok(client.post(f"/route-tables/{main['id']}/routes", json=route), 201)
    assert caller_seen(inner, world) == eip["address"]
    r = client.delete(f"/nat-gateways/{nat['id']}")
    assert "remove those routes" in str(assert_error(r, 409, "CONFLICT")["message"])
    r = client.delete(
        f"/route-tables/{main['id']}/routes", params={"destination_cidr": f"{world}/32"}
    )
    assert r.status_code == 200, r.text
    assert caller_seen(inner, world) is None
    assert client.delete(f"/nat-gateways/{nat['id']}").status_code == 204
    assert client.delete(f"/elastic-ips/{eip['id']}").status_code == 204


def test_gateway_input_is_checked(client: httpx.Client, vpcs: list[str]) -> None:
    vpc, [subnet] = vpc_with_subnets(client, 1)
    vpcs.append(str(vpc["id"]))
    [vm] = running(client, launch(client, subnet))
    eip = ok(client.post("/elastic-ips"), 201)
    other = ok(client.post("/elastic-ips"), 201)
    ok(client.post(f"/elastic-ips/{eip['id']}/associate", json={"instance_id": vm["id"]}))
    r = client.post(f"/elastic-ips/{other['id']}/associate", json={"instance_id": vm["id"]})
    assert "already has an elastic IP" in str(assert_error(r, 409, "CONFLICT")["message"])
    r = client.delete(f"/elastic-ips/{eip['id']}")
    assert "disassociate" in str(assert_error(r, 409, "CONFLICT")["message"])
    table = ok(client.post("/route-tables", json={"vpc_id": vpc["id"], "name": "t"}), 201)
    routes = f"/route-tables/{table['id']}/routes"
    cidr = vpc["cidr_block"]
    r = client.post(routes, json={"destination_cidr": cidr, "target_type": "igw", "target_id": "x"})
    assert "local route" in str(assert_error(r, 400, "INVALID_INPUT")["message"])
    r = client.post(routes, json={"destination_cidr": "0.0.0.0/0", "target_type": "moon"})
    assert "target_type" in str(assert_error(r, 400, "INVALID_INPUT")["message"])
    igw = ok(client.post("/internet-gateways", json={}), 201)
    r = client.post(
        routes, json={"destination_cidr": "0.0.0.0/0", "target_type": "igw", "target_id": igw["id"]}
    )
    assert "attach it first" in str(assert_error(r, 400, "INVALID_INPUT")["message"])
    r = client.post("/nat-gateways", json={"subnet_id": subnet, "eip_id": eip["id"]})
    assert "associated" in str(assert_error(r, 409, "CONFLICT")["message"])
    main = [
        t for t in ok(client.get("/route-tables", params={"vpc_id": vpc["id"]})) if t["is_main"]
    ][0]
    r = client.delete(f"/route-tables/{main['id']}")
    assert "main" in str(assert_error(r, 409, "CONFLICT")["message"])
    client.post(f"/elastic-ips/{eip['id']}/disassociate")
    for e in (eip, other):
        client.delete(f"/elastic-ips/{e['id']}")
    client.delete(f"/internet-gateways/{igw['id']}")
