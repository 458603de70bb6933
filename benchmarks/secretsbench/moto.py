"""moto_server under test (always one process): seed with boto3, load raw JSON requests."""

from __future__ import annotations

import json
import random
import secrets
from pathlib import Path
from typing import Any

from .load import expect, measure, send
from .model import BenchError, Config, Load, Report, Target
from .processes import free_port, http_server
from .settings import (
    CONCURRENCIES,
    HOST,
    MOTO_GET,
    MOTO_HEADERS,
    MOTO_LIST,
    MOTO_REGION,
    PYTHON,
    SECRET_COUNT,
)


def moto_target(base: str, action: str, payload: dict[str, Any]) -> Target:
    """A raw Secrets Manager JSON-protocol request (unsigned: moto does not verify)."""
    headers = {**MOTO_HEADERS, "X-Amz-Target": f"secretsmanager.{action}"}
    return Target("POST", f"{base}/", headers, json.dumps(payload))


def moto_client(base: str) -> Any:
    """A boto3 Secrets Manager client for moto at ``base`` (dummy credentials)."""
    import boto3  # type: ignore[import-untyped]  # setup only: the load is raw HTTP

    return boto3.client(
        "secretsmanager",
        region_name=MOTO_REGION,
        endpoint_url=base,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def seed_moto(base: str) -> tuple[str, str]:
    """Create SECRET_COUNT secrets in moto with boto3; return (name, value) of one."""
    client = moto_client(base)
    created = {}
    for i in range(SECRET_COUNT):
        name, value = f"bench-secret-{i:03d}", secrets.token_urlsafe(24)
        client.create_secret(Name=name, SecretString=value, Description="benchmark")
        created[name] = value
    name = random.choice(sorted(created))
    return name, created[name]


def verify_moto(list_target: Target, get_target: Target, value: str) -> None:
    """Check moto answers our raw requests with 100 secrets and the right value."""
    listed = expect(send(list_target), 200, "moto ListSecrets")
    if len(listed.get("SecretList", [])) != SECRET_COUNT:
        raise BenchError(f"moto ListSecrets returned {len(listed.get('SecretList', []))} items")
    got = expect(send(get_target), 200, "moto GetSecretValue")
    if got.get("SecretString") != value:
        raise BenchError("moto GetSecretValue did not return the stored value")


def moto_targets(base: str) -> dict[str, Target]:
    """Seed moto; the verified ListSecrets and GetSecretValue requests, by row call."""
    name, value = seed_moto(base)
    targets = {
        MOTO_LIST: moto_target(base, MOTO_LIST, {"MaxResults": SECRET_COUNT}),
        MOTO_GET: moto_target(base, MOTO_GET, {"SecretId": name}),
    }
    verify_moto(targets[MOTO_LIST], targets[MOTO_GET], value)
    return targets


def bench_moto(cfg: Config, report: Report) -> None:
    """Measure moto_server's ListSecrets and GetSecretValue (one process, whatever --workers)."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    moto = str(Path(PYTHON).parent / "moto_server")
    argv = [moto, "-H", HOST, "-p", str(port)]
    with http_server("moto", argv, f"{base}/moto-api/", cfg.workdir) as pid:
        for call, target in moto_targets(base).items():
            for conc in CONCURRENCIES:
                measure(cfg, report, Load("moto", call, target, conc, (pid,), workers=1))
