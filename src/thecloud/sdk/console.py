"""Interactive console sessions on an instance: a terminal's bytes both ways over a WebSocket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import Self

from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from thecloud.sdk._core import Call, Options, query, seg
from thecloud.sdk._ws import Frame, areceive, closed_error, open_async, receive
from thecloud.sdk.errors import APIConnectionError, CloudAPIError


def console_call(instance: str, rows: int | None, cols: int | None) -> Call:
    """The console stream of an instance (id or name), with the terminal's first size."""
    return Call("GET", f"/ws/console/{seg(instance)}", params=query(rows=rows, cols=cols))


def resize_frame(rows: int, cols: int) -> str:
    """The control frame that gives the terminal a new size."""
    return json.dumps({"type": "resize", "rows": rows, "cols": cols})


def _bytes(frame: Frame | None) -> bytes | None:
    return frame.encode() if isinstance(frame, str) else frame


def _send_error(exc: ConnectionClosed, opts: Options) -> CloudAPIError:
    return closed_error(exc, opts) or APIConnectionError("the console session has ended")


class ConsoleSession:
    """A shell in an instance: `send` keystrokes, `recv` its output, `resize` the terminal.

    A session the server refuses raises the matching CloudAPIError on first use (NotFoundError,
    ConflictError when the instance is not running, ...). Close it, or use it in `with`.
    """

    def __init__(self, ws: ClientConnection, opts: Options) -> None:
        self._ws, self._opts = ws, opts

    def send(self, data: bytes) -> None:
        """Type these bytes into the terminal."""
        self._send(data)

    def resize(self, rows: int, cols: int) -> None:
        """Tell the terminal its new size."""
        self._send(resize_frame(rows, cols))

    def recv(self, timeout: float | None = None) -> bytes | None:
        """The next output; b"" when none came within `timeout` s; None once the session ended."""
        try:
            return _bytes(receive(self._ws, self._opts, timeout))
        except TimeoutError:
            return b""

    def close(self) -> None:
        """End the session (the shell gets a hang-up)."""
        self._ws.close()

    def __iter__(self) -> Iterator[bytes]:
        while (chunk := self.recv()) is not None:
            yield chunk

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, frame: Frame) -> None:
        try:
            self._ws.send(frame)
        except ConnectionClosed as exc:
            raise _send_error(exc, self._opts) from exc


class AsyncConsoleSession:
    """The async ConsoleSession: `async with client.console("web") as term: ...`."""

    def __init__(self, opts: Options, call: Call) -> None:
        self._opts, self._call = opts, call
        self._ws: AsyncConnection | None = None

    async def open(self) -> Self:
        """Connect (done by `async with`)."""
        await self._connection()
        return self

    async def send(self, data: bytes) -> None:
        """Type these bytes into the terminal."""
        await self._send(data)

    async def resize(self, rows: int, cols: int) -> None:
        """Tell the terminal its new size."""
        await self._send(resize_frame(rows, cols))

    async def recv(self) -> bytes | None:
        """The next output; None once the session ended."""
        return _bytes(await areceive(await self._connection(), self._opts))

    async def close(self) -> None:
        """End the session."""
        if self._ws is not None:
            await self._ws.close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self.recv()) is not None:
            yield chunk

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _connection(self) -> AsyncConnection:
        if self._ws is None:
            self._ws = await open_async(self._opts, self._call)
        return self._ws

    async def _send(self, frame: Frame) -> None:
        try:
            await (await self._connection()).send(frame)
        except ConnectionClosed as exc:
            raise _send_error(exc, self._opts) from exc
