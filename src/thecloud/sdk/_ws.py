"""WebSocket streams of the API (logs, stats, console): addresses, credentials, close codes."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator
from typing import Any, cast
from urllib.parse import urlencode

from websockets.asyncio.client import ClientConnection as AsyncConnection
from websockets.asyncio.client import connect as connect_async
from websockets.exceptions import (
    ConnectionClosed,
    ConnectionClosedOK,
    InvalidStatus,
    WebSocketException,
)
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as connect_sync

from thecloud.sdk._core import JSON, USER_AGENT, Call, Options, headers
from thecloud.sdk.errors import (
    APIConnectionError,
    CloudAPIError,
    error_class,
    error_from_response,
)

Frame = str | bytes
# The server closes a stream it refuses with 4000 + the HTTP status the same refusal gets over
# HTTP; the close frame carries no error code, so the status's usual one names it.
CLOSE_BASE = 4000
_CODE_OF_STATUS = {
    400: "INVALID_INPUT",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    429: "RATE_LIMITED",
    500: "INTERNAL",
    503: "BACKEND_UNAVAILABLE",
}


def ws_url(opts: Options, call: Call) -> str:
    """The ws:// (or wss://) address of a stream, from the client's base URL."""
    base = opts.base_url
    for http, ws in (("https://", "wss://"), ("http://", "ws://")):
        if base.startswith(http):
            base = ws + base[len(http) :]
    params = urlencode(dict(call.params), doseq=True)
    return f"{base}{call.path}" + (f"?{params}" if params else "")


def ws_headers(opts: Options) -> dict[str, str]:
    """The handshake's headers: the API key or bearer token, and the tenant."""
    sent = headers(opts, Call("GET", ""))
    return {k: v for k, v in sent.items() if k not in ("Accept", "User-Agent")}


def closed_error(exc: ConnectionClosed, opts: Options) -> CloudAPIError | None:
    """What a closed stream means: None for a normal end, else the error its close code names."""
    code = exc.rcvd.code if exc.rcvd is not None else None
    if code is not None and CLOSE_BASE <= code < CLOSE_BASE + 1000:
        status = code - CLOSE_BASE
        name = _CODE_OF_STATUS.get(status, f"HTTP_{status}")
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        return error_class(status)(status, name, reason or name.replace("_", " ").lower())
    if isinstance(exc, ConnectionClosedOK):
        return None
    return APIConnectionError(f"the stream from {opts.base_url} broke off: {exc}")


def handshake_error(exc: Exception, opts: Options) -> CloudAPIError:
    """A refused or failed WebSocket handshake as the SDK's error."""
    if isinstance(exc, InvalidStatus):
        response = exc.response
        text = response.body.decode(errors="replace") if response.body else ""
        return error_from_response(response.status_code, _json(text), response.headers, text)
    detail = str(exc) or type(exc).__name__
    return APIConnectionError(f"WebSocket to {opts.base_url} failed: {detail}")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def open_sync(opts: Options, call: Call) -> ClientConnection:
    """Open a stream (sync); the caller closes it."""
    try:
        ws = connect_sync(
            ws_url(opts, call),
            additional_headers=ws_headers(opts),
            user_agent_header=USER_AGENT,
            open_timeout=opts.timeout,
        )
    except (OSError, WebSocketException) as exc:
        raise handshake_error(exc, opts) from exc
    return ws.__enter__()  # entered as websockets wants; closing it is the caller's


async def open_async(opts: Options, call: Call) -> AsyncConnection:
    """Open a stream (async)."""
    try:
        return await connect_async(
            ws_url(opts, call),
            additional_headers=ws_headers(opts),
            user_agent_header=USER_AGENT,
            open_timeout=opts.timeout,
        )
    except (OSError, WebSocketException) as exc:
        raise handshake_error(exc, opts) from exc


def receive(ws: ClientConnection, opts: Options, timeout: float | None = None) -> Frame | None:
    """The next frame; None once the stream ended normally. TimeoutError after `timeout` s."""
    try:
        return ws.recv(timeout)
    except ConnectionClosed as exc:
        if (error := closed_error(exc, opts)) is not None:
            raise error from exc
        return None


async def areceive(ws: AsyncConnection, opts: Options) -> Frame | None:
    """The next frame; None once the stream ended normally."""
    try:
        return await ws.recv()
    except ConnectionClosed as exc:
        if (error := closed_error(exc, opts)) is not None:
            raise error from exc
        return None


def message(frame: Frame) -> JSON:
    """One JSON object of a stream."""
    return cast(JSON, json.loads(frame))


def json_stream(opts: Options, call: Call) -> Generator[JSON, None, None]:
    """Every JSON object a stream sends until it ends (sync)."""
    with open_sync(opts, call) as ws:
        while (frame := receive(ws, opts)) is not None:
            yield message(frame)


async def async_json_stream(opts: Options, call: Call) -> AsyncGenerator[JSON, None]:
    """Every JSON object a stream sends until it ends (async)."""
    async with await open_async(opts, call) as ws:
        while (frame := await areceive(ws, opts)) is not None:
            yield message(frame)
