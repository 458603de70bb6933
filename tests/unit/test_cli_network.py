"""`cloud vpc`, `subnet`, `security-group`, `peering` and `instance launch --vpc ...` over the
SDK on a MockTransport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.unit.test_cli_compute import FakeAPI, instance, ok, page, run
from thecloud.entrypoints.cli import context
from thecloud.sdk import Client

VPC = {"id": "v-1", "name": "net", "cidr_block": "10.0.0.0/16", "status": "AVAILABLE",
       "gateway_ip": "10.0.0.1", "bridge": "tcabcde12345678", "labels": {}}  # fmt: skip
SUBNET = {"id": "s-1", "vpc_id": "v-1", "name": "web", "cidr_block": "10.0.1.0/24",
          "availability_zone": "zone-a", "gateway_ip": "10.0.0.1"}  # fmt: skip
MEMBERS = {"id": "r-1", "group_id": "g-0", "direction": "ingress", "protocol": "all",
           "port_min": None, "port_max": None, "cidr": None, "source_group_id": "g-0",
           "priority": 100, "action": "allow", "description": "members of this group"}  # fmt: skip
OUT = {"id": "r-2", "group_id": "g-0", "direction": "egress", "protocol": "all",
       "port_min": None, "port_max": None, "cidr": "0.0.0.0/0", "source_group_id": None,
       "priority": 100, "action": "allow", "description": "all traffic out"}  # fmt: skip
HTTP = {"id": "r-3", "group_id": "g-0", "direction": "ingress", "protocol": "tcp",
        "port_min": 8000, "port_max": 8100, "cidr": None, "source_group_id": "g-9",
        "priority": 10, "action": "deny", "description": ""}  # fmt: skip
GROUP = {"id": "g-0", "vpc_id": "v-1", "name": "default", "is_default": True,
         "description": "default group", "rules": [HTTP, MEMBERS, OUT],
         "instance_ids": ["i-1", "i-2"]}  # fmt: skip
PEERING = {"id": "p-1", "requester_vpc_id": "v-1", "accepter_vpc_id": "v-2",
           "status": "PENDING_ACCEPTANCE", "created_at": "2030-01-01T00:00:00Z"}  # fmt: skip


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


def table(stdout: str) -> list[list[str]]:
    return [line.split() for line in stdout.splitlines()]


def sent(request: httpx.Request) -> Any:
    return json.loads(request.content)


def test_vpc_create_sends_the_options_and_shows_a_row(api: FakeAPI) -> None:
    api.on("POST /vpcs", ok(VPC, 201))
    result = run("vpc", "create", "net", "--cidr", "10.0.0.0/16", "-d", "web", "-l", "team=blue")
    assert result.exit_code == 0, result.output
    assert sent(api.last("POST /vpcs")) == {
        "name": "net",
        "cidr_block": "10.0.0.0/16",
        "description": "web",
        "labels": {"team": "blue"},
    }
    assert table(result.stdout) == [
        ["NAME", "CIDR", "BLOCK", "STATUS", "GATEWAY", "IP", "ID"],
        ["net", "10.0.0.0/16", "AVAILABLE", "10.0.0.1", "v-1"],
    ]


def test_vpc_create_as_json_is_the_whole_vpc(api: FakeAPI) -> None:
    api.on("POST /vpcs", ok(VPC, 201))
    result = run("vpc", "create", "net", "-o", "json")
    assert json.loads(result.stdout) == VPC
    assert sent(api.last("POST /vpcs")) == {"name": "net"}


def test_vpc_list_get_and_every_page(api: FakeAPI) -> None:
    second = {**VPC, "id": "v-2", "name": "db", "cidr_block": "10.1.0.0/16"}
    api.on("GET /vpcs", page([VPC, second]))
    api.on("GET /vpcs/net", ok(VPC))
    result = run("vpc", "list", "--name", "net", "--limit", "5")
    assert result.exit_code == 0, result.output
    assert dict(api.requests[0].url.params) == {"name": "net", "limit": "5"}
    assert [row[0] for row in table(result.stdout)[1:]] == ["net", "db"]
    assert run("vpc", "list", "--all").exit_code == 0
    assert api.requests[-1].url.params["offset"] == "0"
    assert yaml.safe_load(run("vpc", "get", "net", "-o", "yaml").stdout) == VPC


def test_vpc_update_needs_a_change_and_sends_only_it(api: FakeAPI) -> None:
    assert run("vpc", "update", "net").exit_code == 2
    assert api.requests == []
    api.on("PATCH /vpcs/net", ok({**VPC, "name": "front"}))
    result = run("vpc", "update", "net", "--name", "front", "--label", "a=1", "-o", "json")
    assert result.exit_code == 0, result.output
    assert sent(api.last("PATCH /vpcs/net")) == {"name": "front", "labels": {"a": "1"}}
    assert json.loads(result.stdout)["name"] == "front"


def test_vpc_delete_without_force(api: FakeAPI) -> None:
    api.on("DELETE /vpcs/net", httpx.Response(204))
    result = run("vpc", "delete", "net")
    assert result.exit_code == 0, result.output
    assert result.stderr == "Deleted VPC net.\n"
    assert "force" not in api.last("DELETE /vpcs/net").url.params
    assert [r.method for r in api.requests] == ["DELETE"]


def test_vpc_delete_refused_while_in_use_is_an_error_line(api: FakeAPI) -> None:
    error = {"type": "CONFLICT", "code": "CONFLICT",
             "message": "VPC net still has 1 instance and 0 peerings: ... ?force=true"}  # fmt: skip
    api.on("DELETE /vpcs/net", httpx.Response(409, json={"error": error, "meta": {}}))
    result = run("vpc", "delete", "net")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error [CONFLICT]: VPC net still has 1 instance")


def test_vpc_force_delete_says_when_instances_are_still_going(api: FakeAPI) -> None:
    api.on("DELETE /vpcs/net", ok({**VPC, "status": "DELETING"}, 202))
    api.on("GET /vpcs/net", ok({**VPC, "status": "DELETING"}))
    result = run("vpc", "delete", "net", "--force")
    assert result.exit_code == 0, result.output
    assert api.last("DELETE /vpcs/net").url.params["force"] == "true"
    assert "VPC net is DELETING: its instances are being terminated" in result.stderr
    assert "Deleted" not in result.stderr


def test_vpc_force_delete_of_an_empty_vpc_is_done_at_once(api: FakeAPI) -> None:
    api.on("DELETE /vpcs/net", httpx.Response(204))  # GET /vpcs/net: 404, it is gone
    result = run("vpc", "delete", "net", "--force")
    assert result.exit_code == 0, result.output
    assert result.stderr == "Deleted VPC net.\n"


def test_vpc_force_delete_wait_polls_until_gone(api: FakeAPI) -> None:
    deleting = ok({**VPC, "status": "DELETING"})
    gone = httpx.Response(404, json={"error": {"type": "NOT_FOUND", "code": "NOT_FOUND",
                                               "message": "VPC net not found"}})  # fmt: skip
    api.on("DELETE /vpcs/net", ok({**VPC, "status": "DELETING"}, 202))
    api.on("GET /vpcs/net", deleting, deleting, gone)
    result = run("vpc", "delete", "net", "--force", "--wait")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == "Deleted VPC net."
    assert len([r for r in api.requests if r.method == "GET"]) == 3


def test_subnet_commands(api: FakeAPI) -> None:
    api.on("POST /vpcs/net/subnets", ok(SUBNET, 201))
    api.on("GET /vpcs/net/subnets", page([SUBNET]))
    api.on("GET /subnets/s-1", ok(SUBNET))
    api.on("DELETE /subnets/s-1", httpx.Response(204))
    created = run("subnet", "create", "net", "web", "10.0.1.0/24", "--zone", "zone-b")
    assert created.exit_code == 0, created.output
    assert sent(api.last("POST /vpcs/net/subnets")) == {
        "name": "web",
        "cidr_block": "10.0.1.0/24",
        "availability_zone": "zone-b",
    }
    assert table(created.stdout)[1] == ["web", "10.0.1.0/24", "zone-a", "10.0.0.1", "v-1", "s-1"]
    listed = run("subnet", "list", "net")
    assert table(listed.stdout)[0][:3] == ["NAME", "CIDR", "BLOCK"]
    assert json.loads(run("subnet", "get", "s-1", "-o", "json").stdout) == SUBNET
    deleted = run("subnet", "delete", "s-1")
    assert (deleted.exit_code, deleted.stderr) == (0, "Deleted subnet s-1.\n")


def test_security_group_create_and_list_by_vpc_name(api: FakeAPI) -> None:
    api.on("POST /security-groups", ok({**GROUP, "name": "web", "is_default": False}, 201))
    api.on("GET /vpcs/net", ok(VPC))
    api.on("GET /security-groups", page([GROUP]))
    created = run("security-group", "create", "net", "web", "-d", "http")
    assert created.exit_code == 0, created.output
    assert sent(api.last("POST /security-groups")) == {
        "vpc_id": "net",
        "name": "web",
        "description": "http",
    }
    listed = run("security-group", "list", "--vpc", "net")
    assert listed.exit_code == 0, listed.output
    assert dict(api.last("GET /security-groups").url.params) == {"vpc_id": "v-1"}
    assert table(listed.stdout) == [
        ["NAME", "VPC", "ID", "IS", "DEFAULT", "RULES", "INSTANCES", "ID"],
        ["default", "v-1", "yes", "3", "2", "g-0"],
    ]
    as_json = json.loads(run("security-group", "list", "-o", "json").stdout)
    assert as_json == [GROUP]  # whole, with its rules
    assert "vpc_id" not in api.last("GET /security-groups").url.params


def test_security_group_get_shows_its_rules_in_order(api: FakeAPI) -> None:
    api.on("GET /security-groups/default", ok(GROUP))
    result = run("security-group", "get", "default")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert ["name", "default"] in table(result.stdout)
    start = next(i for i, line in enumerate(lines) if line.startswith("PRIORITY"))
    rules = [line.split() for line in lines[start + 1 :]]
    assert rules == [
        ["10", "ingress", "deny", "tcp", "8000-8100", "group", "g-9", "r-3"],
        ["100", "ingress", "allow", "all", "-", "group", "default", "(its", "members)",
         "members", "of", "this", "group", "r-1"],
        ["100", "egress", "allow", "all", "-", "0.0.0.0/0", "all", "traffic", "out", "r-2"],
    ]  # fmt: skip
    assert json.loads(run("security-group", "get", "default", "-o", "json").stdout) == GROUP


def test_add_rule_parses_ports_and_sends_the_api_names(api: FakeAPI) -> None:
    api.on("POST /security-groups/web/rules", ok(HTTP, 201))
    result = run(
        "security-group", "add-rule", "web", "--protocol", "UDP", "--port", "8000-8100",
        "--source-group", "g-9", "--priority", "10", "--action", "deny", "-d", "no",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent(api.last("POST /security-groups/web/rules")) == {
        "direction": "ingress",
        "protocol": "udp",
        "port_min": 8000,
        "port_max": 8100,
        "source_group_id": "g-9",
        "priority": 10,
        "action": "deny",
        "description": "no",
    }
    assert table(result.stdout)[1][:5] == ["10", "ingress", "deny", "tcp", "8000-8100"]
    single = run("security-group", "add-rule", "web", "--direction", "egress", "--port", "80",
                 "--cidr", "0.0.0.0/0", "-o", "json")  # fmt: skip
    assert single.exit_code == 0, single.output
    assert sent(api.last("POST /security-groups/web/rules")) == {
        "direction": "egress",
        "port_min": 80,
        "port_max": 80,
        "cidr": "0.0.0.0/0",
    }


@pytest.mark.parametrize(
    "bad",
    [
        ["--port", "80-70"],
        ["--port", "http"],
        ["--port", "0"],
        ["--port", "65536"],
        ["--priority", "0"],
        ["--priority", "4097"],
        ["--direction", "sideways"],
        ["--protocol", "sctp"],
        ["--action", "maybe"],
    ],
)
def test_add_rule_usage_errors_send_nothing(api: FakeAPI, bad: list[str]) -> None:
    result = run("security-group", "add-rule", "web", "--cidr", "0.0.0.0/0", *bad)
    assert result.exit_code == 2, result.output
    assert api.requests == []


def test_remove_rule_attach_detach_and_delete(api: FakeAPI) -> None:
    api.on("DELETE /security-groups/rules/r-3", httpx.Response(204))
    api.on("POST /security-groups/attach", ok(GROUP))
    api.on("POST /security-groups/detach", ok({**GROUP, "instance_ids": ["i-2"]}))
    api.on("DELETE /security-groups/web", httpx.Response(204))
    removed = run("security-group", "remove-rule", "r-3")
    assert (removed.exit_code, removed.stderr) == (0, "Removed rule r-3.\n")
    attached = run("security-group", "attach", "g-0", "vm")
    assert attached.exit_code == 0, attached.output
    assert sent(api.last("POST /security-groups/attach")) == {
        "instance_id": "vm",
        "group_id": "g-0",
    }
    assert table(attached.stdout)[1] == ["default", "v-1", "yes", "3", "2", "g-0"]
    detached = run("security-group", "detach", "g-0", "vm", "-o", "json")
    assert json.loads(detached.stdout)["instance_ids"] == ["i-2"]
    assert sent(api.last("POST /security-groups/detach")) == {
        "instance_id": "vm",
        "group_id": "g-0",
    }
    deleted = run("security-group", "delete", "web")
    assert (deleted.exit_code, deleted.stderr) == (0, "Deleted security group web.\n")


def test_peering_commands(api: FakeAPI) -> None:
    active = {**PEERING, "status": "ACTIVE"}
    api.on("POST /vpc-peerings", ok(PEERING, 201))
    api.on("GET /vpc-peerings", page([active]))
    api.on("GET /vpc-peerings/p-1", ok(active))
    api.on("POST /vpc-peerings/p-1/accept", ok(active))
    api.on("POST /vpc-peerings/p-1/reject", ok({**PEERING, "status": "REJECTED"}))
    api.on("DELETE /vpc-peerings/p-1", httpx.Response(204))
    created = run("peering", "create", "net", "db")
    assert created.exit_code == 0, created.output
    assert sent(api.last("POST /vpc-peerings")) == {
        "requester_vpc_id": "net",
        "accepter_vpc_id": "db",
    }
    assert table(created.stdout)[1][:4] == ["p-1", "PENDING_ACCEPTANCE", "v-1", "v-2"]
    listed = run("peering", "list", "--status", "active")
    assert api.last("GET /vpc-peerings").url.params["status"] == "ACTIVE"
    assert table(listed.stdout)[1][:2] == ["p-1", "ACTIVE"]
    assert json.loads(run("peering", "get", "p-1", "-o", "json").stdout) == active
    assert json.loads(run("peering", "accept", "p-1", "-o", "json").stdout)["status"] == "ACTIVE"
    rejected = run("peering", "reject", "p-1", "-o", "json")
    assert json.loads(rejected.stdout)["status"] == "REJECTED"
    deleted = run("peering", "delete", "p-1")
    assert (deleted.exit_code, deleted.stderr) == (0, "Deleted peering p-1.\n")


def test_launch_into_a_vpc(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(vpc_id="v-1", private_ip="10.0.1.9"), 202))
    result = run(
        "instance", "launch", "web", "-i", "busybox", "--vpc", "net", "--subnet", "s-1",
        "--private-ip", "10.0.1.9", "--security-group", "web", "--security-group", "g-0",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent(api.last("POST /instances")) == {
        "name": "web",
        "image": "busybox",
        "vpc_id": "net",
        "subnet_id": "s-1",
        "private_ip": "10.0.1.9",
        "security_group_ids": ["web", "g-0"],
    }


@pytest.mark.parametrize(
    "command",
    [
        ["vpc"],
        ["vpc", "create"],
        ["vpc", "delete"],
        ["subnet"],
        ["subnet", "create"],
        ["security-group"],
        ["security-group", "add-rule"],
        ["security-group", "attach"],
        ["peering"],
        ["peering", "create"],
    ],
)
def test_help_renders(api: FakeAPI, command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
