"""Several server processes on one port, each with its own SO_REUSEPORT socket.

uvicorn's own multi-worker mode shares one listening socket, and whichever process wakes first
accepts the connections: long-lived keep-alive connections can then all land on one process.
With a socket per process the kernel spreads new connections across them by their addresses.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType

import uvicorn

from thecloud.config import Settings

log = logging.getLogger(__name__)
APP = "thecloud.entrypoints.server:worker_app"


def uvicorn_options(settings: Settings) -> dict[str, object]:
    return {
        "log_level": settings.log_level,
        "proxy_headers": False,
        "server_header": False,
        "ws_max_size": 1024 * 1024,
    }


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _worker() -> None:
    """One worker process: its own socket on the shared port, then uvicorn on it."""
    settings = Settings()
    sock = _listen(settings.host, settings.port)
    config = uvicorn.Config(APP, factory=True, **uvicorn_options(settings))  # type: ignore[arg-type]
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """Starts the workers, restarts one that dies, stops them all on SIGINT or SIGTERM."""

    def __init__(self, count: int) -> None:
        self._count, self._stopping = count, False
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[BaseProcess] = []

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self._workers = [self._spawn() for _ in range(self._count)]
        while not self._stopping:
            self._replace_dead()
            time.sleep(0.5)
        self._terminate()

    def _spawn(self) -> BaseProcess:
        proc = self._ctx.Process(target=_worker, daemon=False)
        proc.start()
        return proc

    def _replace_dead(self) -> None:
        for i, proc in enumerate(self._workers):
            if not proc.is_alive() and not self._stopping:
                log.warning("worker %s exited with %s; starting another", proc.pid, proc.exitcode)
                self._workers[i] = self._spawn()

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def _terminate(self) -> None:
        for proc in self._workers:
            if proc.is_alive():
                proc.terminate()
        deadline = time.monotonic() + 30
        for proc in self._workers:
            proc.join(max(deadline - time.monotonic(), 0.1))
            if proc.is_alive():
                proc.kill()
