"""A server killed with SIGKILL while its VPCs carry traffic, the host's firewall then reset
under it and a stray network left behind: started again, the platform puts its data path
back (isolation and security groups hold again), removes the network no VPC owns, and loses
no VPC, subnet or instance."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import Server
from tests.e2e.test_api_compute import busybox_built  # noqa: F401
from tests.e2e.test_api_network import WEB, can_get, can_ping, launch, ok, running, vpc_with_subnets
from thecloud.adapters.docker.network import DockerFabric


def iptables_save() -> str:
    return subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout


def test_kill_minus_9_then_a_lost_firewall_and_a_stray_network_are_healed(
    spawn: Callable[..., Server], tmp_path: Path
) -> None:
    installation = f"netcrash-{uuid.uuid4().hex[:8]}"
    env = {"THECLOUD_INSTALLATION_ID": installation, "THECLOUD_NETWORK_ORPHAN_GRACE_SECONDS": "0"}
    first = spawn(tmp_path, **env)
    user = first.register("crash")
    with first.api(user) as api:
        a, [sa] = vpc_with_subnets(api, 1)
        b, [sb] = vpc_with_subnets(api, 1)
        web_group = ok(api.post("/security-groups", json={"vpc_id": a["id"], "name": "web"}), 201)
        web, near, other = running(
            api,
            launch(api, sa, WEB, security_group_ids=[web_group["id"]]),
            launch(api, sa),
            launch(api, sb),
        )
        assert not can_get(near, web) and not can_ping(near, other)
    first.process.kill()
    first.process.wait(10)

    # The host's firewall loses every rule of ours; someone leaves a labelled network.
    fabric = DockerFabric(installation)
    asyncio.run(fabric.clear())
    tag = fabric.tag
    assert f"TC-{tag}-" not in iptables_save()
    assert can_get(near, web), "without its chains, nothing keeps the web group closed"
    stray = f"thecloud-vpc-{uuid.uuid4()}"
    made = subprocess.run(
        ["docker", "network", "create", "--label", f"thecloud.managed={installation}",
         "--label", "thecloud.vpc=gone", "--subnet", "10.251.0.0/24", stray],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr

    second = spawn(tmp_path, **env)
    with second.api(user) as api:
        deadline = time.monotonic() + 30
        while f"TC-{tag}-VPC" not in iptables_save() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not can_get(near, web), "the web group lets nothing in, again"
        assert not can_ping(near, other), "the VPCs are apart again"
        while time.monotonic() < deadline:
            listed = subprocess.run(
                ["docker", "network", "ls", "-q", "--filter", f"name={stray}"],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            if not listed.stdout.strip():
                break
            time.sleep(0.2)
        assert not listed.stdout.strip(), "the network no VPC owns is removed"
        assert {v["id"] for v in api.get("/vpcs").json()["data"]} == {a["id"], b["id"]}
        rows = api.get("/instances").json()["data"]
        assert sorted(r["id"] for r in rows) == sorted(str(x["id"]) for x in (web, near, other))
        assert all(r["status"] == "RUNNING" for r in rows)
        for vpc in (a, b):
            api.delete(f"/vpcs/{vpc['id']}", params={"force": "true"})
