"""`cloud eip`, `igw`, `nat` and `route-table` over the SDK on a MockTransport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.unit.test_cli_compute import FakeAPI, ok, page, run
from tests.unit.test_cli_network import VPC, sent, table
from thecloud.entrypoints.cli import context
from thecloud.sdk import Client

EIP = {"id": "e-1", "tenant_id": "t", "address": "100.64.0.1", "status": "ALLOCATED",
       "instance_id": None, "created_by": "u", "created_at": "2030-01-01T00:00:00Z",
       "updated_at": "2030-01-01T00:00:00Z"}  # fmt: skip
ASSOCIATED = {**EIP, "status": "ASSOCIATED", "instance_id": "i-1"}
IGW = {"id": "gw-1", "name": "gw", "vpc_id": None, "status": "DETACHED",
       "created_at": "2030-01-01T00:00:00Z"}  # fmt: skip
ATTACHED = {**IGW, "vpc_id": "v-1", "status": "ATTACHED"}
NAT = {"id": "n-1", "vpc_id": "v-1", "subnet_id": "s-1", "eip_id": "e-1", "status": "AVAILABLE",
       "created_at": "2030-01-01T00:00:00Z"}  # fmt: skip
LOCAL = {"destination_cidr": "10.0.0.0/16", "target_type": "local", "target_id": None}
TO_IGW = {"destination_cidr": "0.0.0.0/0", "target_type": "igw", "target_id": "gw-1"}
TABLE = {"id": "t-1", "vpc_id": "v-1", "name": "public", "is_main": False, "routes": [LOCAL]}
ROUTED = {**TABLE, "routes": [LOCAL, TO_IGW]}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAPI:
    fake = FakeAPI()

    def make(*args: Any, **kwargs: Any) -> Client:
        return Client(*args, transport=httpx.MockTransport(fake), **kwargs)

    monkeypatch.setattr(context, "make_client", make)
    monkeypatch.setenv("CLOUD_CONFIG", str(tmp_path / "config.json"))
    for name in ("CLOUD_API_URL", "CLOUD_API_KEY", "CLOUD_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    return fake


def test_eip_allocate_list_get(api: FakeAPI) -> None:
    api.on("POST /elastic-ips", ok(EIP, 201))
    api.on("GET /elastic-ips", page([EIP, {**ASSOCIATED, "id": "e-2", "address": "100.64.0.2"}]))
    api.on("GET /elastic-ips/100.64.0.1", ok(EIP))
    allocated = run("eip", "allocate")
    assert allocated.exit_code == 0, allocated.output
    assert api.last("POST /elastic-ips").content == b""
    assert table(allocated.stdout) == [
        ["ADDRESS", "STATUS", "INSTANCE", "ID", "ID", "CREATED", "AT"],
        ["100.64.0.1", "ALLOCATED", "-", "e-1", "2030-01-01T00:00:00Z"],
    ]
    listed = run("eip", "list", "--status", "associated", "--limit", "10")
    assert listed.exit_code == 0, listed.output
    assert dict(api.last("GET /elastic-ips").url.params) == {"status": "ASSOCIATED", "limit": "10"}
    assert [row[:3] for row in table(listed.stdout)[1:]] == [
        ["100.64.0.1", "ALLOCATED", "-"],
        ["100.64.0.2", "ASSOCIATED", "i-1"],
    ]
    assert run("eip", "list", "--all").exit_code == 0
    assert api.last("GET /elastic-ips").url.params["offset"] == "0"
    assert yaml.safe_load(run("eip", "get", "100.64.0.1", "-o", "yaml").stdout) == EIP


def test_eip_associate_disassociate_release(api: FakeAPI) -> None:
    api.on("POST /elastic-ips/e-1/associate", ok(ASSOCIATED))
    api.on("POST /elastic-ips/e-1/disassociate", ok(EIP))
    api.on("DELETE /elastic-ips/e-1", httpx.Response(204))
    associated = run("eip", "associate", "e-1", "web")
    assert associated.exit_code == 0, associated.output
    assert sent(api.last("POST /elastic-ips/e-1/associate")) == {"instance_id": "web"}
    assert table(associated.stdout)[1][:4] == ["100.64.0.1", "ASSOCIATED", "i-1", "e-1"]
    disassociated = run("eip", "disassociate", "e-1", "-o", "json")
    assert json.loads(disassociated.stdout) == EIP
    released = run("eip", "release", "e-1")
    assert (released.exit_code, released.stderr) == (0, "Released elastic IP e-1.\n")


def test_eip_release_while_associated_is_an_error_line(api: FakeAPI) -> None:
    error = {"type": "CONFLICT", "code": "CONFLICT",
             "message": "elastic IP 100.64.0.1 is associated: disassociate it first"}  # fmt: skip
    api.on("DELETE /elastic-ips/e-1", httpx.Response(409, json={"error": error, "meta": {}}))
    result = run("eip", "release", "e-1")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error [CONFLICT]: elastic IP 100.64.0.1 is associated")


def test_igw_commands(api: FakeAPI) -> None:
    unnamed = {**IGW, "id": "gw-2", "name": ""}
    api.on("POST /internet-gateways", ok(IGW, 201), ok(unnamed, 201))
    api.on("GET /internet-gateways", page([ATTACHED, unnamed]))
    api.on("GET /internet-gateways/gw", ok(IGW))
    api.on("POST /internet-gateways/gw/attach", ok(ATTACHED))
    api.on("POST /internet-gateways/gw/detach", ok(IGW))
    api.on("DELETE /internet-gateways/gw", httpx.Response(204))
    created = run("igw", "create", "gw")
    assert created.exit_code == 0, created.output
    assert sent(api.last("POST /internet-gateways")) == {"name": "gw"}
    assert table(created.stdout)[1][:4] == ["gw", "DETACHED", "-", "gw-1"]
    bare = run("igw", "create")
    assert sent(api.last("POST /internet-gateways")) == {}
    assert table(bare.stdout)[1][:4] == ["-", "DETACHED", "-", "gw-2"]  # columns stay aligned
    listed = run("igw", "list")
    assert [row[:4] for row in table(listed.stdout)[1:]] == [
        ["gw", "ATTACHED", "v-1", "gw-1"],
        ["-", "DETACHED", "-", "gw-2"],
    ]
    assert json.loads(run("igw", "list", "-o", "json").stdout) == [ATTACHED, unnamed]
    assert json.loads(run("igw", "get", "gw", "-o", "json").stdout) == IGW
    attached = run("igw", "attach", "gw", "net")
    assert attached.exit_code == 0, attached.output
    assert sent(api.last("POST /internet-gateways/gw/attach")) == {"vpc_id": "net"}
    assert table(attached.stdout)[1][:3] == ["gw", "ATTACHED", "v-1"]
    assert run("igw", "detach", "gw").exit_code == 0
    assert sent(api.last("POST /internet-gateways/gw/detach")) == {}
    run("igw", "detach", "gw", "--vpc", "net")
    assert sent(api.last("POST /internet-gateways/gw/detach")) == {"vpc_id": "net"}
    deleted = run("igw", "delete", "gw")
    assert (deleted.exit_code, deleted.stderr) == (0, "Deleted internet gateway gw.\n")


def test_nat_commands(api: FakeAPI) -> None:
    api.on("POST /nat-gateways", ok(NAT, 201))
    api.on("GET /nat-gateways", page([NAT]))
    api.on("GET /nat-gateways/n-1", ok(NAT))
    api.on("DELETE /nat-gateways/n-1", httpx.Response(204))
    created = run("nat", "create", "s-1", "100.64.0.1")
    assert created.exit_code == 0, created.output
    assert sent(api.last("POST /nat-gateways")) == {"subnet_id": "s-1", "eip_id": "100.64.0.1"}
    assert table(created.stdout) == [
        ["ID", "STATUS", "VPC", "ID", "SUBNET", "ID", "EIP", "ID", "CREATED", "AT"],
        ["n-1", "AVAILABLE", "v-1", "s-1", "e-1", "2030-01-01T00:00:00Z"],
    ]
    assert table(run("nat", "list").stdout)[1][:2] == ["n-1", "AVAILABLE"]
    assert json.loads(run("nat", "get", "n-1", "-o", "json").stdout) == NAT
    deleted = run("nat", "delete", "n-1")
    assert (deleted.exit_code, deleted.stderr) == (0, "Deleted NAT gateway n-1.\n")


def test_route_table_create_and_list_by_vpc_name(api: FakeAPI) -> None:
    api.on("POST /route-tables", ok(TABLE, 201))
    api.on("GET /vpcs/net", ok(VPC))
    api.on("GET /route-tables", page([{**ROUTED, "name": "main", "is_main": True}]))
    created = run("route-table", "create", "net", "public")
    assert created.exit_code == 0, created.output
    assert sent(api.last("POST /route-tables")) == {
        "vpc_id": "net",
        "name": "public",
        "is_main": False,
    }
    assert table(created.stdout)[1] == ["public", "v-1", "no", "10.0.0.0/16->local", "t-1"]
    run("route-table", "create", "net", "main2", "--main")
    assert sent(api.last("POST /route-tables"))["is_main"] is True
    listed = run("route-table", "list", "--vpc", "net")
    assert listed.exit_code == 0, listed.output
    assert dict(api.last("GET /route-tables").url.params) == {"vpc_id": "v-1"}
    assert table(listed.stdout) == [
        ["NAME", "VPC", "ID", "IS", "MAIN", "ROUTES", "ID"],
        ["main", "v-1", "yes", "10.0.0.0/16->local,", "0.0.0.0/0->igw", "t-1"],
    ]
    as_json = json.loads(run("route-table", "list", "-o", "json").stdout)
    assert as_json == [{**ROUTED, "name": "main", "is_main": True}]  # whole, routes as sent
    assert "vpc_id" not in api.last("GET /route-tables").url.params


def test_route_table_get_shows_its_routes(api: FakeAPI) -> None:
    found = {**ROUTED, "subnet_ids": ["s-1"]}
    api.on("GET /route-tables/t-1", ok(found))
    result = run("route-table", "get", "t-1")
    assert result.exit_code == 0, result.output
    rows = table(result.stdout)
    assert ["name", "public"] in rows and ["subnet_ids", "s-1"] in rows
    start = rows.index(["DESTINATION", "CIDR", "TARGET", "TYPE", "TARGET", "ID"])
    assert rows[start + 1 :] == [["10.0.0.0/16", "local", "-"], ["0.0.0.0/0", "igw", "gw-1"]]
    assert json.loads(run("route-table", "get", "t-1", "-o", "json").stdout) == found


def test_add_route_sends_the_target(api: FakeAPI) -> None:
    api.on("POST /route-tables/t-1/routes", ok(ROUTED, 201))
    result = run("route-table", "add-route", "t-1", "0.0.0.0/0", "--igw", "gw")
    assert result.exit_code == 0, result.output
    assert sent(api.last("POST /route-tables/t-1/routes")) == {
        "destination_cidr": "0.0.0.0/0",
        "target_type": "igw",
        "target_id": "gw",
    }
    assert ["0.0.0.0/0", "igw", "gw-1"] in table(result.stdout)
    as_json = run("route-table", "add-route", "t-1", "8.8.8.0/24", "--nat", "n-1", "-o", "json")
    assert json.loads(as_json.stdout) == ROUTED
    assert sent(api.last("POST /route-tables/t-1/routes")) == {
        "destination_cidr": "8.8.8.0/24",
        "target_type": "nat",
        "target_id": "n-1",
    }


@pytest.mark.parametrize("targets", [[], ["--igw", "gw", "--nat", "n-1"]])
def test_add_route_needs_exactly_one_target(api: FakeAPI, targets: list[str]) -> None:
    result = run("route-table", "add-route", "t-1", "0.0.0.0/0", *targets)
    assert result.exit_code == 2, result.output
    assert "exactly one of --igw or --nat" in result.output
    assert api.requests == []


def test_remove_route_associate_disassociate_delete(api: FakeAPI) -> None:
    api.on("DELETE /route-tables/t-1/routes", ok(TABLE))
    api.on("POST /route-tables/t-1/associate", ok(TABLE))
    api.on("POST /route-tables/t-1/disassociate", ok(TABLE))
    api.on("DELETE /route-tables/t-1", httpx.Response(204))
    removed = run("route-table", "remove-route", "t-1", "0.0.0.0/0", "-o", "json")
    assert removed.exit_code == 0, removed.output
    assert dict(api.last("DELETE /route-tables/t-1/routes").url.params) == {
        "destination_cidr": "0.0.0.0/0"
    }
    assert json.loads(removed.stdout)["routes"] == [LOCAL]
    associated = run("route-table", "associate", "t-1", "s-1")
    assert associated.exit_code == 0, associated.output
    assert sent(api.last("POST /route-tables/t-1/associate")) == {"subnet_id": "s-1"}
    assert associated.stderr == "Subnet s-1 now uses route table t-1.\n"
    assert ["10.0.0.0/16", "local", "-"] in table(associated.stdout)
    disassociated = run("route-table", "disassociate", "t-1", "s-1")
    assert sent(api.last("POST /route-tables/t-1/disassociate")) == {"subnet_id": "s-1"}
    assert disassociated.stderr == "Subnet s-1 now uses its VPC's main route table.\n"
    deleted = run("route-table", "delete", "t-1")
    assert (deleted.exit_code, deleted.stderr) == (0, "Deleted route table t-1.\n")


@pytest.mark.parametrize(
    "command",
    [
        ["eip"],
        ["eip", "associate"],
        ["igw"],
        ["igw", "attach"],
        ["nat"],
        ["nat", "create"],
        ["route-table"],
        ["route-table", "add-route"],
    ],
)
def test_help_renders(api: FakeAPI, command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
