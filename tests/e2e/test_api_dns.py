"""DNS over HTTP, proven with `dig` against the real PowerDNS server: records answer at once,
updates and deletes too; an instance launched into a VPC with a private zone answers by name
until it is terminated. The SDK and the CLI drive the same routes."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, assert_error
from tests.e2e.dns_support import SET_UP, dns_env
from tests.e2e.test_api_compute import busybox_built, until  # noqa: F401
from tests.e2e.test_api_network import launch, ok, vpc_with_subnets
from tests.e2e.test_cli_sdk import Cli
from thecloud.sdk import Client, ConflictError


def dig(name: str, kind: str = "A") -> list[str]:
    """`dig @server -p port +short name kind`, one answer per line, sorted."""
    if shutil.which("dig") is None:
        pytest.fail(f"dig is missing: {SET_UP} (it installs dnsutils)")
    host, port = dns_env()["THECLOUD_DNS_SERVER"].rsplit(":", 1)
    done = subprocess.run(  # noqa: S603
        ["dig", f"@{host}", "-p", port, "+short", "+time=2", "+tries=2", name, kind],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=15,
        check=False,
    )
    assert done.returncode == 0, f"dig failed ({SET_UP}?): {done.stdout}{done.stderr}"
    return sorted(line for line in done.stdout.splitlines() if line)


def until_dig(name: str, kind: str, wanted: list[str], timeout: float = 30.0) -> None:
    deadline, seen = time.monotonic() + timeout, dig(name, kind)
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = dig(name, kind)
    assert seen == wanted, f"dig {name} {kind}: {seen}, not {wanted}"


def unique_zone() -> str:
    return f"z{uuid.uuid4().hex[:10]}.example"


@pytest.fixture
def zones(client: httpx.Client) -> Iterator[list[str]]:
    """Zone ids to delete after the test, whatever happened."""
    made: list[str] = []
    yield made
    for zone in made:
        client.delete(f"/dns/zones/{zone}")


def test_records_answer_dig_at_once_and_stop_when_deleted(
    client: httpx.Client, zones: list[str]
) -> None:
    name = unique_zone()
    zone = ok(client.post("/dns/zones", json={"name": name.upper(), "description": "site"}), 201)
    zones.append(str(zone["id"]))
    assert zone["name"] == f"{name}." and zone["visibility"] == "public"
    assert zone["server"] == dns_env()["THECLOUD_DNS_SERVER"]
    assert dig(name, "NS") == ["ns1.thecloud.internal."]
    records = f"/dns/zones/{zone['id']}/records"
    www = ok(client.post(records, json={"name": "www", "type": "A", "content": "192.0.2.10"}), 201)
    assert www["name"] == f"www.{name}." and www["ttl"] == 300 and www["managed"] is False
    bodies = [
        {"name": "www", "type": "A", "content": "192.0.2.11", "ttl": 5},
        {"name": "www", "type": "AAAA", "content": "2001:db8::10"},
        {"name": "@", "type": "MX", "content": f"mail.{name}", "priority": 10},
        {"name": "@", "type": "TXT", "content": 'v=spf1 -all "x"'},
        {"name": "_sip._tcp", "type": "SRV", "content": "5 5060 sip.example.com", "priority": 1},
        {"name": "docs", "type": "CNAME", "content": f"www.{name}"},
    ]
    for body in bodies:
        ok(client.post(records, json=body), 201)
    assert dig(f"www.{name}") == ["192.0.2.10", "192.0.2.11"]
    assert dig(f"www.{name}", "AAAA") == ["2001:db8::10"]
    assert dig(name, "MX") == [f"10 mail.{name}."]
    assert dig(name, "TXT") == ['"v=spf1 -all \\"x\\""']
    assert dig(f"_sip._tcp.{name}", "SRV") == ["1 5 5060 sip.example.com."]
    assert dig(f"docs.{name}", "CNAME") == [f"www.{name}."]
    listed = client.get(records, params={"name": "www", "type": "A"}).json()
    assert listed["meta"]["total"] == 2 and {r["ttl"] for r in listed["data"]} == {60}

    updated = ok(client.put(f"/dns/records/{www['id']}", json={"content": "192.0.2.99"}))
    # version 3: the second A record's ttl (5, clamped to 60) was set for the whole set
    assert (updated["content"], updated["ttl"], updated["version"]) == ("192.0.2.99", 60, 3)
    assert dig(f"www.{name}") == ["192.0.2.11", "192.0.2.99"]  # at once: no cache, no wait
    assert client.delete(f"/dns/records/{www['id']}").status_code == 204
    assert dig(f"www.{name}") == ["192.0.2.11"]
    assert_error(client.get(f"/dns/records/{www['id']}"), 404, "NOT_FOUND")
    assert client.delete(f"/dns/zones/{name}").status_code == 204
    assert dig(f"www.{name}") == [] and dig(name, "MX") == []


def test_bad_input_is_refused_with_what_to_fix(
    server: Server, client: httpx.Client, zones: list[str]
) -> None:
    name = unique_zone()
    zone = ok(client.post("/dns/zones", json={"name": name}), 201)
    zones.append(str(zone["id"]))
    records = f"/dns/zones/{zone['id']}/records"

    def refused(r: httpx.Response, status: int, code: str, words: str) -> None:
        error = assert_error(r, status, code)
        assert words in str(error["message"]), error

    refused(client.post("/dns/zones", json={"name": name}), 409, "CONFLICT", "already taken")
    refused(client.post("/dns/zones", json={"name": "nodot"}), 400, "INVALID_INPUT", "two labels")
    refused(
        client.post("/dns/zones", json={"name": "x.y", "colour": 1}), 400, "INVALID_INPUT", "colour"
    )
    bad = {"name": "www", "type": "A", "content": "300.1.1.1"}
    refused(client.post(records, json=bad), 400, "INVALID_INPUT", "IPv4")
    bad = {"name": "mx", "type": "MX", "content": "mail.example.com"}
    refused(client.post(records, json=bad), 400, "INVALID_INPUT", "priority")
    bad = {"name": "@", "type": "CNAME", "content": "www.example.com"}
    refused(client.post(records, json=bad), 400, "INVALID_INPUT", "apex")
    bad = {"name": "x", "type": "NS", "content": "ns.example.com"}
    refused(client.post(records, json=bad), 400, "INVALID_INPUT", "managed by the platform")
    ok(client.post(records, json={"name": "www", "type": "A", "content": "192.0.2.1"}), 201)
    clash = {"name": "www", "type": "CNAME", "content": "other.example.com"}
    refused(client.post(records, json=clash), 409, "CONFLICT", "cannot coexist")
    stranger = server.register("stranger")
    with server.api(stranger) as other:
        assert_error(other.get(f"/dns/zones/{zone['id']}"), 404, "NOT_FOUND")
        taken = assert_error(other.post("/dns/zones", json={"name": name}), 409, "CONFLICT")
        assert str(zone["id"]) not in str(taken["message"])


def test_an_instance_in_a_vpc_with_a_zone_answers_by_name_until_terminated(
    client: httpx.Client, zones: list[str]
) -> None:
    vpc, (subnet,) = vpc_with_subnets(client, 1)
    try:
        name = f"z{uuid.uuid4().hex[:10]}.internal"
        body = {"name": name, "vpc_id": vpc["id"]}
        zone = ok(client.post("/dns/zones", json=body), 201)
        zones.append(str(zone["id"]))
        assert zone["visibility"] == "private" and zone["vpc_id"] == vpc["id"]
        vm_name = f"web-{uuid.uuid4().hex[:6]}"
        vm = launch(client, subnet, name=vm_name)
        running = until(client, str(vm["id"]), "RUNNING")
        assert dig(f"{vm_name}.{name}") == [str(running["private_ip"])]
        listed = client.get(f"/dns/zones/{zone['id']}/records").json()["data"]
        (mine,) = [r for r in listed if r["instance_id"] == vm["id"]]
        assert mine["managed"] is True
        refused = client.put(f"/dns/records/{mine['id']}", json={"content": "10.0.0.9"})
        assert "belongs to instance" in str(assert_error(refused, 409, "CONFLICT")["message"])
        assert client.delete(f"/instances/{vm['id']}").status_code == 202
        until(client, str(vm["id"]), "DELETED")
        until_dig(f"{vm_name}.{name}", "A", [])
    finally:
        client.delete(f"/vpcs/{vpc['id']}", params={"force": "true"})


def test_the_sdk_and_the_cli_manage_zones_and_records(
    server: Server, user: dict[str, str], tmp_path: Path
) -> None:
    name = unique_zone()
    with Client(server.url, api_key=user["api_key"]) as sdk:
        zone = sdk.dns.create_zone(name, description="from the SDK")
        try:
            with pytest.raises(ConflictError, match="already taken"):
                sdk.dns.create_zone(name)
            record = sdk.dns.create_record(name, "api", "A", "192.0.2.20", ttl=120)
            assert dig(f"api.{name}") == ["192.0.2.20"]
            sdk.dns.update_record(str(record["id"]), content="192.0.2.21")
            assert dig(f"api.{name}") == ["192.0.2.21"]
            assert [r["id"] for r in sdk.dns.iterate_records(name)] == [record["id"]]
            cli = Cli(server, tmp_path)
            key = ("--api-key", user["api_key"])
            cli.ok(*key, "dns", "record", "create", name, "cli", "TXT", "made by the cli")
            assert dig(f"cli.{name}", "TXT") == ['"made by the cli"']
            listed = json.loads(cli.ok(*key, "-o", "json", "dns", "record", "list", name))
            assert {r["name"] for r in listed} == {f"api.{name}.", f"cli.{name}."}
            cli.ok(*key, "dns", "record", "update", str(record["id"]), "--content", "192.0.2.22")
            assert dig(f"api.{name}") == ["192.0.2.22"]
            cli.ok(*key, "dns", "record", "delete", str(record["id"]))
            assert dig(f"api.{name}") == []
            assert f"{name}." in cli.ok(*key, "dns", "zone", "list")
            cli.ok(*key, "dns", "zone", "delete", name)
            assert dig(name, "NS") == []
        finally:
            sdk._http.delete(f"/dns/zones/{zone['id']}", headers={"X-API-Key": user["api_key"]})
