"""The hello-world ceiling: plain FastAPI and Starlette apps, and our /health/live."""

from __future__ import annotations

from collections.abc import Callable

from .load import expect, measure, send
from .model import BenchError, Config, Load, Report, Target
from .ours import sqlite_url, thecloud_server
from .processes import free_port, http_server
from .settings import (
    HELLO_APP,
    HELLO_CONCURRENCY,
    HELLO_FASTAPI,
    HELLO_OURS,
    HELLO_STARLETTE,
    HOST,
    PYTHON,
)


def verify_hello(target: Target) -> None:
    """Check a hello app answers 200 {"hello": "world"}."""
    if expect(send(target), 200, f"GET {target.url}") != {"hello": "world"}:
        raise BenchError(f"GET {target.url} did not answer {{'hello': 'world'}}")


def bench_hello_app(
    cfg: Config, report: Report, kind: str, call: str, concurrency: int = HELLO_CONCURRENCY
) -> None:
    """Measure one hello_app.py variant, with cfg.workers uvicorn workers, at `concurrency`
    connections (32 unless told)."""
    port = free_port()
    url = f"http://{HOST}:{port}/"
    argv = [PYTHON, str(HELLO_APP), kind, "--port", str(port), "--workers", str(cfg.workers)]
    with http_server(f"hello-{kind}", argv, url, cfg.workdir, workers=cfg.workers) as pid:
        target = Target("GET", url, {})
        verify_hello(target)
        load = Load("hello", call, target, concurrency, (pid,), cfg.workers)
        measure(cfg, report, load)


def bench_health_live(cfg: Config, report: Report) -> None:
    """Measure our GET /health/live (full middleware stack) on a SQLite-backed server."""
    with thecloud_server(cfg, sqlite_url(cfg)) as server:
        target = Target("GET", f"{server.base}/health/live", {})
        expect(send(target), 200, "GET /health/live")
        load = Load("hello", HELLO_OURS, target, HELLO_CONCURRENCY, (server.pid,), cfg.workers)
        measure(cfg, report, load)


def hello_steps(cfg: Config, report: Report) -> list[tuple[str, Callable[[], None]]]:
    """The hello rows as independent steps (one failing does not stop the others): FastAPI
    also with one connection, the ceiling of the one-client rows."""
    return [
        ("hello/fastapi", lambda: bench_hello_app(cfg, report, "fastapi", HELLO_FASTAPI)),
        ("hello/fastapi-c1", lambda: bench_hello_app(cfg, report, "fastapi", HELLO_FASTAPI, 1)),
        ("hello/starlette", lambda: bench_hello_app(cfg, report, "starlette", HELLO_STARLETTE)),
        ("hello/health-live", lambda: bench_health_live(cfg, report)),
    ]
