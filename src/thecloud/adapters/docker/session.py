"""A terminal session on a Docker Engine: the hijacked exec connection, driven by the event loop.

The socket is non-blocking and read and written with the loop's socket methods, so a session
holds no thread; `close` cancels what is waiting on it before the socket goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from thecloud.adapters.docker.client import EngineClient
from thecloud.adapters.docker.execs import close_stream, hang_up, real_socket, resize_tty
from thecloud.domain.errors import BackendUnavailable, CloudError, Conflict

T = TypeVar("T")
CHUNK = 64 * 1024


class DockerSession:
    """An interactive process with a terminal in a container (a Session)."""

    def __init__(
        self, engine: EngineClient, ident: str, exec_id: str, marker: str, stream: Any
    ) -> None:
        self._engine, self._ident, self._marker = engine, ident, marker
        self.exec_id = exec_id
        self._stream = stream  # the SDK's stream; it keeps the HTTP response alive
        self._sock = real_socket(stream)
        if isinstance(self._sock, ssl.SSLSocket):
            close_stream(stream)
            raise BackendUnavailable("terminal sessions need a Unix or plain TCP engine socket")
        self._sock.setblocking(False)
        self._waiting: set[asyncio.Future[Any]] = set()
        self._closed = False

    async def send(self, data: bytes) -> None:
        try:
            await self._io(lambda loop: loop.sock_sendall(self._sock, data))
        except OSError as exc:
            raise Conflict("the terminal session has ended") from exc

    async def receive(self) -> bytes:
        try:
            return await self._io(lambda loop: loop.sock_recv(self._sock, CHUNK))
        except OSError:
            return b""

    async def resize(self, rows: int, cols: int) -> None:
        """A terminal whose process has ended is left as it is."""
        exec_id = self.exec_id
        await self._engine.call(lambda api: resize_tty(api, exec_id, rows, cols))

    async def close(self) -> None:
        """Close the connection and hang up the session's processes; closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        waiting = list(self._waiting)
        for operation in waiting:
            operation.cancel()
        if waiting:  # let them unregister from the loop before the socket closes
            await asyncio.wait(waiting)
        close_stream(self._stream)
        ident, marker = self._ident, self._marker
        with contextlib.suppress(CloudError):
            await self._engine.call(lambda api: hang_up(api, ident, marker))

    async def _io(self, start: Callable[[asyncio.AbstractEventLoop], Awaitable[T]]) -> T:
        """Await a socket operation that `close` can cancel (the socket must not close under
        a pending one)."""
        if self._closed:
            raise OSError("the session is closed")
        future = asyncio.ensure_future(start(asyncio.get_running_loop()))
        self._waiting.add(future)
        try:
            return await future
        except asyncio.CancelledError:
            if self._closed and not _cancelling():  # cancelled by `close`, not the caller
                raise OSError("the session is closed") from None
            raise
        finally:
            self._waiting.discard(future)


def _cancelling() -> bool:
    """Whether the current task itself is being cancelled (not only the socket operation)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
