"""VPC isolation, peering and security groups over HTTP, proven with real packets between
busybox instances (ping, and wget against busybox httpd) on the real Docker Engine."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Server, assert_error
from tests.e2e.test_api_compute import busybox_built, until  # noqa: F401

WEB = "mkdir -p /www && echo hello-$(hostname) > /www/index.html && httpd -p 80 -h /www && "
WEB += "httpd -p 81 -h /www && exec sleep 3600"


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def ok(r: httpx.Response, status: int = 200) -> dict[str, object]:
    assert r.status_code == status, r.text
    data: dict[str, object] = r.json()["data"]
    return data


def vpc_with_subnets(client: httpx.Client, *octets: int) -> tuple[dict[str, object], list[str]]:
    """A VPC on the next free range and one /24 subnet per third octet given."""
    vpc = ok(client.post("/vpcs", json={"name": f"vpc-{uuid.uuid4().hex[:8]}"}), 201)
    base = str(vpc["cidr_block"]).split(".")
    subnets = []
    for octet in octets:
        cidr = f"{base[0]}.{base[1]}.{octet}.0/24"
        body = {"name": f"s{octet}", "cidr_block": cidr}
        subnets.append(str(ok(client.post(f"/vpcs/{vpc['id']}/subnets", json=body), 201)["id"]))
    return vpc, subnets


def launch(
    client: httpx.Client, subnet: str, script: str = "exec sleep 3600", **extra: object
) -> dict[str, object]:
    body = {
        "name": f"vm-{uuid.uuid4().hex[:8]}",
        "image": "busybox",
        "instance_type": "basic-1",
        "subnet_id": subnet,
        "cmd": ["sh", "-c", script],
        **extra,
    }
    return ok(client.post("/instances", json=body), 202)


def running(client: httpx.Client, *instances: dict[str, object]) -> list[dict[str, object]]:
    return [until(client, str(i["id"]), "RUNNING") for i in instances]


def can_ping(src: dict[str, object], dst: dict[str, object]) -> bool:
    r = docker(
        "exec", str(src["container_id"]), "ping", "-c", "1", "-W", "1", str(dst["private_ip"])
    )
    return r.returncode == 0


def can_get(src: dict[str, object], dst: dict[str, object], port: int = 80) -> bool:
    url = f"http://{dst['private_ip']}:{port}/"
    r = docker("exec", str(src["container_id"]), "timeout", "3", "wget", "-q", "-O-", url)
    return r.returncode == 0 and r.stdout.startswith("hello-")


def eventually(check: object, expected: bool, timeout: float = 10.0) -> bool:
    """Poll `check()` until it returns `expected` (the data path is in force when the API
    answers; this only absorbs an instance's own start-up, e.g. httpd not listening yet)."""
    deadline = time.monotonic() + timeout
    while True:
        seen = check()  # type: ignore[operator]
        if seen == expected or time.monotonic() > deadline:
            return bool(seen)
        time.sleep(0.2)


@pytest.fixture
def cleanup(client: httpx.Client) -> Iterator[list[str]]:
    """VPC ids to force-delete after the test, whatever happened."""
    vpcs: list[str] = []
    yield vpcs
    for vpc in vpcs:
        client.delete(f"/vpcs/{vpc}", params={"force": "true"})


def test_vpcs_are_isolated_until_peered_and_again_after(
    client: httpx.Client, cleanup: list[str]
) -> None:
    a, [sa] = vpc_with_subnets(client, 1)
    b, [sb] = vpc_with_subnets(client, 1)
    cleanup += [str(a["id"]), str(b["id"])]
    assert a["cidr_block"] != b["cidr_block"]
    a1, a2, b1 = running(client, launch(client, sa), launch(client, sa), launch(client, sb))
    assert str(a1["private_ip"]).endswith(".1.2") and str(a2["private_ip"]).endswith(".1.3")

    assert can_ping(a1, a2) and can_ping(a2, a1)
    assert not can_ping(a1, b1) and not can_ping(b1, a1)

    # Security groups still decide what crosses a peering: let each VPC's default group take
    # the other VPC's range. Without an active peering the path itself stays closed.
    for mine, theirs in ((a, b), (b, a)):
        [default] = ok(client.get("/security-groups", params={"vpc_id": mine["id"]}))
        rule = {"direction": "ingress", "protocol": "all", "cidr": theirs["cidr_block"]}
        ok(client.post(f"/security-groups/{default['id']}/rules", json=rule), 201)
    assert not can_ping(a1, b1) and not can_ping(b1, a1)
    peering = ok(
        client.post(
            "/vpc-peerings", json={"requester_vpc_id": a["id"], "accepter_vpc_id": b["id"]}
        ),
        201,
    )
    assert peering["status"] == "PENDING_ACCEPTANCE"
    assert not can_ping(a1, b1)
    assert ok(client.post(f"/vpc-peerings/{peering['id']}/accept"))["status"] == "ACTIVE"
    assert can_ping(a1, b1) and can_ping(b1, a1) and can_ping(a2, b1)

    r = client.delete(f"/vpcs/{a['id']}")
    assert "force=true" in str(assert_error(r, 409, "CONFLICT")["message"])

    assert client.delete(f"/vpc-peerings/{peering['id']}").status_code == 204
    assert not can_ping(a1, b1) and not can_ping(b1, a1)
    assert can_ping(a1, a2)


def test_a_security_group_rule_lets_exactly_its_traffic_through(
    client: httpx.Client, cleanup: list[str]
) -> None:
    vpc, [s1, s2] = vpc_with_subnets(client, 1, 2)
    cleanup.append(str(vpc["id"]))
    web_group = ok(client.post("/security-groups", json={"vpc_id": vpc["id"], "name": "web"}), 201)
    web, near, far = running(
        client,
        launch(client, s1, WEB, security_group_ids=[web_group["id"]]),
        launch(client, s1),
        launch(client, s2),
    )
    # The web group lets nothing in yet: not even members of the default group.
    assert not can_get(near, web) and not can_ping(near, web)

    s1_cidr = ok(client.get(f"/subnets/{s1}"))["cidr_block"]
    rule = ok(
        client.post(
            f"/security-groups/{web_group['id']}/rules",
            json={"direction": "ingress", "protocol": "tcp", "port_min": 80, "cidr": s1_cidr},
        ),
        201,
    )
    assert eventually(lambda: can_get(near, web), True)  # tcp/80 from subnet 1: open
    assert not can_get(near, web, 81)  # another port: closed
    assert not can_ping(near, web)  # another protocol: closed
    assert not can_get(far, web)  # another subnet: closed

    # Attaching the default group (members reach each other) opens everything to members.
    body = {"instance_id": web["id"], "group_id": "default"}
    attached = ok(client.post("/security-groups/attach", json=body))
    assert web["id"] in attached["instance_ids"]
    assert can_get(far, web, 81) and can_ping(near, web)
    ok(client.post("/security-groups/detach", json=body))
    assert not can_get(far, web, 81)

    # A deny rule of higher priority closes port 80 again for one address.
    ok(
        client.post(
            f"/security-groups/{web_group['id']}/rules",
            json={
                "direction": "ingress",
                "protocol": "tcp",
                "port_min": 80,
                "cidr": f"{near['private_ip']}/32",
                "action": "deny",
                "priority": 10,
            },
        ),
        201,
    )
    assert not can_get(near, web)
    assert client.delete(f"/security-groups/rules/{rule['id']}").status_code == 204
    group = ok(client.get(f"/security-groups/{web_group['id']}"))
    assert [r["action"] for r in group["rules"]] == ["deny", "allow"]  # by priority
    r = client.delete(f"/security-groups/{web_group['id']}")
    assert "detach" in str(assert_error(r, 409, "CONFLICT")["message"])


def test_forced_delete_terminates_the_instances_then_removes_the_network(
    client: httpx.Client, server: Server
) -> None:
    vpc, [subnet] = vpc_with_subnets(client, 1)
    [vm] = running(client, launch(client, subnet))
    network = str(vpc["network"])
    assert docker("network", "inspect", network).returncode == 0
    r = client.delete(f"/vpcs/{vpc['id']}", params={"force": "true"})
    assert ok(r, 202)["status"] == "DELETING"
    until(client, str(vm["id"]), "DELETED")
    deadline = time.monotonic() + 20
    while client.get(f"/vpcs/{vpc['id']}").status_code != 404:
        assert time.monotonic() < deadline, "the VPC is still there"
        time.sleep(0.2)
    assert docker("network", "inspect", network).returncode != 0


def test_bad_network_input_is_refused_with_a_message(
    server: Server, client: httpx.Client, cleanup: list[str]
) -> None:
    def refused(r: httpx.Response, status: int, words: str) -> None:
        code = {400: "INVALID_INPUT", 404: "NOT_FOUND", 409: "CONFLICT"}[status]
        message = str(assert_error(r, status, code)["message"])
        assert words in message, message

    refused(client.post("/vpcs", json={"name": "x", "cidr_block": "8.8.0.0/16"}), 400, "private")
    refused(client.post("/vpcs", json={"name": "x", "cidr_block": "10.0.0.0/8"}), 400, "/16")
    refused(
        client.post("/vpcs", json={"name": "x", "cidr_block": "10.9.0.1/16"}), 400, "10.9.0.0/16"
    )
    refused(client.post("/vpcs", json={"name": "bad name!"}), 400, "name")
    assert client.post("/vpcs", json={"name": "x", "cidrs": "1"}).status_code == 400

    vpc, [subnet] = vpc_with_subnets(client, 1)
    cleanup.append(str(vpc["id"]))
    first = ".".join(str(vpc["cidr_block"]).split(".")[:2])
    refused(client.post("/vpcs", json={"name": str(vpc["name"])}), 409, "already exists")
    refused(
        client.post("/vpcs", json={"name": "y", "cidr_block": f"{first}.128.0/20"}),
        409,
        "overlaps",
    )
    sub = f"/vpcs/{vpc['id']}/subnets"
    refused(client.post(sub, json={"name": "o", "cidr_block": "192.168.1.0/24"}), 400, "inside")
    refused(
        client.post(sub, json={"name": "o", "cidr_block": f"{first}.1.128/25"}), 409, "overlaps"
    )

    empty = ok(client.post("/vpcs", json={"name": f"e-{uuid.uuid4().hex[:6]}"}), 201)
    cleanup.append(str(empty["id"]))
    body = {"name": "v", "image": "busybox", "vpc_id": empty["id"]}
    refused(client.post("/instances", json=body), 400, "no subnet")
    body = {"name": "v", "image": "busybox", "subnet_id": subnet, "private_ip": f"{first}.1.1"}
    refused(client.post("/instances", json=body), 400, "reserved")
    body["private_ip"] = f"{first}.2.9"
    refused(client.post("/instances", json=body), 400, "not in subnet")

    peer = {"requester_vpc_id": vpc["id"], "accepter_vpc_id": vpc["id"]}
    refused(client.post("/vpc-peerings", json=peer), 400, "itself")
    stranger = server.register("mallory")
    with server.api(stranger) as other:
        refused(other.get(f"/vpcs/{vpc['id']}"), 404, "not found")
        refused(other.get(f"/subnets/{subnet}"), 404, "not found")
        theirs = ok(other.post("/vpcs", json={"name": "theirs"}), 201)
        try:
            peer = {"requester_vpc_id": theirs["id"], "accepter_vpc_id": vpc["id"]}
            refused(other.post("/vpc-peerings", json=peer), 404, "not found")
        finally:
            other.delete(f"/vpcs/{theirs['id']}")
    group = {"vpc_id": vpc["id"], "name": "g"}
    gid = ok(client.post("/security-groups", json=group), 201)["id"]
    rules = f"/security-groups/{gid}/rules"
    refused(
        client.post(rules, json={"direction": "sideways", "cidr": "0.0.0.0/0"}), 400, "direction"
    )
    refused(
        client.post(rules, json={"direction": "ingress", "port_min": 0, "cidr": "0.0.0.0/0"}),
        400,
        "port",
    )
    refused(
        client.post(
            rules,
            json={"direction": "ingress", "protocol": "icmp", "port_min": 1, "cidr": "0.0.0.0/0"},
        ),
        400,
        "tcp and udp",
    )
    refused(client.post(rules, json={"direction": "ingress"}), 400, "exactly one")
    refused(client.delete("/security-groups/default"), 400, "give the id")  # one per VPC
    [default] = ok(client.get("/security-groups", params={"vpc_id": vpc["id"], "name": "default"}))
    refused(client.delete(f"/security-groups/{default['id']}"), 409, "default")
