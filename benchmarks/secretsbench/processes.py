"""Processes under test: free ports, start in own session, wait until ready, always stop."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from .cpu import tree_cpu_s, tree_size
from .model import BenchError, ServerStartError
from .settings import HOST, IDLE_CORES, ROOT, START_TIMEOUT_S

_used_ports: set[int] = set()


def free_port() -> int:
    """Pick a free TCP port on 127.0.0.1 below 32768 (the range non-root can bind here)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port not in _used_ports and can_bind(port):
            _used_ports.add(port)
            return port
    raise BenchError("no free TCP port found in 20000-32000")


def can_bind(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 is free right now."""
    with socket.socket() as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process started in its own session, and its children, by group id."""
    for sig, wait_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def dns_env() -> dict[str, str]:
    """The PowerDNS settings of `scripts/powerdns.sh env` (servers with a data directory of
    their own would not find its API key), unless the environment already has them."""
    if os.environ.get("THECLOUD_DNS_API_KEY"):
        return {}
    out = subprocess.run(
        [str(ROOT / "scripts" / "powerdns.sh"), "env"], capture_output=True, text=True, check=False
    )
    pairs = (line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    return {k: v for k, v in pairs if k.startswith("THECLOUD_DNS_")}


@contextmanager
def managed_process(
    name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """Run ``argv`` in its own session with output to a log file; always stop it on exit."""
    log_path = workdir / f"{name}-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # own session: Ctrl-C reaches only us, we stop it
            argv,
            cwd=ROOT,
            env={**os.environ, **dns_env(), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc, log_path
        finally:
            stop_process(proc)


def log_tail(path: Path, lines: int = 25) -> str:
    """Return the last lines of a log file, indented, for error messages."""
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "    (no log)"
    return "\n".join(f"    {line}" for line in text) or "    (empty log)"


def check_alive(name: str, what: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Raise ServerStartError with the log's tail when the process has exited."""
    if proc.poll() is not None:
        raise ServerStartError(
            f"{name} exited with code {proc.returncode} before {what}; "
            f"last log lines:\n{log_tail(log_path)}"
        )


def wait_ready(name: str, url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """Poll ``url`` until it answers 200; fail fast if the process dies or times out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        check_alive(name, f"becoming ready ({url})", proc, log_path)
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise ServerStartError(
        f"{name} did not answer 200 on {url} within {START_TIMEOUT_S:.0f} s; "
        f"last log lines:\n{log_tail(log_path)}"
    )


def tree_settled(pid: int, workers: int, interval_s: float = 0.5) -> bool:
    """Whether the tree has all its workers and sits idle (every worker done booting)."""
    before = tree_cpu_s((pid,))
    time.sleep(interval_s)
    idle = (tree_cpu_s((pid,)) - before) / interval_s < IDLE_CORES
    return idle and tree_size(pid) > workers  # the supervisor plus one process per worker


def wait_workers(name: str, workers: int, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    """With several uvicorn workers, wait until all are up: one answering is not enough."""
    if workers <= 1:
        return
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        check_alive(name, f"starting its {workers} workers", proc, log_path)
        if tree_settled(proc.pid, workers):
            return
    raise ServerStartError(
        f"{name}: {workers} workers not all up and idle within {START_TIMEOUT_S:.0f} s; "
        f"last log lines:\n{log_tail(log_path)}"
    )


@contextmanager
def http_server(
    name: str,
    argv: list[str],
    ready_url: str,
    workdir: Path,
    env: dict[str, str] | None = None,
    workers: int = 1,
) -> Iterator[int]:
    """Start a server; yield its pid once ``ready_url`` answers 200 and every worker is up."""
    with managed_process(name, argv, workdir, env) as (proc, log_path):
        wait_ready(name, ready_url, proc, log_path)
        wait_workers(name, workers, proc, log_path)
        yield proc.pid
