"""WebSocket plumbing shared by the live streams (events, logs, stats, console)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import WebSocket, WebSocketDisconnect

from thecloud.bootstrap import Container
from thecloud.domain.errors import CloudError
from thecloud.domain.identity import Principal
from thecloud.entrypoints.api.deps import ws_principal
from thecloud.entrypoints.api.errors import status_of

CLOSE_BASE = 4000  # a refusal closes with 4000 + the HTTP status it gets over HTTP


def close_code(exc: CloudError) -> int:
    """The close code of a refused stream: 4000 + the status of api/errors.py's one mapping
    (4404 not found, 4409 conflict, 4429 rate limited, 4503 backend unavailable, ...)."""
    return CLOSE_BASE + status_of(exc)


async def opened(
    ws: WebSocket, check: Callable[[Principal], Awaitable[object]]
) -> Principal | None:
    """Authenticate the caller and run `check` (authorization, lookups); accept the socket,
    or close it with `close_code` and the reason (accepted first: a close before the
    handshake reaches the client as a bare HTTP 403)."""
    c: Container = ws.app.state.container
    try:
        p = await ws_principal(ws, c)
        await check(p)
    except CloudError as exc:
        await ws.accept()
        await ws.close(code=close_code(exc), reason=exc.message[:120])
        return None
    await ws.accept()
    return p


async def until_closed(ws: WebSocket) -> None:
    """Return when the client leaves (a stream may stay quiet for long meanwhile)."""
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


async def first_of(*jobs: Awaitable[None]) -> None:
    """Run until the first job ends (the stream, or the client leaving); cancel the rest. A
    job that failed other than by the client leaving is raised (the server logs it; the
    client sees close code 1011)."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        error = task.exception()
        if error is not None and not isinstance(error, WebSocketDisconnect):
            raise error
