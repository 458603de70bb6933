"""Several server processes on one port, each with its own SO_REUSEPORT socket.

uvicorn's own multi-worker mode shares one listening socket, and whichever process wakes first
accepts the connections: long-lived keep-alive connections can then all land on one process.
With a socket per process the kernel spreads new connections across them by their addresses.
"""

from __future__ import annotations

import gc
import importlib
import logging
import multiprocessing
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.context import ForkContext, SpawnContext
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

import uvicorn

from thecloud.config import Settings

log = logging.getLogger(__name__)
APP = "thecloud.entrypoints.server:worker_app"


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "log_level": settings.log_level,
        "proxy_headers": False,
        "server_header": False,
        "ws_max_size": 1024 * 1024,
    }


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, as getaddrinfo gives it: asyncio turns Nagle off (TCP_NODELAY) only
    # on accepted sockets whose proto says TCP, and with Nagle on, a response written in two
    # pieces waits for the client's delayed ACK (40 ms per request)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


@dataclass(frozen=True)
class WorkerSpec:
    """What each worker serves (picklable: workers are spawned, not forked)."""

    app: str
    host: str
    port: int
    options: dict[str, Any] = field(default_factory=dict)
    factory: bool = False
    app_dir: str = ""
    main: str = ""  # "module:function" that serves by itself, instead of uvicorn on `app`


def _worker(spec: WorkerSpec) -> None:
    """One worker process: its own socket on the shared port, then uvicorn on it."""
    for sig in (signal.SIGTERM, signal.SIGINT):  # a forked worker has the supervisor's
        signal.signal(sig, signal.SIG_DFL)
    if spec.app_dir:
        sys.path.insert(0, spec.app_dir)
    if spec.main:
        module, _, name = spec.main.partition(":")
        getattr(importlib.import_module(module), name)()
        return
    sock = listen(spec.host, spec.port)
    config = uvicorn.Config(spec.app, factory=spec.factory, **spec.options)
    uvicorn.Server(config).run(sockets=[sock])


def server_spec(settings: Settings) -> WorkerSpec:
    return WorkerSpec(
        APP, settings.host, settings.port, uvicorn_options(settings), factory=True,
        main="thecloud.entrypoints.server:worker_main",
    )  # fmt: skip


class Supervisor:
    """Starts the workers, restarts one that dies, stops them all on SIGINT or SIGTERM.

    Workers are spawned (a fresh interpreter each), or with `fork=True` forked from this
    process: they then share, copy-on-write, every module and object it holds, which it has
    moved out of the garbage collector's reach (`gc.freeze`) so that a collection in a worker
    does not copy those pages. Fork only from a process with no other thread and no event loop:
    the worker would inherit locks held by threads that do not exist in it."""

    def __init__(self, count: int, spec: WorkerSpec, *, fork: bool = False) -> None:
        self._count, self._spec, self._stopping = count, spec, False
        if fork and threading.active_count() > 1:
            raise RuntimeError("cannot fork workers from a process that runs other threads")
        if fork:
            gc.collect()
            gc.freeze()
        self._ctx: ForkContext | SpawnContext = (
            multiprocessing.get_context("fork") if fork else multiprocessing.get_context("spawn")
        )
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
        proc = self._ctx.Process(target=_worker, args=(self._spec,), daemon=False)
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
