"""Instances resolve names with real DNS queries from inside their containers: their own
VPC's private zone answers (auto-registered instance names included), another tenant's
private zone does not exist for them."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.e2e.conftest import Server
from tests.e2e.test_api_compute import busybox_built  # noqa: F401
from tests.e2e.test_api_network import docker, launch, ok, running, vpc_with_subnets


def lookup(vm: dict[str, object], name: str) -> str | None:
    """The address `nslookup` inside the instance finds for `name`, or None."""
    r = docker("exec", str(vm["container_id"]), "timeout", "5", "nslookup", name)
    if r.returncode != 0:
        return None
    answers = r.stdout.split("Name:")[1:]
    return answers[0].split("Address:")[1].split()[0].strip() if answers else None


def eventually_resolves(vm: dict[str, object], name: str, want: str | None) -> str | None:
    deadline, seen = time.monotonic() + 15, None
    while time.monotonic() < deadline:
        seen = lookup(vm, name)
        if seen == want:
            return seen
        time.sleep(0.3)
    return seen


def test_instances_resolve_their_own_vpc_zone_and_not_another_tenants(
    server: Server, client: httpx.Client
) -> None:
    vpc, [subnet] = vpc_with_subnets(client, 1)
    zone = f"z{uuid.uuid4().hex[:8]}.internal"
    ok(client.post("/dns/zones", json={"name": zone, "vpc_id": vpc["id"]}), 201)
    web, peer = running(client, launch(client, subnet), launch(client, subnet))
    assert (
        eventually_resolves(peer, f"{web['name']}.{zone}", str(web["private_ip"]))
        == web["private_ip"]
    )
    record = {"name": "db", "type": "A", "content": "10.99.0.7", "ttl": 60}
    zone_id = ok(client.get("/dns/zones", params={"name": f"{zone}."}))[0]["id"]
    ok(client.post(f"/dns/zones/{zone_id}/records", json=record), 201)
    assert eventually_resolves(web, f"db.{zone}", "10.99.0.7") == "10.99.0.7"

    stranger = server.register("eve")
    with server.api(stranger) as other:
        theirs, [their_subnet] = vpc_with_subnets(other, 1)
        try:
            [spy] = running(other, launch(other, their_subnet))
            assert lookup(spy, f"{web['name']}.{zone}") is None
            assert lookup(spy, f"db.{zone}") is None
        finally:
            other.delete(f"/vpcs/{theirs['id']}", params={"force": "true"})

    assert client.delete(f"/instances/{web['id']}").status_code in (200, 202)
    assert eventually_resolves(peer, f"{web['name']}.{zone}", None) is None
    client.delete(f"/vpcs/{vpc['id']}", params={"force": "true"})
