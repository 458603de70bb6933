"""Our server under test: start it with N workers, seed a user's secrets, measure the rows."""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from .load import expect, measure
from .model import BenchError, Config, Load, Report, Served, ServerStartError, Target
from .postgres import throwaway_postgres
from .processes import free_port, http_server
from .settings import (
    CONCURRENCIES,
    GET,
    HOST,
    LIST,
    PYTHON,
    ROOT,
    SECRET_COUNT,
    SERVER_ENV,
    SERVER_MODULE,
)


def thecloud_env(database_url: str, port: int, data_dir: Path, workers: int) -> dict[str, str]:
    """Environment for our server: given DB, port, data dir, workers, rate limits raised;
    its S3 endpoint (unused here) on a free port of its own."""
    return {
        **SERVER_ENV,
        "THECLOUD_DATABASE_URL": database_url,
        "THECLOUD_PORT": str(port),
        "THECLOUD_S3_PORT": str(free_port()),
        "THECLOUD_DATA_DIR": str(data_dir),
        "THECLOUD_WORKERS": str(workers),
    }


def check_server_importable(env: dict[str, str]) -> None:
    """Fail with a clear message when thecloud.entrypoints.server cannot be imported."""
    probe = [PYTHON, "-c", f"import {SERVER_MODULE}"]
    full_env = {**os.environ, **env}
    out = subprocess.run(probe, cwd=ROOT, env=full_env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        raise ServerStartError(f"our server cannot start: 'import {SERVER_MODULE}' fails ({last})")


def sqlite_url(cfg: Config) -> str:
    """A fresh SQLite database in the work dir."""
    db_dir = Path(tempfile.mkdtemp(prefix="sqlite-", dir=cfg.workdir))
    return f"sqlite+aiosqlite:///{db_dir}/bench.db"


@contextmanager
def thecloud_server(cfg: Config, database_url: str) -> Iterator[Served]:
    """Start our server (cfg.workers workers) on ``database_url``; yield it once it's ready."""
    port = free_port()
    data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=cfg.workdir))
    env = thecloud_env(database_url, port, data_dir, cfg.workers)
    check_server_importable(env)
    base = f"http://{HOST}:{port}"
    argv = [PYTHON, "-m", SERVER_MODULE]
    ready = f"{base}/health/live"
    with http_server("thecloud-server", argv, ready, cfg.workdir, env, cfg.workers) as pid:
        yield Served(base, pid)


def register_user(client: httpx.Client) -> str:
    """Register a fresh user and return its API key."""
    body = {
        "email": f"bench-{uuid.uuid4().hex[:12]}@example.com",
        "password": "Bench-" + secrets.token_urlsafe(16),
        "name": "Benchmark User",
    }
    data = expect(client.post("/auth/register", json=body), 201, "POST /auth/register")["data"]
    api_key = str(data["api_key"])
    if not api_key.startswith("thecloud_"):
        raise BenchError(f"POST /auth/register returned an unexpected api_key: {api_key[:16]}...")
    return api_key


def seed_secrets(client: httpx.Client) -> dict[str, str]:
    """Create SECRET_COUNT secrets; return {id: plaintext value}."""
    created: dict[str, str] = {}
    for i in range(SECRET_COUNT):
        value = secrets.token_urlsafe(24)  # 32 characters
        body = {"name": f"bench-secret-{i:03d}", "value": value, "description": "benchmark"}
        data = expect(client.post("/secrets", json=body), 201, "POST /secrets")["data"]
        created[str(data["id"])] = value
    return created


def verify_list(client: httpx.Client, values: dict[str, str]) -> None:
    """Check GET /secrets?limit=100 returns the 100 secrets, redacted."""
    body = expect(client.get("/secrets", params={"limit": SECRET_COUNT}), 200, "GET /secrets")
    items = body["data"]
    total = body.get("meta", {}).get("total")
    if len(items) != SECRET_COUNT or total != SECRET_COUNT:
        raise BenchError(f"GET /secrets?limit=100 returned {len(items)} items, total={total}")
    leaked = [item["id"] for item in items if item.get("value") == values.get(str(item["id"]))]
    if leaked:
        raise BenchError(f"GET /secrets leaks plaintext values (ids {leaked[:3]}...)")


def verify_get(client: httpx.Client, secret_id: str, value: str) -> None:
    """Check GET /secrets/{id} returns the plaintext value."""
    body = expect(client.get(f"/secrets/{secret_id}"), 200, f"GET /secrets/{secret_id}")
    if body["data"].get("value") != value:
        raise BenchError(f"GET /secrets/{secret_id} did not return the stored value")


def prepare_backend(base: str) -> tuple[str, str]:
    """Register, seed and verify; return (api_key, id of the secret used for get)."""
    with httpx.Client(base_url=base, timeout=30.0) as client:
        api_key = register_user(client)
        client.headers["X-API-Key"] = api_key
        values = seed_secrets(client)
        secret_id = random.choice(sorted(values))
        verify_list(client, values)
        verify_get(client, secret_id, values[secret_id])
    return api_key, secret_id


def backend_targets(base: str) -> dict[str, Target]:
    """Seed a fresh user's secrets; the list and get requests to load, by row call."""
    api_key, secret_id = prepare_backend(base)
    headers = {"X-API-Key": api_key}
    return {
        LIST: Target("GET", f"{base}/secrets?limit={SECRET_COUNT}", headers),
        GET: Target("GET", f"{base}/secrets/{secret_id}", headers),
    }


def database(stack: ExitStack, cfg: Config, backend: str) -> tuple[str, tuple[int, ...]]:
    """The database URL for ``backend`` and the pids serving it (PostgreSQL's postmaster)."""
    if backend == "postgres":
        cluster = stack.enter_context(throwaway_postgres(cfg.workdir))
        return cluster.url, (cluster.pid,)
    return sqlite_url(cfg), ()


def bench_backend(cfg: Config, report: Report, backend: str) -> None:
    """Measure list-secrets and get-secret-value on our server with one database."""
    with ExitStack() as stack:
        database_url, db_pids = database(stack, cfg, backend)
        server = stack.enter_context(thecloud_server(cfg, database_url))
        pids = (server.pid, *db_pids)
        for call, target in backend_targets(server.base).items():
            for conc in CONCURRENCIES:
                load = Load(backend, call, target, conc, pids, cfg.workers)
                measure(cfg, report, load)
