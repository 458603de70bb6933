"""Compute over HTTP against the real Docker Engine: launch busybox, see it run, stop, start,
reboot, read its logs, terminate it and see the container gone."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.conftest import Server, assert_error


def docker(*args: str) -> str:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    return out.stdout.strip()


@pytest.fixture(scope="module", autouse=True)
def busybox_built() -> None:
    if not docker("images", "-q", "thecloud/busybox"):
        pytest.fail(
            "no busybox image on the engine: run `make test` (thecloud images build busybox)"
        )


def until(
    client: httpx.Client, ident: str, wanted: str, timeout: float = 30.0
) -> dict[str, object]:
    deadline, seen = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        r = client.get(f"/instances/{ident}")
        assert r.status_code == 200, r.text
        data: dict[str, object] = r.json()["data"]
        seen = str(data["status"])
        if seen == wanted:
            return data
        assert seen != "ERROR" or wanted == "ERROR", data
        time.sleep(0.05)
    raise AssertionError(f"instance {ident} is {seen}, not {wanted}, after {timeout} s")


def launch(client: httpx.Client, **body: object) -> dict[str, object]:
    payload = {"name": f"vm-{uuid.uuid4().hex[:8]}", "image": "busybox", "instance_type": "basic-1"}
    r = client.post("/instances", json={**payload, **body})
    assert r.status_code == 202, r.text
    data: dict[str, object] = r.json()["data"]
    assert data["status"] == "STARTING"
    return data


def test_catalog_and_types_are_listed(client: httpx.Client) -> None:
    types = client.get("/instance-types").json()["data"]
    assert [t["id"] for t in types][:2] == ["basic-1", "basic-2"] and len(types) == 7
    busybox = client.get("/images/busybox").json()["data"]
    assert busybox["status"] == "AVAILABLE" and busybox["os"] == "busybox"
    assert busybox["reference"].startswith("thecloud/busybox:") and busybox["version"]


def test_an_instance_lives_a_whole_life_on_the_engine(client: httpx.Client) -> None:
    vm = launch(client, ports="0:80", cmd=["sh", "-c", "echo hello-from-vm; exec sleep 600"])
    running = until(client, str(vm["id"]), "RUNNING")
    container = str(running["container_id"])
    assert docker("inspect", "-f", "{{.State.Running}}", container) == "true"
    assert docker(
        "inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", container
    ) == (f"{10**9} {512 * 1024 * 1024}")
    assert str(running["host_ports"][0]).endswith(":80/tcp")  # type: ignore[index]
    lines = client.get(f"/instances/{vm['id']}/logs", params={"tail": 10}).json()["data"]
    assert any(line["text"] == "hello-from-vm" for line in lines), lines
    for what, between, after in (
        ("stop", "STOPPING", "STOPPED"),
        ("start", "STARTING", "RUNNING"),
        ("reboot", "REBOOTING", "RUNNING"),
    ):
        r = client.post(f"/instances/{vm['id']}/{what}")
        assert r.status_code == 202 and r.json()["data"]["status"] == between, r.text
        until(client, str(vm["id"]), after)
    assert client.delete(f"/instances/{vm['id']}").status_code == 202
    gone = until(client, str(vm["id"]), "DELETED")
    assert gone["deleted_at"] and docker("ps", "-aq", "--filter", f"id={container}") == ""


def test_a_dead_container_is_brought_back(client: httpx.Client) -> None:
    vm = launch(client, cmd=["sleep", "600"])
    container = str(until(client, str(vm["id"]), "RUNNING")["container_id"])
    docker("kill", container)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        data = client.get(f"/instances/{vm['id']}").json()["data"]
        if data["restart_count"] >= 1 and data["status"] == "RUNNING":
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"not healed: {data}")
    assert docker("inspect", "-f", "{{.State.Running}}", container) == "true"
    client.delete(f"/instances/{vm['id']}")


def test_bad_launches_are_4xx_with_a_message(client: httpx.Client) -> None:
    bad = {"name": "x", "image": "busybox", "ports": "80:http"}
    assert "HOST:CONTAINER" in str(
        assert_error(client.post("/instances", json=bad), 400, "INVALID_INPUT")["message"]
    )
    assert_error(
        client.post("/instances", json={"name": "x", "image": "nope"}), 400, "INVALID_INPUT"
    )
    assert "cpu" in str(
        assert_error(
            client.post("/instances", json={"name": "x", "image": "busybox", "cpu": 1}),
            400,
            "INVALID_INPUT",
        )["message"]
    )
    assert_error(client.post("/instances/no-such-vm/stop"), 404, "NOT_FOUND")


def test_viewers_cannot_launch_and_strangers_cannot_see(
    server: Server,
    client: httpx.Client,
    member: Callable[[str], tuple[dict[str, str], httpx.Client]],
) -> None:
    vm = launch(client, cmd=["sleep", "600"])
    _, viewer = member("viewer")
    assert_error(
        viewer.post("/instances", json={"name": "v", "image": "busybox"}), 403, "FORBIDDEN"
    )
    assert viewer.get(f"/instances/{vm['id']}").status_code == 200
    with server.api(server.register("stranger")) as stranger:
        assert_error(stranger.get(f"/instances/{vm['id']}"), 404, "NOT_FOUND")
        assert_error(stranger.delete(f"/instances/{vm['id']}"), 404, "NOT_FOUND")
    client.delete(f"/instances/{vm['id']}")
