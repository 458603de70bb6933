"""`cloud instance ...` and the SDK's instances against the running server and the real engine."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

from tests.e2e.conftest import Server
from tests.e2e.test_cli_sdk import PASSWORD, Cli, email
from thecloud.sdk import Client


def test_cli_launches_waits_reads_logs_and_terminates(server: Server, tmp_path: Path) -> None:
    cli = Cli(server, tmp_path)
    cli.ok("auth", "register", "--email", email("vm"), "--name", "Vm", "--password", PASSWORD)
    name = f"cli-{uuid.uuid4().hex[:8]}"
    cmd = ["sh", "-c", "echo cli-says-hi; exec sleep 600"]
    out = cli.ok("instance", "launch", name, "-i", "busybox", "-t", "basic-1", "-p", "0:80",
                 "--wait", "-o", "json", "--", *cmd)  # fmt: skip
    launched = json.loads(out)
    assert launched["status"] == "RUNNING" and launched["host_ports"][0].endswith(":80/tcp")
    logs = cli.ok("instance", "logs", name, "--tail", "5")
    assert "cli-says-hi" in logs
    listed = cli.ok("instance", "list", "--status", "running")
    assert name in listed and "RUNNING" in listed
    cli.ok("instance", "terminate", name, "--wait")
    found = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"id={launched['container_id']}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert found.stdout.strip() == ""


def test_sdk_waits_for_running_then_for_deleted(server: Server, user: dict[str, str]) -> None:
    with Client(server.url, api_key=user["api_key"]) as sdk:
        vm = sdk.instances.launch(f"sdk-{uuid.uuid4().hex[:8]}", "busybox", cmd=["sleep", "600"])
        running = sdk.instances.wait(vm["id"], timeout=30)
        assert running["status"] == "RUNNING" and running["container_id"]
        sdk.instances.terminate(vm["id"])
        assert sdk.instances.wait(vm["id"], until="DELETED", timeout=30)["deleted_at"]
