"""Processes in running containers (blocking SDK calls): one-off execs and terminal sessions.

The engine hijacks the exec's HTTP connection for the process's streams; these functions read
and write that socket themselves, with deadlines, so a worker thread never blocks past them.
"""

from __future__ import annotations

import contextlib
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from docker import APIClient
from docker import errors as docker_errors

from thecloud.adapters.docker.errors import engine_message
from thecloud.adapters.docker.logs import frames
from thecloud.domain.errors import BackendUnavailable, Conflict
from thecloud.ports.compute import ExecResult

SESSION_ENV = "THECLOUD_SESSION"  # marks a terminal session's processes, to hang them up
_HANG_UP = 'for p in /proc/[0-9]*; do grep -qs "$1" "$p/environ" && kill -HUP "${p#/proc/}"; done'


@contextlib.contextmanager
def running_only(ident: str) -> Iterator[None]:
    """The engine's refusal to run a process in a stopped or paused container, as Conflict."""
    try:
        yield
    except docker_errors.APIError as exc:
        if exc.status_code != 409:
            raise
        paused = "is paused" in engine_message(exc)
        state = "paused" if paused else "not running"
        raise Conflict(f"instance is {state} (container {ident})") from exc


def run_exec(api: APIClient, ident: str, command: tuple[str, ...], timeout: float) -> ExecResult:
    """Run `command` and collect its output and exit code, all within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with running_only(ident):
        exec_id = api.exec_create(ident, list(command))["Id"]
        stream = api.exec_start(exec_id, socket=True)
    late = BackendUnavailable(f"{_shown(command)} did not finish within {timeout:g} s")
    try:
        stdout, stderr = _collect(real_socket(stream), deadline, late)
    finally:
        close_stream(stream)
    return ExecResult(_exit_code(api, exec_id, deadline, late), stdout, stderr)


def _shown(command: tuple[str, ...]) -> str:
    text = " ".join(command)
    return f"`{text[:77]}...`" if len(text) > 80 else f"`{text}`"


def _collect(sock: socket.socket, deadline: float, late: Exception) -> tuple[str, str]:
    output: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    for stream, data in frames(_reader(sock, deadline, late), tty=False):
        output[stream].append(data)
    return _text(output["stdout"]), _text(output["stderr"])


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", "replace")


def _reader(sock: socket.socket, deadline: float, late: Exception) -> Callable[[int], bytes]:
    """`sock.recv` that raises `late` instead of waiting past the deadline."""

    def read(size: int) -> bytes:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            return sock.recv(size)
        except TimeoutError as exc:
            raise late from exc
        except OSError as exc:
            raise BackendUnavailable(f"the engine connection broke: {exc}") from exc

    return read


def _exit_code(api: APIClient, exec_id: str, deadline: float, late: Exception) -> int:
    """The exit code once the engine has recorded it (just after the streams end)."""
    while (info := api.exec_inspect(exec_id))["Running"] or info["ExitCode"] is None:
        if time.monotonic() > deadline:
            raise late
        time.sleep(0.01)
    return int(info["ExitCode"])


def open_shell(api: APIClient, ident: str, command: tuple[str, ...]) -> tuple[str, str, Any]:
    """Start `command` with a terminal; its exec id, session marker and hijacked stream."""
    marker = uuid.uuid4().hex
    environment = ["TERM=xterm", f"{SESSION_ENV}={marker}"]
    with running_only(ident):
        created = api.exec_create(
            ident, list(command), stdin=True, tty=True, environment=environment
        )
        return created["Id"], marker, api.exec_start(created["Id"], socket=True, tty=True)


def resize_tty(api: APIClient, exec_id: str, rows: int, cols: int) -> None:
    """Resize the session's terminal; one whose process has ended is left as it is."""
    try:
        api.exec_resize(exec_id, height=rows, width=cols)
    except docker_errors.APIError:
        if api.exec_inspect(exec_id)["Running"]:
            raise


def hang_up(api: APIClient, ident: str, marker: str) -> None:
    """SIGHUP to every process of the session (the engine does not end them when the
    connection closes); best effort: needs `sh`, `grep` and `kill` in the image."""
    command = ("sh", "-c", _HANG_UP, "hang-up", f"{SESSION_ENV}={marker}")
    run_exec(api, ident, command, timeout=10.0)


def real_socket(stream: Any) -> socket.socket:
    """The socket under the SDK's hijacked stream (a SocketIO over a Unix or TCP socket)."""
    sock = getattr(stream, "_sock", stream)
    if not isinstance(sock, socket.socket):
        raise BackendUnavailable(f"unsupported engine connection for a session: {type(sock)}")
    return sock


def close_stream(stream: Any) -> None:
    """Shut the hijacked connection down, then release the HTTP response and the socket."""
    sock = getattr(stream, "_sock", stream)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    response = getattr(stream, "_response", None)
    if response is not None:
        response.close()  # closes the reader over the socket before the socket itself
    stream.close()
    sock.close()
