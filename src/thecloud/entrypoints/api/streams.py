"""WebSocket plumbing shared by the live streams (events, logs, stats, console)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import WebSocket, WebSocketDisconnect

from thecloud.bootstrap import Container
from thecloud.domain.errors import CloudError
from thecloud.domain.identity import Principal
from thecloud.entrypoints.api.deps import ws_principal

# Close codes in the 4000s mirror the HTTP statuses the same refusal gets over HTTP.
_CLOSE_CODES = {"UNAUTHORIZED": 4401, "FORBIDDEN": 4403, "NOT_FOUND": 4404, "CONFLICT": 4409}


async def opened(
    ws: WebSocket, check: Callable[[Principal], Awaitable[object]]
) -> Principal | None:
    """Authenticate the caller and run `check` (authorization, lookups); accept the socket,
    or close it with 44xx and the reason (accepted first: a close before the handshake
    reaches the client as a bare HTTP 403)."""
    c: Container = ws.app.state.container
    try:
        p = await ws_principal(ws, c)
        await check(p)
    except CloudError as exc:
        await ws.accept()
        await ws.close(code=_CLOSE_CODES.get(exc.code, 4403), reason=exc.message[:120])
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
