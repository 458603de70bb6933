"""The audit log, the event list, and live event streams over WebSocket and SSE."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request, WebSocket
from fastapi.responses import StreamingResponse

from thecloud.bootstrap import Container
from thecloud.domain.common import DEFAULT_LIMIT, ListQuery, PageRequest
from thecloud.domain.identity import Principal
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services
from thecloud.entrypoints.api.envelope import JSONResponse, Limit, Offset, listed
from thecloud.entrypoints.api.errors import RESPONSES
from thecloud.entrypoints.api.routes import shapes
from thecloud.entrypoints.api.streams import first_of, opened, until_closed

router = APIRouter(tags=["activity"], responses=RESPONSES)


def _q() -> Any:
    """A fresh optional filter parameter (one Query object shared by several collapses them)."""
    return Query(None, max_length=255)


def _query(
    page: PageRequest, since: datetime | None, until: datetime | None, **filters: object
) -> ListQuery:
    kept = {k: v for k, v in filters.items() if v is not None}
    return ListQuery(page=page, filters=kept, since=since, until=until, newest_first=True)


@router.get("/audit")
async def list_audit(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    action: str | None = _q(),
    resource_type: str | None = _q(),
    resource_id: str | None = _q(),
    actor_id: str | None = _q(),
    since: datetime | None = None,
    until: datetime | None = None,
) -> JSONResponse:
    """Audit records of the tenant, newest first: who did what to which resource, from where."""
    q = _query(
        PageRequest(limit=limit, offset=offset),
        since,
        until,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        actor_id=actor_id,
    )
    return listed(request, await c.activity.audit(p, q), shapes.audit)


@router.get("/events")
async def list_events(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    type: str | None = _q(),
    resource_type: str | None = _q(),
    resource_id: str | None = _q(),  # noqa: A002
    since: datetime | None = None,
    until: datetime | None = None,
) -> JSONResponse:
    """Events of the tenant, newest first."""
    q = _query(
        PageRequest(limit=limit, offset=offset),
        since,
        until,
        type=type,
        resource_type=resource_type,
        resource_id=resource_id,
    )
    return listed(request, await c.activity.events(p, q), shapes.event)


@router.get("/events/stream")
async def stream_events(
    p: CurrentPrincipal, c: Services, after: int | None = Query(None, ge=0, le=2**62)
) -> StreamingResponse:
    """Server-sent events: each tenant event as `data: <json>` with `id: <seq>`."""
    c.activity.allow(p, "event:read", "event")
    start = after if after is not None else await c.activity.last_seq(p)  # before ': connected'

    async def frames() -> AsyncIterator[bytes]:
        yield b": connected\n\n"
        async for event in c.activity.stream(p, start):
            yield b"id: %d\nevent: %s\ndata: %s\n\n" % (
                event.seq,
                event.type.encode(),
                _json(event),
            )

    return StreamingResponse(
        frames(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def _json(event: object) -> bytes:
    return orjson.dumps(shapes.event(event), option=orjson.OPT_UTC_Z)  # type: ignore[arg-type]


@router.websocket("/ws/events")
async def ws_events(ws: WebSocket) -> None:
    """Live tenant events. Authenticate with X-API-Key / Bearer headers or ?api_key= / ?token=."""
    c: Container = ws.app.state.container
    after = ws.query_params.get("after")
    starts: list[int] = []

    async def check(p: Principal) -> None:
        c.activity.allow(p, "event:read", "event")
        # before accepting: whatever happens once the client is connected is sent
        starts.append(int(after) if after and after.isdigit() else await c.activity.last_seq(p))

    if (p := await opened(ws, check)) is None:
        return
    await first_of(_pump(ws, c, p, starts[0]), until_closed(ws))


async def _pump(ws: WebSocket, c: Container, p: Principal, start: int) -> None:
    async for event in c.activity.stream(p, start):
        await ws.send_text(_json(event).decode())


async def _until_closed(ws: WebSocket) -> None:
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass
