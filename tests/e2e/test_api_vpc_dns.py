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

NXDOMAIN = "NXDOMAIN"


def lookup(vm: dict[str, object], name: str) -> str:
    """The address `nslookup` inside the instance finds for `name`, or NXDOMAIN when the
    resolver says the name does not exist; any other failure (a timeout, no resolver) fails
    the test, so "not found" can never pass for "not asked"."""
    r = docker("exec", str(vm["container_id"]), "timeout", "5", "nslookup", name)
    out = r.stdout + r.stderr
    if r.returncode != 0:
        assert NXDOMAIN in out, f"nslookup {name} failed without an answer: {out}"
        return NXDOMAIN
    answers = r.stdout.split("Name:")[1:]
    assert answers, f"nslookup {name} answered nothing: {out}"
    return answers[0].split("Address:")[1].split()[0].strip()


def eventually_resolves(vm: dict[str, object], name: str, want: str) -> str:
    deadline, seen = time.monotonic() + 15, ""
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
            own = f"z{uuid.uuid4().hex[:8]}.internal"
            ok(other.post("/dns/zones", json={"name": own, "vpc_id": theirs["id"]}), 201)
            [spy] = running(other, launch(other, their_subnet))
            # its resolver works (its own zone answers) ...
            mine = f"{spy['name']}.{own}"
            assert eventually_resolves(spy, mine, str(spy["private_ip"])) == spy["private_ip"]
            # ... and the other tenant's zone does not exist for it
            assert lookup(spy, f"{web['name']}.{zone}") == NXDOMAIN
            assert lookup(spy, f"db.{zone}") == NXDOMAIN
        finally:
            other.delete(f"/vpcs/{theirs['id']}", params={"force": "true"})

    assert client.delete(f"/instances/{web['id']}").status_code in (200, 202)
    assert eventually_resolves(peer, f"{web['name']}.{zone}", NXDOMAIN) == NXDOMAIN
    client.delete(f"/vpcs/{vpc['id']}", params={"force": "true"})
