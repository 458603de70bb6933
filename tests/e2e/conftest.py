"""The running server over HTTP: a real uvicorn process on a free port, SQLite by default.

Set THECLOUD_E2E_DATABASE_URL to run the tier against PostgreSQL instead.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.e2e.dns_support import dns_env, remove_zones
from thecloud.adapters.teardown import release_installation


def free_port() -> int:
    """A free TCP port below 32768 (non-root processes cannot bind 32768-60999 here)."""
    for _ in range(200):
        port = 20000 + int.from_bytes(os.urandom(2), "big") % 12000
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768")


@dataclass
class Server:
    url: str
    data_dir: Path
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path
    installation: str = ""

    def register(self, name: str = "user") -> dict[str, str]:
        """A fresh user; returns email, password, api_key, token, user_id, tenant_id."""
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
        password = "correct-horse-9"
        r = httpx.post(
            f"{self.url}/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert r.status_code == 201, r.text
        data = r.json()["data"]
        return {
            "email": email,
            "password": password,
            "api_key": data["api_key"],
            "token": data["token"],
            "user_id": data["user"]["id"],
            "tenant_id": data["tenant"]["id"],
        }

    def api(self, user: dict[str, str], tenant_id: str | None = None) -> httpx.Client:
        """An httpx client with the user's API key, acting in `tenant_id` when given; close it."""
        headers = {"X-API-Key": user["api_key"]}
        if tenant_id:
            headers["X-Tenant-ID"] = tenant_id
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def start_server(tmp: Path, ready: str = "/health/ready", **env: str) -> Server:
    port = free_port()
    data_dir = tmp / "data"
    db_url = (
        os.environ.get("THECLOUD_E2E_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'e2e.db'}"
    )
    log = tmp / f"server-{port}.log"
    full_env = {
        **os.environ,
        "THECLOUD_PORT": str(port),
        "THECLOUD_HOST": "127.0.0.1",
        "THECLOUD_DATA_DIR": str(data_dir),
        "THECLOUD_DATABASE_URL": db_url,
        "THECLOUD_BCRYPT_ROUNDS": "4",
        "THECLOUD_LOG_LEVEL": "warning",
        "THECLOUD_RATE_LIMIT_PER_IP": "100000",
        "THECLOUD_RATE_LIMIT_PER_KEY": "100000",
        # this server's containers carry this label; stop_server removes whatever is left
        "THECLOUD_INSTALLATION_ID": f"e2e-{uuid.uuid4().hex[:12]}",
        **dns_env(),  # the PowerDNS server of scripts/powerdns.sh
        **env,
    }
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "thecloud.entrypoints.server"],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    installation = full_env["THECLOUD_INSTALLATION_ID"]
    server = Server(f"http://127.0.0.1:{port}", data_dir, db_url, proc, log, installation)
    _wait_ready(server, ready)
    return server


def _wait_ready(server: Server, path: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    answer = ""  # the last not-ready answer: which check failed
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{server.log.read_text()}")
        try:
            r = httpx.get(f"{server.url}{path}", timeout=5)
            if r.status_code == 200:
                return
            answer = r.text
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop_server(server)
    raise RuntimeError(f"server not ready in {timeout} s: {answer}\n{server.log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(5)
    asyncio.run(release_installation(server.installation, server.data_dir))
    remove_zones(server.installation)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the whole e2e session; tests use unique users and names."""
    srv = start_server(tmp_path_factory.mktemp("e2e"))
    yield srv
    stop_server(srv)


@pytest.fixture
def user(server: Server) -> dict[str, str]:
    return server.register("alice")


@pytest.fixture
def client(server: Server, user: dict[str, str]) -> Iterator[httpx.Client]:
    """An httpx client authenticated as a fresh owner of their own tenant."""
    with server.api(user) as c:
        yield c


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, object]:
    """The response is `status` in the error envelope with `code`; returns the error object."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "meta"}, body
    assert body["error"]["type"] == body["error"]["code"] == code, body
    assert body["error"]["message"], body
    assert body["meta"]["request_id"] == r.headers["x-request-id"], body
    error: dict[str, object] = body["error"]
    return error


@pytest.fixture
def member(
    server: Server, user: dict[str, str], client: httpx.Client
) -> Iterator[Callable[[str], tuple[dict[str, str], httpx.Client]]]:
    """Registers a user, invites them into `user`'s tenant with a role; returns them and a
    client acting in that tenant."""
    opened: list[httpx.Client] = []

    def invite(role: str) -> tuple[dict[str, str], httpx.Client]:
        other = server.register(role)
        body = {"email": other["email"], "role": role}
        r = client.post(f"/tenants/{user['tenant_id']}/members", json=body)
        assert r.status_code == 201, r.text
        opened.append(server.api(other, user["tenant_id"]))
        return other, opened[-1]

    yield invite
    for c in opened:
        c.close()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts extra servers (on `tmp_path` unless another directory is given) and stops them."""
    started: list[Server] = []

    def start(tmp: Path | None = None, ready: str = "/health/ready", **env: str) -> Server:
        started.append(start_server(tmp or tmp_path, ready, **env))
        return started[-1]

    yield start
    for srv in started:
        stop_server(srv)
