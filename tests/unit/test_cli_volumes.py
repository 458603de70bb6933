"""`cloud volume`, `cloud snapshot` and `instance launch --volume ...` over the SDK on a
MockTransport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.unit.test_cli_compute import FakeAPI, instance, ok, page, run
from tests.unit.test_cli_network import sent, table
from thecloud.entrypoints.cli import context
from thecloud.sdk import Client

VOLUME = {"id": "vol-1", "tenant_id": "t", "name": "data", "size_gb": 10, "status": "AVAILABLE",
          "backend": "loop", "encrypted": False, "description": "", "labels": {},
          "instance_id": None, "mount_path": None, "snapshot_id": None,
          "created_at": "2030-01-01T00:00:00Z"}  # fmt: skip
ATTACHED = {**VOLUME, "status": "IN-USE", "instance_id": "i-1", "mount_path": "/data"}
SNAPSHOT = {"id": "snap-1", "volume_id": "vol-1", "size_gb": 10, "status": "AVAILABLE",
            "description": "nightly", "created_at": "2030-01-02T00:00:00Z"}  # fmt: skip


def refused(status: int, code: str, message: str) -> httpx.Response:
    error = {"type": code, "code": code, "message": message}
    return httpx.Response(status, json={"error": error, "meta": {}})


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


def test_volume_create_sends_the_options_and_shows_a_row(api: FakeAPI) -> None:
    api.on("POST /volumes", ok(VOLUME, 201))
    result = run("volume", "create", "data", "--size", "10", "-d", "db files", "-l", "team=blue")
    assert result.exit_code == 0, result.output
    assert sent(api.last("POST /volumes")) == {
        "name": "data",
        "size_gb": 10,
        "description": "db files",
        "labels": {"team": "blue"},
    }
    assert table(result.stdout) == [
        ["NAME", "SIZE", "GB", "STATUS", "INSTANCE", "ID", "MOUNT", "PATH", "ENCRYPTED", "ID"],
        ["data", "10", "AVAILABLE", "-", "-", "no", "vol-1"],
    ]
    as_json = run("volume", "create", "data", "-s", "10", "--encrypted", "-o", "json")
    assert json.loads(as_json.stdout) == VOLUME
    assert sent(api.last("POST /volumes")) == {"name": "data", "size_gb": 10, "encrypted": True}


def test_volume_create_needs_a_size_of_at_least_one(api: FakeAPI) -> None:
    assert run("volume", "create", "data").exit_code == 2
    assert run("volume", "create", "data", "--size", "0").exit_code == 2
    assert api.requests == []


def test_encrypted_refused_is_an_error_line(api: FakeAPI) -> None:
    message = "encrypted volumes are not available with the loop storage backend"
    api.on("POST /volumes", refused(400, "INVALID_INPUT", message))
    result = run("volume", "create", "secret", "--size", "1", "--encrypted")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error [INVALID_INPUT]: encrypted volumes are not available")


def test_volume_list_filters_and_get(api: FakeAPI) -> None:
    api.on("GET /volumes", page([ATTACHED, {**VOLUME, "id": "vol-2", "name": "logs"}]))
    api.on("GET /instances/web", ok(instance(id="i-1", name="web")))
    api.on("GET /volumes/data", ok(VOLUME))
    result = run("volume", "list", "--status", "in-use", "--instance", "web", "--limit", "5")
    assert result.exit_code == 0, result.output
    assert dict(api.last("GET /volumes").url.params) == {
        "status": "IN-USE",
        "instance_id": "i-1",  # the instance's name, resolved to its id
        "limit": "5",
    }
    assert [row[:6] for row in table(result.stdout)[1:]] == [
        ["data", "10", "IN-USE", "i-1", "/data", "no"],
        ["logs", "10", "AVAILABLE", "-", "-", "no"],
    ]
    assert run("volume", "list", "--name", "data", "--all").exit_code == 0
    params = api.last("GET /volumes").url.params
    assert (params["name"], params["offset"]) == ("data", "0")
    assert yaml.safe_load(run("volume", "get", "data", "-o", "yaml").stdout) == VOLUME


def test_volume_attach_says_whether_it_is_mounted_now(api: FakeAPI) -> None:
    api.on("POST /volumes/data/attach", ok({**ATTACHED, "attached_live": True}))
    live = run("volume", "attach", "data", "web", "/data")
    assert live.exit_code == 0, live.output
    assert sent(api.last("POST /volumes/data/attach")) == {
        "instance_id": "web",
        "mount_path": "/data",
    }
    assert table(live.stdout)[1][:5] == ["data", "10", "IN-USE", "i-1", "/data"]
    assert live.stderr == "Volume data is mounted at /data in web now, without a restart.\n"
    api.on("POST /volumes/data/attach", ok({**ATTACHED, "attached_live": False}))
    later = run("volume", "attach", "data", "web", "/data", "-o", "json")
    assert json.loads(later.stdout)["attached_live"] is False
    assert later.stderr == "Volume data is mounted at /data in web when it next starts.\n"


def test_volume_attach_refused_is_an_error_line(api: FakeAPI) -> None:
    message = "mount_path /etc would hide a system directory: use e.g. /data"
    api.on("POST /volumes/data/attach", refused(400, "INVALID_INPUT", message))
    result = run("volume", "attach", "data", "web", "/etc")
    assert result.exit_code == 1
    assert "would hide a system directory" in result.stderr
    assert result.stdout == ""


def test_volume_detach_and_delete(api: FakeAPI) -> None:
    api.on("POST /volumes/data/detach", ok(VOLUME))
    api.on("DELETE /volumes/data", httpx.Response(204))
    detached = run("volume", "detach", "data")
    assert detached.exit_code == 0, detached.output
    assert api.last("POST /volumes/data/detach").content == b""
    assert table(detached.stdout)[1][:4] == ["data", "10", "AVAILABLE", "-"]
    deleted = run("volume", "delete", "data")
    assert (deleted.exit_code, deleted.stderr) == (0, "Deleted volume data.\n")


def test_snapshot_create_list_get_delete(api: FakeAPI) -> None:
    api.on("POST /snapshots", ok(SNAPSHOT, 201))
    api.on("GET /snapshots", page([SNAPSHOT]))
    api.on("GET /snapshots/snap-1", ok(SNAPSHOT))
    api.on("DELETE /snapshots/snap-1", httpx.Response(204))
    api.on("GET /volumes/data", ok(VOLUME))
    created = run("snapshot", "create", "data", "-d", "nightly")
    assert created.exit_code == 0, created.output
    assert sent(api.last("POST /snapshots")) == {"volume_id": "data", "description": "nightly"}
    assert table(created.stdout) == [
        ["ID", "VOLUME", "ID", "SIZE", "GB", "STATUS", "DESCRIPTION", "CREATED", "AT"],
        ["snap-1", "vol-1", "10", "AVAILABLE", "nightly", "2030-01-02T00:00:00Z"],
    ]
    listed = run("snapshot", "list", "--volume", "data")
    assert listed.exit_code == 0, listed.output
    assert api.last("GET /snapshots").url.params["volume_id"] == "vol-1"  # the name, resolved
    assert table(listed.stdout)[1][0] == "snap-1"
    assert json.loads(run("snapshot", "get", "snap-1", "-o", "json").stdout) == SNAPSHOT
    deleted = run("snapshot", "delete", "snap-1")
    assert (deleted.exit_code, deleted.stderr) == (0, "Deleted snapshot snap-1.\n")


def test_snapshot_list_of_a_deleted_volume_uses_its_id(api: FakeAPI) -> None:
    api.on("GET /volumes/vol-0", refused(404, "NOT_FOUND", "volume vol-0 not found"))
    api.on("GET /snapshots", page([{**SNAPSHOT, "volume_id": "vol-0"}]))
    result = run("snapshot", "list", "--volume", "vol-0", "--all")
    assert result.exit_code == 0, result.output
    assert api.last("GET /snapshots").url.params["volume_id"] == "vol-0"
    assert table(result.stdout)[1][:2] == ["snap-1", "vol-0"]


def test_snapshot_restore_makes_a_new_volume(api: FakeAPI) -> None:
    copy = {**VOLUME, "id": "vol-9", "name": "copy", "snapshot_id": "snap-1"}
    api.on("POST /snapshots/snap-1/restore", ok(copy, 201))
    result = run("snapshot", "restore", "snap-1", "copy")
    assert result.exit_code == 0, result.output
    assert sent(api.last("POST /snapshots/snap-1/restore")) == {"new_volume_name": "copy"}
    assert table(result.stdout)[1] == ["copy", "10", "AVAILABLE", "-", "-", "no", "vol-9"]
    assert result.stderr == "Restored snapshot snap-1 into the new volume copy.\n"
    as_json = run("snapshot", "restore", "snap-1", "copy", "-o", "json")
    assert json.loads(as_json.stdout)["snapshot_id"] == "snap-1"


def test_launch_with_volumes(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    result = run(
        "instance", "launch", "web", "-i", "busybox",
        "--volume", "data:/data", "--volume", "vol-2:/var/lib/app:x",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sent(api.last("POST /instances")) == {
        "name": "web",
        "image": "busybox",
        "volumes": [
            {"volume_id": "data", "mount_path": "/data"},
            {"volume_id": "vol-2", "mount_path": "/var/lib/app:x"},  # split at the first colon
        ],
    }


@pytest.mark.parametrize("bad", ["/data", "data", "data:", ":/data"])
def test_launch_with_a_malformed_volume_sends_nothing(api: FakeAPI, bad: str) -> None:
    result = run("instance", "launch", "web", "-i", "busybox", "--volume", bad)
    assert result.exit_code == 2
    assert "VOLUME:/PATH" in result.output
    assert api.requests == []


@pytest.mark.parametrize(
    "command",
    [
        ["volume"],
        ["volume", "create"],
        ["volume", "attach"],
        ["snapshot"],
        ["snapshot", "list"],
        ["snapshot", "restore"],
    ],
)
def test_help_renders(api: FakeAPI, command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
