"""Our server under test: `python -m thecloud.entrypoints.server` (REST API and S3 endpoint in
one process) on a fresh data directory and SQLite database; a registered user, an access key
from POST /storage/credentials, a bucket; torn down with release_installation."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from secretsbench.load import expect
from secretsbench.model import ServerStartError
from secretsbench.ours import check_server_importable, register_user
from secretsbench.processes import check_alive, free_port, log_tail, managed_process, wait_ready

from .memory import RssSampler
from .model import Config, S3Server
from .settings import HOST, NOFSYNC, OURS, OURS2, OURS_ENV, PYTHON, SERVER_MODULE, START_TIMEOUT_S
from .signing import Presigner, boto3_presigned, s3_client


def our_env(
    api_port: int, s3_port: int, data_dir: Path, installation: str, fsync: bool, workers: int
) -> dict:
    """Environment of our server: ports, data dir, workers, limits raised, fsync on/off."""
    return {
        **OURS_ENV,
        "THECLOUD_WORKERS": str(workers),
        "THECLOUD_PORT": str(api_port),
        "THECLOUD_S3_PORT": str(s3_port),
        "THECLOUD_DATA_DIR": str(data_dir),
        "THECLOUD_INSTALLATION_ID": installation,
        "THECLOUD_S3_FSYNC": "true" if fsync else "false",
    }


def wait_s3(base: str, proc: object, log_path: Path) -> None:
    """Wait until the S3 port answers HTTP at all (an anonymous call answers 403)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        check_alive("thecloud-server", f"opening the S3 port ({base})", proc, log_path)  # type: ignore[arg-type]
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/", timeout=2.0)
            return
        time.sleep(0.2)
    raise ServerStartError(
        f"our S3 endpoint did not answer on {base}; last log lines:\n{log_tail(log_path)}"
    )


def access_key(api: str) -> tuple[str, str]:
    """Register a user and create an S3 access key pair: (access_key_id, secret)."""
    with httpx.Client(base_url=api, timeout=30.0) as client:
        client.headers["X-API-Key"] = register_user(client)
        made = expect(
            client.post("/storage/credentials", json={}), 201, "POST /storage/credentials"
        )
    return str(made["data"]["access_key_id"]), str(made["data"]["secret_access_key"])


def release(installation: str, data_dir: Path) -> None:
    """What a throwaway installation left on the host goes (adapters/teardown.py); with no
    container engine here there is nothing of it to release, and that is only reported."""
    from thecloud.adapters.teardown import release_installation

    try:
        asyncio.run(release_installation(installation, data_dir))
    except Exception as exc:  # noqa: BLE001 - best effort: the S3 rows need no Docker
        print(f"  (teardown of {installation}: {type(exc).__name__}: {exc})", flush=True)


@contextmanager
def our_server(cfg: Config, fsync: bool, workers: int = 1) -> Iterator[S3Server]:
    """Start our server with per-object fsync on or off and `workers` processes; yield it
    ready, with a bucket."""
    api_port, s3_port = free_port(), free_port()
    data_dir = cfg.workdir / f"data-{uuid.uuid4().hex[:6]}"
    installation = f"s3bench-{uuid.uuid4().hex[:8]}"
    env = our_env(api_port, s3_port, data_dir, installation, fsync, workers)
    check_server_importable(env)
    api, base = f"http://{HOST}:{api_port}", f"http://{HOST}:{s3_port}"
    label = (OURS if workers == 1 else OURS2) if fsync else NOFSYNC
    try:
        argv = [PYTHON, "-m", SERVER_MODULE]
        with managed_process(f"thecloud-{label}", argv, cfg.workdir, env) as (proc, log_path):
            with RssSampler((proc.pid,)) as sampler:
                wait_ready("thecloud-server", f"{api}/health/live", proc, log_path)
                wait_s3(base, proc, log_path)
                key_id, secret = access_key(api)
                boto = s3_client(base, key_id, secret)
                bucket = f"s3bench-{uuid.uuid4().hex[:10]}"
                boto.create_bucket(Bucket=bucket)
                presigner = Presigner(base, key_id, secret, bucket)
                yield S3Server(
                    label,
                    base,
                    (proc.pid,),
                    bucket,
                    boto,
                    sampler,
                    presign=lambda method, key: boto3_presigned(boto, method, bucket, key),
                    presign_many=presigner.paths,
                    fsync=fsync,
                )
    finally:
        release(installation, data_dir)
