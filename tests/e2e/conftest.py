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
from typing import Any

import httpx
import pytest

from tests.e2e.dns_support import dns_env, remove_zones
from tests.pg_support import create_pg_database, drop_pg_database, pg_url
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
    s3_url: str = ""  # the S3 endpoint (https:// when started with a certificate)
    ca_file: str | None = None  # the certificate S3 clients must trust then

    def s3_credentials(self, user: dict[str, str]) -> tuple[str, str]:
        """A new access key pair of the user (POST /storage/credentials)."""
        with self.api(user) as api:
            r = api.post("/storage/credentials", json={"description": "e2e"})
        assert r.status_code == 201, r.text
        data = r.json()["data"]
        return data["access_key_id"], data["secret_access_key"]

    def s3(self, user: dict[str, str], **config: object) -> Any:
        """A boto3 S3 client with default settings, signed with a new key pair of the user."""
        import boto3
        from botocore.config import Config

        key_id, secret = self.s3_credentials(user)
        return boto3.client(
            "s3", endpoint_url=self.s3_url, aws_access_key_id=key_id,
            aws_secret_access_key=secret, region_name="us-east-1",
            verify=self.ca_file if self.ca_file else True, config=Config(**config),  # type: ignore[arg-type]
        )  # fmt: skip

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


def start_server(
    tmp: Path, ready: str = "/health/ready", tls: tuple[Path, Path] | None = None, **env: str
) -> Server:
    """A server on free ports; `tls` (certificate, key) serves the S3 endpoint over HTTPS."""
    port, s3_port = free_port(), free_port()
    if tls is not None:
        env = {**env, "THECLOUD_S3_TLS_CERT": str(tls[0]), "THECLOUD_S3_TLS_KEY": str(tls[1])}
    data_dir = tmp / "data"
    db_url = (
        os.environ.get("THECLOUD_E2E_DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'e2e.db'}"
    )
    log = tmp / f"server-{port}.log"
    full_env = {
        **os.environ,
        "THECLOUD_PORT": str(port),
        "THECLOUD_S3_PORT": str(s3_port),
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
    server.s3_url = f"{'https' if tls else 'http'}://127.0.0.1:{s3_port}"
    server.ca_file = str(tls[0]) if tls else None
    _wait_ready(server, ready)
    _wait_port(server, s3_port)
    return server


def _wait_port(server: Server, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the S3 endpoint is not listening:\n{server.log.read_text()}")


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1 and its key (PEM files), made here."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = directory / "s3.crt", directory / "s3.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )  # fmt: skip
    )
    return cert_file, key_file


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


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A second server whose S3 endpoint speaks HTTPS (a self-signed certificate made by the
    test set-up): botocore sends aws-chunked bodies with trailing checksums over HTTPS."""
    tmp = tmp_path_factory.mktemp("e2e-tls")
    srv = start_server(tmp, tls=self_signed(tmp))
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
        started.append(start_server(tmp or tmp_path, ready, None, **env))
        return started[-1]

    yield start
    for srv in started:
        stop_server(srv)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The metadata store a spawned server runs on, as its environment: the tier's own
    (SQLite in the data directory unless THECLOUD_E2E_DATABASE_URL says otherwise), or a
    database of its own on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield {}
        return
    url = asyncio.run(create_pg_database(pg_url()))
    try:
        yield {"THECLOUD_DATABASE_URL": url}
    finally:
        asyncio.run(drop_pg_database(url))
