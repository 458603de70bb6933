"""Facts recorded with the figures: machine, load, tools, packages, server settings."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import sys
from pathlib import Path
from typing import Any

from .cpu import busy_cores
from .model import Config
from .settings import BUSY_CORES, HELLO_APP, SECRET_COUNT, SERVER_ENV, WARMUP_S
from .tools import tool_version

PACKAGES = ("uvicorn", "uvloop", "httptools", "fastapi", "starlette", "moto", "sqlalchemy")


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's processor string)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def package_versions() -> dict[str, str]:
    """Versions of the Python packages that shape the figures."""
    found = {}
    for name in PACKAGES:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def hello_uvicorn_settings() -> dict[str, Any]:
    """The uvicorn settings the hello apps run with (hello_app.UVICORN_SETTINGS)."""
    sys.path.insert(0, str(HELLO_APP.parent))
    from hello_app import UVICORN_SETTINGS

    return UVICORN_SETTINGS


def environment(cfg: Config) -> dict[str, Any]:
    """Facts about the machine, tools and server settings recorded with the figures."""
    return {
        "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cores": os.cpu_count(),
        "busy_cores_at_start": round(busy_cores(), 2),
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "wrk": tool_version([cfg.wrk, "-v"]).split(" Copyright")[0],
        "packages": package_versions(),
        "load": f"wrk -t1 -c{{1,32}} -d{cfg.duration_s}s (+{WARMUP_S}s warm-up) --latency",
        "workers": list(cfg.worker_counts),
        "server_env": SERVER_ENV,
        "hello_uvicorn": hello_uvicorn_settings(),
        "secrets": SECRET_COUNT,
        "groups": list(cfg.groups),
        "duration_s": cfg.duration_s,
    }


def workers_text(counts: list[int]) -> str:
    """'1 uvicorn worker (one process)', or the counts of a matrix run, for the env line."""
    if counts == [1]:
        return "1 uvicorn worker (one process)"
    listed = ", ".join(str(n) for n in counts)
    return f"{listed} uvicorn workers (THECLOUD_WORKERS; one table per count)"


def environment_line(env: dict[str, Any]) -> str:
    """The environment header printed above the tables."""
    server = " ".join(f"{k}={v}" for k, v in env["server_env"].items())
    uv = ",".join(f"{k}={v}" for k, v in env["hello_uvicorn"].items())
    packages = " ".join(f"{k}={v}" for k, v in env["packages"].items())
    idle = "" if env["busy_cores_at_start"] <= BUSY_CORES else " -- BUSY: figures unreliable"
    workers = workers_text(env["workers"])
    return (
        f"env: {env['cores']} cores ({env['cpu']}), Python {env['python']}, {env['wrk']}\n"
        f"     CPU busy before start: {env['busy_cores_at_start']} cores{idle}\n"
        f"     load: {env['load']}; {env['secrets']} secrets per store\n"
        f"     packages: {packages}\n"
        f"     workers: {workers}; moto: moto_server, one process\n"
        f"     our server: {server}\n"
        f"     hello apps: uvicorn {uv}, same worker count as our server"
    )


def warn_if_busy(env: dict[str, Any]) -> None:
    """Say up front when other work is loading the machine (it skews every row)."""
    busy = env["busy_cores_at_start"]
    if busy > BUSY_CORES:
        print(
            f"WARNING: other processes keep {busy} of {env['cores']} cores busy: "
            "figures will be low and noisy.",
            flush=True,
        )
