"""Instance operations over HTTP and WebSocket on the real engine: pause/resume, resize (the
cgroup limit really changes), tags and label filters, exec, stats and history, console, logs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import Server, assert_error
from tests.e2e.test_api_compute import docker, launch, until

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEz+OpU0dDkh7m5fofv5rsPoVWzN698sueBy4zvp5yHl a@b"


@pytest.fixture
def vm(client: httpx.Client) -> Iterator[dict[str, object]]:
    made = launch(client, cmd=["sh", "-c", "echo booted; exec sleep 600"], labels={"team": "ops"})
    yield until(client, str(made["id"]), "RUNNING")
    client.delete(f"/instances/{made['id']}")


def ws_url(server: Server, path: str, user: dict[str, str]) -> str:
    return server.url.replace("http://", "ws://") + f"{path}?api_key={user['api_key']}"


def test_pause_resume_and_resize_reach_the_container(
    client: httpx.Client, vm: dict[str, object]
) -> None:
    ident, container = vm["id"], str(vm["container_id"])
    assert client.post(f"/instances/{ident}/pause").json()["data"]["status"] == "PAUSED"
    assert docker("inspect", "-f", "{{.State.Status}}", container) == "paused"
    assert_error(client.post(f"/instances/{ident}/pause"), 409, "CONFLICT")
    assert client.post(f"/instances/{ident}/resume").json()["data"]["status"] == "RUNNING"
    r = client.post(f"/instances/{ident}/resize", json={"instance_type": "standard-1"})
    assert r.status_code == 200 and r.json()["data"]["vcpus"] == 2, r.text
    limit = docker("exec", container, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
    assert int(limit) == 2048 * 1024 * 1024
    assert docker("inspect", "-f", "{{.HostConfig.NanoCpus}}", container) == str(2 * 10**9)


def test_tags_metadata_and_label_filters(client: httpx.Client, vm: dict[str, object]) -> None:
    ident = vm["id"]
    tags = client.post(f"/instances/{ident}/tags", json={"tags": {"tier": "web"}}).json()["data"]
    assert tags == {"team": "ops", "tier": "web"}
    assert client.delete(f"/instances/{ident}/tags/team").json()["data"] == {"tier": "web"}
    meta = client.put(f"/instances/{ident}/metadata", json={"metadata": {"owner": "ann"}})
    assert meta.json()["data"]["metadata"] == {"owner": "ann"}
    found = client.get("/instances", params={"label": "tier=web"}).json()
    assert [i["id"] for i in found["data"]] == [ident]
    assert client.get("/instances", params={"label": "tier=db"}).json()["meta"]["total"] == 0
    assert_error(client.get("/instances", params={"label": "nokey"}), 400, "INVALID_INPUT")


def test_exec_and_stats(client: httpx.Client, vm: dict[str, object]) -> None:
    ident = vm["id"]
    body = {"command": ["sh", "-c", "echo out; echo err >&2; exit 3"], "timeout": 10}
    done = client.post(f"/instances/{ident}/exec", json=body).json()["data"]
    assert done == {"exit_code": 3, "stdout": "out\n", "stderr": "err\n"}
    stats = client.get(f"/instances/{ident}/stats").json()["data"]
    assert stats["memory_limit_bytes"] == 512 * 1024 * 1024 and stats["memory_bytes"] > 0


def test_the_worker_keeps_a_stats_history(spawn: Callable[..., Server], tmp_path: Path) -> None:
    server = spawn(tmp_path, THECLOUD_METRICS_SECONDS="1")
    with server.api(server.register("metrics")) as api:
        made = launch(api, cmd=["sleep", "600"])
        until(api, str(made["id"]), "RUNNING")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            history = api.get(f"/instances/{made['id']}/metrics").json()
            if history["meta"]["total"] >= 2:
                break
            time.sleep(0.5)
        assert history["meta"]["total"] >= 2, history
        newest, older = history["data"][0], history["data"][1]
        assert newest["created_at"] > older["created_at"]  # newest first
        assert newest["memory_limit_bytes"] == 512 * 1024 * 1024 and newest["memory_bytes"] > 0
        api.delete(f"/instances/{made['id']}")


def test_console_runs_a_shell_in_the_instance(
    server: Server, user: dict[str, str], client: httpx.Client, vm: dict[str, object]
) -> None:
    url = client.get(f"/instances/{vm['id']}/console").json()["data"]["url"]
    assert url.endswith(f"/ws/console/{vm['id']}")
    with connect(ws_url(server, f"/ws/console/{vm['id']}", user)) as ws:
        ws.send(json.dumps({"type": "resize", "rows": 30, "cols": 100}))
        ws.send(b"echo $((6*7))\n")
        seen, deadline = b"", time.monotonic() + 10
        while b"42" not in seen and time.monotonic() < deadline:
            chunk = ws.recv(timeout=deadline - time.monotonic())
            seen += chunk if isinstance(chunk, bytes) else chunk.encode()
        assert b"42" in seen, seen


def test_logs_follow_streams_new_lines(
    server: Server, user: dict[str, str], client: httpx.Client, vm: dict[str, object]
) -> None:
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    with connect(ws_url(server, f"/ws/logs/{vm['id']}", user)) as ws:
        client.post(
            f"/instances/{vm['id']}/exec",
            json={"command": ["sh", "-c", f"echo {marker} > /proc/1/fd/1"]},
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            line = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            if line["text"] == marker:
                break
        else:
            raise AssertionError("the new line never came")


def test_streams_refuse_strangers(server: Server, vm: dict[str, object]) -> None:
    stranger = server.register("stranger")
    with connect(ws_url(server, f"/ws/console/{vm['id']}", stranger)) as ws:
        with pytest.raises(Exception) as closed:  # noqa: B017 - the close frame is the answer
            ws.recv(timeout=5)
    assert "4404" in str(closed.value)


def test_first_boot_installs_ssh_keys_and_runs_user_data(client: httpx.Client) -> None:
    key = KEY
    name = f"key-{uuid.uuid4().hex[:6]}"
    created = client.post("/ssh-keys", json={"name": name, "public_key": key})
    assert created.status_code == 201 and created.json()["data"]["fingerprint"].startswith(
        "SHA256:"
    )
    script = '#!/bin/sh\necho "booted as $(id -u)" > /tmp/proof\n'
    made = launch(client, cmd=["sleep", "600"], ssh_key_id=name, user_data=script)
    vm = until(client, str(made["id"]), "RUNNING")
    assert vm["has_ssh_keys"] and vm["has_user_data"] and "user_data" not in vm

    def run(command: str) -> str:
        body = {"command": ["sh", "-c", command]}
        return str(client.post(f"/instances/{vm['id']}/exec", json=body).json()["data"]["stdout"])

    assert run("cat /root/.ssh/authorized_keys").strip() == key
    assert run("stat -c %a /root/.ssh /root/.ssh/authorized_keys").split() == ["700", "600"]
    deadline = time.monotonic() + 10
    while "booted as 0" not in run("cat /tmp/proof 2>/dev/null") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run("cat /tmp/proof").strip() == "booted as 0"
    client.delete(f"/instances/{vm['id']}")
