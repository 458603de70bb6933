"""The ceilings: hello-world apps on our stack (uvicorn with our settings, one process): a raw
ASGI callable (what our S3 endpoint is), plain Starlette and plain FastAPI for reference."""

from __future__ import annotations

from collections.abc import Callable

from secretsbench.model import Target
from secretsbench.processes import free_port, http_server

from .load import fixed_job, measure
from .model import Config, Report
from .settings import (
    ASGI_HELLO,
    CEILING_CONCURRENCY,
    CONCURRENCIES,
    FASTAPI_HELLO,
    HELLO,
    HELLO_APP,
    HOST,
    PYTHON,
    STARLETTE_HELLO,
)


def bench_hello(
    cfg: Config, report: Report, kind: str, op: str, concurrencies: tuple[int, ...]
) -> None:
    """One hello_app.py kind, one uvicorn process, at the given concurrencies."""
    from secretsbench.hello import verify_hello

    port = free_port()
    url = f"http://{HOST}:{port}/"
    argv = [PYTHON, str(HELLO_APP), kind, "--port", str(port)]
    with http_server(f"hello-{kind}", argv, url, cfg.workdir) as pid:
        target = Target("GET", url, {})
        verify_hello(target)
        for conc in concurrencies:
            measure(cfg, report, (HELLO, op, conc), fixed_job(target), (pid,))


def hello_steps(cfg: Config, report: Report) -> list[tuple[str, Callable[[], None]]]:
    """The hello rows, each an independent step."""
    return [
        ("hello/asgi", lambda: bench_hello(cfg, report, "asgi", ASGI_HELLO, CONCURRENCIES)),
        ("hello/starlette", lambda: bench_hello(cfg, report, "starlette", STARLETTE_HELLO,
                                                (CEILING_CONCURRENCY,))),
        ("hello/fastapi", lambda: bench_hello(cfg, report, "fastapi", FASTAPI_HELLO,
                                              (CEILING_CONCURRENCY,))),
    ]  # fmt: skip
