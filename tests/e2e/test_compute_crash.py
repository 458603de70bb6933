"""A server killed mid-launch (SIGKILL) and started again: the database and the engine agree,
nothing is leaked and nothing launched twice."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import Server


def containers(installation: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=thecloud.managed={installation}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.split()


def test_kill_minus_9_during_launches_then_restart(
    spawn: Callable[..., Server], tmp_path: Path
) -> None:
    installation = f"crash-{uuid.uuid4().hex[:8]}"
    first = spawn(tmp_path, THECLOUD_INSTALLATION_ID=installation)
    user = first.register("crash")
    with first.api(user) as api:
        ids = []
        for n in range(6):
            body = {"name": f"c{n}", "image": "busybox", "instance_type": "basic-1",
                    "cmd": ["sleep", "600"]}  # fmt: skip
            r = api.post("/instances", json=body)
            assert r.status_code == 202, r.text
            ids.append(r.json()["data"]["id"])
    first.process.kill()  # no cleanup: the worker may be anywhere in its launches
    first.process.wait(10)
    second = spawn(tmp_path, THECLOUD_INSTALLATION_ID=installation)
    with second.api(user) as api:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = api.get("/instances").json()["data"]
            if all(row["status"] == "RUNNING" for row in rows):
                break
            time.sleep(0.2)
        assert sorted(row["id"] for row in rows) == sorted(ids)
        assert all(row["status"] == "RUNNING" for row in rows), rows
        on_engine = containers(installation)
        assert len(on_engine) == 6  # one container per instance, none twice, none lost
        assert sorted(row["container_id"][:12] for row in rows) == sorted(on_engine)
        for ident in ids:
            api.delete(f"/instances/{ident}")
        deadline = time.monotonic() + 60
        while containers(installation) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert containers(installation) == []
