"""`cloud ssh-key`, `deployment`, `image create/upload/delete`, launch options (MockTransport)."""

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

PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx me@laptop"
KEY = {"id": "k-1", "name": "laptop", "public_key": PUB, "fingerprint": "SHA256:abc",
       "created_at": "2030-01-01T00:00:00Z"}  # fmt: skip
IMAGE = {"id": "img-1", "name": "tools", "status": "PENDING_UPLOAD", "os": None, "version": None}


def deployment(running: int | None = None, status: str = "ACTIVE", **fields: Any) -> dict[str, Any]:
    base = {"id": "d-1", "name": "web", "image": "busybox", "instance_type": "basic-1",
            "replicas": 2, "ports": ["0:80/tcp"], "status": status}  # fmt: skip
    live = {} if running is None else {"running": running, "instances": []}
    return {**base, "status_reason": "", **live, **fields}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAPI:
    fake = FakeAPI()

    def make(*args: Any, **kwargs: Any) -> Client:
        return Client(*args, transport=httpx.MockTransport(fake), **kwargs)

    monkeypatch.setattr(context, "make_client", make)
    monkeypatch.setenv("CLOUD_CONFIG", str(tmp_path / "config.json"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("CLOUD_API_URL", "CLOUD_API_KEY", "CLOUD_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    return fake


def sent(api: FakeAPI, route: str) -> Any:
    return json.loads(api.last(route).content)


def test_ssh_key_create_from_text_shows_the_fingerprint(api: FakeAPI) -> None:
    api.on("POST /ssh-keys", ok(KEY, 201))
    result = run("ssh-key", "create", "laptop", "--public-key", f"  {PUB}\n")
    assert result.exit_code == 0, result.output
    assert sent(api, "POST /ssh-keys") == {"name": "laptop", "public_key": PUB}
    assert "SHA256:abc" in result.stdout


def test_ssh_key_create_from_a_file(api: FakeAPI, tmp_path: Path) -> None:
    api.on("POST /ssh-keys", ok(KEY, 201))
    pub = tmp_path / "k.pub"
    pub.write_text(PUB + "\n")
    result = run("ssh-key", "create", "laptop", "--file", str(pub), "-o", "json")
    assert result.exit_code == 0, result.output
    assert sent(api, "POST /ssh-keys")["public_key"] == PUB
    assert json.loads(result.stdout) == KEY


def test_ssh_key_create_reads_the_default_key(api: FakeAPI, tmp_path: Path) -> None:
    api.on("POST /ssh-keys", ok(KEY, 201))
    default = tmp_path / "home" / ".ssh" / "id_ed25519.pub"
    default.parent.mkdir(parents=True)
    default.write_text(PUB + "\n")
    assert run("ssh-key", "create", "laptop").exit_code == 0
    assert sent(api, "POST /ssh-keys")["public_key"] == PUB


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ([], "id_ed25519.pub"),
        (["--public-key", PUB, "--file", "k.pub"], "not both"),
        (["--file", "/nonexistent/k.pub"], "cannot read"),
    ],
)
def test_ssh_key_create_needs_one_key(api: FakeAPI, extra: list[str], says: str) -> None:
    result = run("ssh-key", "create", "laptop", *extra)
    assert result.exit_code == 2
    assert says in result.stderr
    assert api.requests == []


def test_ssh_key_list_get_delete(api: FakeAPI) -> None:
    api.on("GET /ssh-keys", page([KEY]))
    api.on("GET /ssh-keys/laptop", ok(KEY))
    api.on("DELETE /ssh-keys/laptop", httpx.Response(204))
    listed = run("ssh-key", "list", "--name", "laptop")
    assert listed.stdout.split() == ["NAME", "FINGERPRINT", "ID", "CREATED", "AT", "laptop",
                                     "SHA256:abc", "k-1", "2030-01-01T00:00:00Z"]  # fmt: skip
    assert api.requests[0].url.params["name"] == "laptop"
    assert yaml.safe_load(run("ssh-key", "get", "laptop", "-o", "yaml").stdout) == KEY
    deleted = run("ssh-key", "delete", "laptop")
    assert (deleted.exit_code, deleted.stderr.strip()) == (0, "Deleted SSH key laptop.")


def test_launch_with_an_ssh_key_and_a_user_data_file(api: FakeAPI, tmp_path: Path) -> None:
    api.on("POST /instances", ok(instance(has_ssh_keys=True, has_user_data=True), 202))
    script = tmp_path / "boot.sh"
    script.write_text("#!/bin/sh\necho booted > /tmp/booted\n")
    result = run("instance", "launch", "web", "-i", "busybox", "--ssh-key", "laptop",
                 "--user-data-file", str(script))  # fmt: skip
    assert result.exit_code == 0, result.output
    body = sent(api, "POST /instances")
    assert (body["ssh_key_id"], body["user_data"]) == ("laptop", script.read_text())


def test_launch_with_user_data_text(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    result = run("instance", "launch", "web", "-i", "busybox", "--user-data", "echo hi")
    assert result.exit_code == 0, result.output
    assert sent(api, "POST /instances")["user_data"] == "echo hi"
    assert "ssh_key_id" not in sent(api, "POST /instances")


def test_launch_refuses_user_data_twice(api: FakeAPI, tmp_path: Path) -> None:
    script = tmp_path / "boot.sh"
    script.write_text("echo hi\n")
    args = ["--user-data", "echo hi", "--user-data-file", str(script)]
    result = run("instance", "launch", "web", "-i", "busybox", *args)
    assert result.exit_code == 2 and "not both" in result.stderr
    assert api.requests == []


def test_deployment_create_sends_options_and_the_command(api: FakeAPI) -> None:
    api.on("POST /containers/deployments", ok(deployment(), 202))
    args = ["-i", "busybox", "--replicas", "2", "-p", "0:80", "-t", "basic-1", "-e", "MODE=prod"]
    result = run("deployment", "create", "web", *args, "--", "httpd", "-f", "-p", "80")
    assert result.exit_code == 0, result.output
    assert sent(api, "POST /containers/deployments") == {
        "name": "web",
        "image": "busybox",
        "replicas": 2,
        "ports": "0:80",
        "instance_type": "basic-1",
        "env": ["MODE=prod"],
        "cmd": ["httpd", "-f", "-p", "80"],
    }
    header, row = [line.split() for line in result.stdout.splitlines()]
    assert header == ["NAME", "STATUS", "IMAGE", "REPLICAS", "PORTS", "INSTANCE", "TYPE", "ID"]
    assert row == ["web", "ACTIVE", "busybox", "2", "0:80/tcp", "basic-1", "d-1"]


def test_deployment_create_wait_shows_replicas_coming_up(api: FakeAPI) -> None:
    api.on("POST /containers/deployments", ok(deployment(), 202))
    api.on("GET /containers/deployments/d-1", *[ok(deployment(n)) for n in (0, 1, 2)])
    result = run("deployment", "create", "web", "-i", "busybox", "-r", "2", "--wait", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["running"] == 2
    progress = [line.split(" (")[0] for line in result.stderr.splitlines()]
    assert progress == ["web: 0/2 running", "web: 1/2 running", "web: 2/2 running"]


def test_deployment_wait_times_out_with_the_reason_shown(api: FakeAPI) -> None:
    api.on("POST /containers/deployments", ok(deployment(), 202))
    stalled = deployment(1, status_reason="quota instances exceeded")
    api.on("GET /containers/deployments/d-1", ok(stalled))
    args = ["-i", "busybox", "-r", "2", "--wait", "--timeout", "0"]
    result = run("deployment", "create", "web", *args)
    assert result.exit_code == 1
    assert "web: 1/2 running - quota instances exceeded" in result.stderr
    assert "Error [WAIT_TIMEOUT]: deployment web (d-1) is still 1 running" in result.stderr


def test_deployment_list_and_get_with_its_replicas(api: FakeAPI) -> None:
    replicas = [instance("RUNNING", name="web-a1"), instance("STARTING", name="web-b2")]
    api.on("GET /containers/deployments", page([deployment()]))
    api.on("GET /containers/deployments/web", ok(deployment(1, instances=replicas)))
    listed = run("deployment", "list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["NAME", "web"]
    shown = run("deployment", "get", "web")
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[lines.index("") + 1].split()[:3] == ["NAME", "STATUS", "IMAGE"]
    assert [line.split()[:2] for line in lines[lines.index("") + 2 :]] == [
        ["web-a1", "RUNNING"],
        ["web-b2", "STARTING"],
    ]
    assert ["running", "1"] in [line.split() for line in lines]
    whole = json.loads(run("deployment", "get", "web", "-o", "json").stdout)
    assert [i["name"] for i in whole["instances"]] == ["web-a1", "web-b2"]


def test_deployment_scale_wait(api: FakeAPI) -> None:
    api.on("PUT /containers/deployments/web/scale", ok(deployment(replicas=1), 202))
    api.on("GET /containers/deployments/d-1", ok(deployment(2, replicas=1)), ok(deployment(1)))
    result = run("deployment", "scale", "web", "1", "--wait", "-o", "json")
    assert result.exit_code == 0, result.output
    assert sent(api, "PUT /containers/deployments/web/scale") == {"replicas": 1}
    assert json.loads(result.stdout)["running"] == 1


def test_deployment_delete_wait_ends_when_it_is_gone(api: FakeAPI) -> None:
    api.on("DELETE /containers/deployments/web", ok(deployment(status="DELETING"), 202))
    error = {"type": "NOT_FOUND", "code": "NOT_FOUND", "message": "no deployment web"}
    gone = httpx.Response(404, json={"error": error, "meta": {"request_id": "r"}})
    api.on("GET /containers/deployments/d-1", ok(deployment(1, "DELETING")), gone)
    result = run("deployment", "delete", "web", "--wait", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "DELETED"
    assert "web: DELETING" in result.stderr


def test_deployment_delete_without_wait_shows_deleting(api: FakeAPI) -> None:
    api.on("DELETE /containers/deployments/web", ok(deployment(status="DELETING"), 202))
    result = run("deployment", "delete", "web")
    assert result.stdout.splitlines()[1].split()[:2] == ["web", "DELETING"]
    assert [r.method for r in api.requests] == ["DELETE"]


def test_image_create_upload_delete(api: FakeAPI, tmp_path: Path) -> None:
    tarball = tmp_path / "rootfs.tar.gz"
    tarball.write_bytes(b"\x1f\x8b" + bytes(300_000))
    available = {**IMAGE, "status": "AVAILABLE", "os": "tinybox", "version": "0.1"}
    api.on("POST /images", ok(IMAGE, 201))
    api.on("POST /images/tools/upload", ok(available))
    api.on("DELETE /images/tools", httpx.Response(204))
    created = run("image", "create", "tools", "--description", "ours")
    assert created.stdout.splitlines()[1].split()[:2] == ["tools", "PENDING_UPLOAD"]
    assert sent(api, "POST /images") == {"name": "tools", "description": "ours"}
    uploaded = run("image", "upload", "tools", str(tarball))
    assert uploaded.exit_code == 0, uploaded.output
    assert uploaded.stdout.splitlines()[1].split()[:4] == ["tools", "AVAILABLE", "tinybox", "0.1"]
    request = api.last("POST /images/tools/upload")
    assert request.content == tarball.read_bytes()
    assert "rootfs.tar.gz" in uploaded.stderr and "300.0/300.0 kB" in uploaded.stderr
    deleted = run("image", "delete", "tools")
    assert (deleted.exit_code, deleted.stderr.strip()) == (0, "Deleted image tools.")


def test_image_upload_of_a_missing_file_is_a_usage_error(api: FakeAPI, tmp_path: Path) -> None:
    result = run("image", "upload", "tools", str(tmp_path / "nope.tar"))
    assert result.exit_code == 2
    assert api.requests == []


@pytest.mark.parametrize(
    "command",
    [
        ["ssh-key"],
        ["ssh-key", "create"],
        ["ssh-key", "list"],
        ["ssh-key", "get"],
        ["ssh-key", "delete"],
        ["deployment"],
        ["deployment", "create"],
        ["deployment", "list"],
        ["deployment", "get"],
        ["deployment", "scale"],
        ["deployment", "delete"],
        ["image", "create"],
        ["image", "upload"],
        ["image", "delete"],
    ],
)
def test_help_renders(api: FakeAPI, command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: cloud " + " ".join(command) in result.stdout
