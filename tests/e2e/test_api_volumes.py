"""Block storage over HTTP with real volumes (loop devices), real containers and real files:
data written in an instance survives a snapshot, an overwrite, a restore into a new volume
and an attach to a second instance; the size is a real limit; a volume plugs into a running
instance without a restart."""

from __future__ import annotations

import subprocess
import uuid

import httpx

from tests.e2e.conftest import Server, assert_error
from tests.e2e.test_api_compute import busybox_built, until  # noqa: F401


def ok(r: httpx.Response, status: int = 200) -> dict[str, object]:
    assert r.status_code == status, r.text
    data: dict[str, object] = r.json()["data"]
    return data


def sh(vm: dict[str, object], script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", str(vm["container_id"]), "sh", "-c", script],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def launch(client: httpx.Client, **extra: object) -> dict[str, object]:
    body = {
        "name": f"vm-{uuid.uuid4().hex[:8]}", "image": "busybox", "instance_type": "basic-1",
        "cmd": ["sleep", "3600"], **extra,
    }  # fmt: skip
    made = ok(client.post("/instances", json=body), 202)
    return until(client, str(made["id"]), "RUNNING")


def test_write_snapshot_overwrite_restore_and_read_back_elsewhere(
    server: Server, client: httpx.Client
) -> None:
    volume = ok(client.post("/volumes", json={"name": "data", "size_gb": 1}), 201)
    assert volume["status"] == "AVAILABLE"
    first = launch(client, volumes=[{"volume_id": "data", "mount_path": "/data"}])
    assert ok(client.get("/volumes/data"))["status"] == "IN-USE"
    assert sh(first, "echo original > /data/state.txt && sync").returncode == 0

    snap = ok(client.post("/snapshots", json={"volume_id": "data"}), 201)
    assert snap["status"] == "AVAILABLE" and snap["size_gb"] == 1
    assert sh(first, "echo overwritten > /data/state.txt && sync").returncode == 0

    copy = ok(
        client.post(f"/snapshots/{snap['id']}/restore", json={"new_volume_name": "copy"}), 201
    )
    assert copy["snapshot_id"] == snap["id"]
    second = launch(client)
    attached = ok(
        client.post(
            "/volumes/copy/attach", json={"instance_id": second["id"], "mount_path": "/restored"}
        )
    )
    assert attached["attached_live"] is True and attached["status"] == "IN-USE"
    assert sh(second, "cat /restored/state.txt").stdout == "original\n"
    assert sh(first, "cat /data/state.txt").stdout == "overwritten\n"

    # detach from the first instance, attach to the second: the data goes with it
    assert ok(client.post("/volumes/data/detach"))["status"] == "AVAILABLE"
    assert sh(first, "cat /data/state.txt").returncode != 0
    ok(
        client.post(
            "/volumes/data/attach", json={"instance_id": second["id"], "mount_path": "/data"}
        )
    )
    assert sh(second, "cat /data/state.txt").stdout == "overwritten\n"

    # stop and start: still there; terminate: the volume is free again, data intact
    client.post(f"/instances/{second['id']}/stop")
    until(client, str(second["id"]), "STOPPED")
    client.post(f"/instances/{second['id']}/start")
    second = until(client, str(second["id"]), "RUNNING")
    assert sh(second, "cat /data/state.txt /restored/state.txt").stdout == "overwritten\noriginal\n"
    client.delete(f"/instances/{second['id']}")
    until(client, str(second["id"]), "DELETED")
    assert ok(client.get("/volumes/copy"))["status"] == "AVAILABLE"
    third = launch(client, volumes=[{"volume_id": "copy", "mount_path": "/again"}])
    assert sh(third, "cat /again/state.txt").stdout == "original\n"

    r = client.delete("/volumes/copy")
    assert "detach" in str(assert_error(r, 409, "CONFLICT")["message"])
    for vm in (first, third):
        client.delete(f"/instances/{vm['id']}")
        until(client, str(vm["id"]), "DELETED")
    for name in ("data", "copy"):
        assert client.delete(f"/volumes/{name}").status_code == 204
    assert client.delete(f"/snapshots/{snap['id']}").status_code == 204


def test_writing_past_the_size_fails_inside_the_instance(client: httpx.Client) -> None:
    ok(client.post("/volumes", json={"name": "small", "size_gb": 1}), 201)
    vm = launch(client, volumes=[{"volume_id": "small", "mount_path": "/small"}])
    full = sh(vm, "dd if=/dev/zero of=/small/big bs=1M count=1500")
    assert full.returncode != 0 and "No space left on device" in full.stderr
    assert sh(vm, "echo fine > /tmp/elsewhere").returncode == 0  # only the volume is full
    client.delete(f"/instances/{vm['id']}")
    until(client, str(vm["id"]), "DELETED")
    assert client.delete("/volumes/small").status_code == 204


def test_bad_volume_input_is_refused_with_a_message(client: httpx.Client) -> None:
    r = client.post("/volumes", json={"name": "x", "size_gb": 0})
    assert r.status_code == 400
    r = client.post("/volumes", json={"name": "enc", "size_gb": 1, "encrypted": True})
    assert "encrypted" in str(assert_error(r, 400, "INVALID_INPUT")["message"])
    ok(client.post("/volumes", json={"name": "v", "size_gb": 1}), 201)
    vm = launch(client)
    r = client.post("/volumes/v/attach", json={"instance_id": vm["id"], "mount_path": "/proc"})
    assert "system directory" in str(assert_error(r, 400, "INVALID_INPUT")["message"])
    r = client.post(
        "/instances",
        json={
            "name": "z",
            "image": "busybox",
            "volumes": [{"volume_id": "nope", "mount_path": "/d"}],
        },
    )
    assert_error(r, 404, "NOT_FOUND")
    client.delete(f"/instances/{vm['id']}")
    until(client, str(vm["id"]), "DELETED")
    assert client.delete("/volumes/v").status_code == 204
