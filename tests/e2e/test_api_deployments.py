"""Container deployments on the real engine: replicas launched, scaled, replaced, removed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx

from tests.e2e.test_api_compute import docker


def wait_for(check: Callable[[], bool], what: str, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_a_deployment_keeps_its_replicas_running(client: httpx.Client) -> None:
    name = f"dep-{uuid.uuid4().hex[:6]}"
    body = {"name": name, "image": "busybox", "replicas": 2, "ports": "0:80",
            "instance_type": "basic-1", "cmd": ["sleep", "600"]}  # fmt: skip
    r = client.post("/containers/deployments", json=body)
    assert r.status_code == 202, r.text

    seen: set[str] = set()

    def state() -> dict[str, object]:
        data: dict[str, object] = client.get(f"/containers/deployments/{name}").json()["data"]
        seen.update(i["id"] for i in data["instances"])  # type: ignore[attr-defined]
        return data

    wait_for(lambda: state()["running"] == 2, "2 replicas running")
    first = state()["instances"][0]  # type: ignore[index]
    assert str(first["host_ports"][0]).endswith(":80/tcp")
    client.delete(f"/instances/{first['id']}")  # someone terminates a replica by hand
    wait_for(
        lambda: (
            state()["running"] == 2 and first["id"] not in [i["id"] for i in state()["instances"]]
        ),  # type: ignore[attr-defined]
        "a replacement replica",
    )
    assert (
        client.put(f"/containers/deployments/{name}/scale", json={"replicas": 3}).status_code == 202
    )
    wait_for(lambda: state()["running"] == 3, "scaled to 3")
    client.put(f"/containers/deployments/{name}/scale", json={"replicas": 1})
    wait_for(lambda: len(state()["instances"]) == 1, "scaled to 1")  # type: ignore[arg-type]
    assert client.delete(f"/containers/deployments/{name}").status_code == 202
    wait_for(lambda: client.get(f"/containers/deployments/{name}").status_code == 404, "deleted")
    rows = client.get("/instances").json()["data"]
    assert not [i for i in rows if i["name"].startswith(name)], rows
    assert len(seen) >= 4  # 2, a replacement, a third
    for ident in seen:  # every replica's container is gone from the engine
        assert docker("ps", "-aq", "--filter", f"label=thecloud.instance={ident}") == ""
