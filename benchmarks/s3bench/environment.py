"""Facts recorded with the figures: machine, load, filesystem, tools, packages, settings."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import shutil
import subprocess
from typing import Any

from secretsbench.cpu import busy_cores
from secretsbench.environment import cpu_model, hello_uvicorn_settings
from secretsbench.tools import tool_version

from .model import Config
from .settings import BUSY_CORES, OURS_ENV, ROOT, WARMUP_S

PACKAGES = (
    "uvicorn",
    "uvloop",
    "httptools",
    "starlette",
    "fastapi",
    "cryptography",
    "moto",
    "boto3",
    "botocore",
    "httpx",
    "sqlalchemy",
    "aiosqlite",
)


def package_versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def filesystem(path: str) -> str:
    """'SOURCE FSTYPE' of the filesystem holding ``path`` (findmnt), or '?'."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(
            ["findmnt", "-no", "SOURCE,FSTYPE", "-T", path],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if out.returncode == 0 and out.stdout.strip():
            return " ".join(out.stdout.split())
    return "?"


def source_state() -> str:
    """The commit measured, and whether src/ has uncommitted changes (read-only git calls)."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        changed = subprocess.run(
            ["git", "--no-optional-locks", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if head.returncode == 0:
            files = len(changed.stdout.splitlines())
            return head.stdout.strip() + (f" + {files} changed files in src/" if files else "")
    return "?"


def environment(cfg: Config) -> dict[str, Any]:
    nginx = shutil.which("nginx")
    return {
        "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cores": os.cpu_count(),
        "busy_cores_at_start": round(busy_cores(), 2),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "source": source_state(),
        "platform": platform.platform(),
        "wrk": tool_version([cfg.wrk, "-v"]).split(" Copyright")[0],
        "nginx": tool_version([nginx, "-v"]) if nginx else "not installed yet",
        "packages": package_versions(),
        "load": f"wrk -t1 -c{{1,16}} -d{cfg.duration_s}s (+{WARMUP_S}s warm-up) --latency",
        "workdir": str(cfg.workdir),
        "filesystem": filesystem(str(cfg.workdir)),
        "server_env": OURS_ENV,
        "hello_uvicorn": hello_uvicorn_settings(),
        "groups": list(cfg.groups),
        "parts": list(cfg.parts),
        "duration_s": cfg.duration_s,
        "large_mib": cfg.large_mib,
        "moto_large_mib": cfg.moto_large_mib,
    }


def environment_lines(env: dict[str, Any]) -> str:
    server = " ".join(f"{k}={v}" for k, v in env["server_env"].items())
    packages = " ".join(f"{k}={v}" for k, v in env["packages"].items())
    busy = env["busy_cores_at_start"]
    idle = "" if busy <= BUSY_CORES else " -- BUSY: figures unreliable"
    return (
        f"env: {env['cores']} cores ({env['cpu']}), Python {env['python']}, {env['wrk']}, "
        f"{env['nginx']}\n"
        f"     CPU busy before start: {busy} cores{idle}\n"
        f"     source: {env['source']}\n"
        f"     load: {env['load']}\n"
        f"     data dirs and dd on: {env['filesystem']} ({env['workdir']})\n"
        f"     packages: {packages}\n"
        f"     our server: one process, {server} (THECLOUD_S3_FSYNC=false for ours-nofsync)\n"
        "     hello apps: benchmarks/hello_app.py, one uvicorn process, our uvicorn settings"
    )
