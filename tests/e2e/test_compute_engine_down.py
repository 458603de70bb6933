"""With the Docker Engine unreachable the server starts and stays up: readiness says why,
the rest of the API answers, calls that need the engine answer 503 BACKEND_UNAVAILABLE."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.e2e.conftest import Server, assert_error


def tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("etc/hostname")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"box\n"))
    return buffer.getvalue()


def test_the_api_answers_while_the_engine_is_away(
    spawn: Callable[..., Server], tmp_path: Path
) -> None:
    server = spawn(tmp_path, "/health/live", DOCKER_HOST="unix:///nonexistent/docker.sock")
    not_ready = assert_error(httpx.get(f"{server.url}/health/ready"), 503, "BACKEND_UNAVAILABLE")
    assert "container_engine" in str(not_ready["message"])
    with server.api(server.register("nodocker")) as api:
        assert api.get("/instance-types").status_code == 200
        assert api.post("/secrets", json={"name": "s", "value": "v"}).status_code == 201
        image = api.post("/images", json={"name": "later"}).json()["data"]
        upload = api.post(f"/images/{image['id']}/upload", content=tarball())
        assert "Docker Engine" in str(assert_error(upload, 503, "BACKEND_UNAVAILABLE")["message"])
        body = {"name": "waits", "image": "busybox", "cmd": ["sleep", "60"]}
        refused = assert_error(api.post("/instances", json=body), 409, "CONFLICT")
        assert "images build busybox" in str(refused["message"])  # nothing seen on an engine
