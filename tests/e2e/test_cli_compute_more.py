"""SSH keys, user-data, deployments and own images via the `cloud` CLI on the real server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.conftest import Server
from tests.e2e.test_api_compute import busybox_built, docker  # noqa: F401 - its check runs here
from tests.e2e.test_api_images import rootfs_tarball
from tests.e2e.test_cli_sdk import PASSWORD, Cli, email
from thecloud.sdk import Client

WAIT = ("--wait", "--timeout", "45")


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    cli = Cli(server, tmp_path)
    cli.ok("auth", "register", "--email", email("more"), "--name", "More", "--password", PASSWORD)
    return cli


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def keygen(directory: Path) -> Path:
    """A fresh ed25519 key pair without a passphrase; returns the public key's path."""
    if shutil.which("ssh-keygen") is None:
        pytest.fail("ssh-keygen is missing: apt-get install openssh-client")
    private = directory / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(private)], check=True)
    return directory / "k.pub"


def exec_until(cli: Cli, name: str, command: list[str], wanted: str, timeout: float = 20) -> str:
    """Run the command in the instance until its output contains `wanted`."""
    deadline, out = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        done = cli("instance", "exec", name, "--", *command)
        out = done.stdout + done.stderr
        if wanted in out:
            return out
        time.sleep(0.2)
    raise AssertionError(f"{' '.join(command)} in {name} never showed {wanted!r}: {out}")


def test_ssh_key_and_user_data_reach_the_instance(cli: Cli, tmp_path: Path) -> None:
    pub = keygen(tmp_path)
    made = cli.ok("ssh-key", "create", unique("laptop"), "--file", str(pub), "-o", "json")
    key = json.loads(made)
    fingerprint = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True,
                                 check=True).stdout.split()[1]  # fmt: skip
    assert key["fingerprint"] == fingerprint
    assert key["name"] in cli.ok("ssh-key", "list")
    script = tmp_path / "boot.sh"
    script.write_text("#!/bin/sh\necho first-boot-ran > /root/first-boot\n")
    name = unique("keyed")
    out = cli.ok("instance", "launch", name, "-i", "busybox", "-t", "basic-1", "--ssh-key",
                 key["name"], "--user-data-file", str(script), *WAIT, "-o", "json",
                 "--", "sleep", "600")  # fmt: skip
    launched = json.loads(out)
    assert launched["has_ssh_keys"] and launched["has_user_data"]
    assert "user_data" not in launched and "authorized_keys" not in launched
    keys = exec_until(cli, name, ["cat", "/root/.ssh/authorized_keys"], "ssh-ed25519")
    assert keys.strip() == pub.read_text().strip()
    exec_until(cli, name, ["cat", "/root/first-boot"], "first-boot-ran")
    cli.ok("instance", "terminate", name, "--wait")
    cli.ok("ssh-key", "delete", key["id"])
    assert cli("ssh-key", "get", key["id"]).returncode == 1


def test_deployment_created_scaled_and_deleted_with_wait(cli: Cli) -> None:
    name = unique("dep")
    made = cli.ok("deployment", "create", name, "-i", "busybox", "--replicas", "2", "-p", "0:80",
                  "-t", "basic-1", *WAIT, "-o", "json", "--", "sleep", "600")  # fmt: skip
    assert json.loads(made)["running"] == 2
    shown = json.loads(cli.ok("deployment", "get", name, "-o", "json"))
    replicas = {i["id"] for i in shown["instances"]}
    assert len(replicas) == 2 and shown["ports"] == ["0:80/tcp"]
    assert all(i["host_ports"][0].endswith(":80/tcp") for i in shown["instances"])
    assert name in cli.ok("deployment", "list")
    scaled = json.loads(cli.ok("deployment", "scale", name, "1", *WAIT, "-o", "json"))
    assert (scaled["replicas"], scaled["running"]) == (1, 1)
    gone = json.loads(cli.ok("deployment", "delete", name, *WAIT, "-o", "json"))
    assert gone["status"] == "DELETED"
    missing = cli("deployment", "get", name)
    assert missing.returncode == 1 and "NOT_FOUND" in missing.stderr
    for ident in replicas:
        assert docker("ps", "-aq", "--filter", f"label=thecloud.instance={ident}") == ""


def test_own_image_uploaded_launched_and_deleted(cli: Cli, tmp_path: Path) -> None:
    tarball = tmp_path / "rootfs.tar.gz"
    tarball.write_bytes(rootfs_tarball())
    name = unique("tiny")
    created = json.loads(cli.ok("image", "create", name, "--description", "mine", "-o", "json"))
    assert created["status"] == "PENDING_UPLOAD"
    done = cli("image", "upload", name, str(tarball), "-o", "json")
    assert done.returncode == 0, done.stderr
    image = json.loads(done.stdout)
    assert (image["status"], image["os"], image["version"]) == ("AVAILABLE", "tinybox", "0.1")
    assert "rootfs.tar.gz" in done.stderr  # the progress bar
    vm = unique("own")
    cli.ok("instance", "launch", vm, "-i", name, "-t", "basic-1", *WAIT, "--", "sleep", "600")
    assert "ID=tinybox" in cli.ok("instance", "exec", vm, "--", "cat", "/etc/os-release")
    refused = cli("image", "delete", name)
    assert refused.returncode == 1 and "CONFLICT" in refused.stderr
    cli.ok("instance", "terminate", vm, "--wait")
    cli.ok("image", "delete", name)
    assert cli("image", "get", name).returncode == 1


def test_sdk_uploads_from_a_pipe_in_chunks(server: Server, user: dict[str, str]) -> None:
    data = rootfs_tarball()
    read_end, write_end = os.pipe()

    def feed() -> None:
        with os.fdopen(write_end, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    with Client(server.url, api_key=user["api_key"]) as sdk, os.fdopen(read_end, "rb") as pipe:
        image = sdk.images.register(unique("piped"))
        sent: list[int] = []
        done = sdk.images.upload(image["id"], pipe, on_progress=sent.append)
        assert (done["status"], done["os"], sent[-1]) == ("AVAILABLE", "tinybox", len(data))
        sdk.images.delete(image["id"])
    writer.join(10)
