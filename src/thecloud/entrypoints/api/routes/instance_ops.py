"""Instance operations: pause, resume, resize, metadata, tags, exec, stats, and the live
streams (logs, stats, console) over WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

import orjson
from fastapi import APIRouter, Query, Request, WebSocket
from fastapi.responses import Response

from thecloud.bootstrap import Container
from thecloud.domain.common import DEFAULT_LIMIT, ListQuery, PageRequest, as_utc
from thecloud.domain.identity import Principal
from thecloud.entrypoints.api import schemas as s
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services
from thecloud.entrypoints.api.envelope import JSONResponse, Limit, Offset, listed, ok
from thecloud.entrypoints.api.errors import RESPONSES
from thecloud.entrypoints.api.routes import shapes
from thecloud.entrypoints.api.streams import first_of, opened, until_closed
from thecloud.ports.compute import ContainerStats, LogLine, Session

router = APIRouter(tags=["compute"], responses=RESPONSES)
STATS_SECONDS = 2.0


@router.post("/instances/{instance}/pause")
async def pause_instance(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Freeze every process of a running instance (PAUSED); memory stays allocated."""
    return ok(request, shapes.instance(await c.instance_ops.pause(p, instance)))


@router.post("/instances/{instance}/resume")
async def resume_instance(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Thaw a paused instance (RUNNING again)."""
    return ok(request, shapes.instance(await c.instance_ops.resume(p, instance)))


@router.post("/instances/{instance}/resize")
async def resize_instance(
    request: Request, instance: str, body: s.ResizeInstanceRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Another instance type: its CPU and memory limits apply to the running container at once."""
    return ok(
        request, shapes.instance(await c.instance_ops.resize(p, instance, body.instance_type))
    )


@router.put("/instances/{instance}/metadata")
async def put_metadata(
    request: Request, instance: str, body: s.MetadataRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Replace the instance's metadata (string keys and values)."""
    return ok(
        request, shapes.instance(await c.instance_ops.set_metadata(p, instance, body.metadata))
    )


@router.get("/instances/{instance}/tags")
async def get_tags(request: Request, instance: str, p: CurrentPrincipal, c: Services) -> Response:
    """The instance's tags (its labels; lists filter on them with `?label=key=value`)."""
    return ok(request, dict((await c.instances.get(p, instance)).labels))


@router.post("/instances/{instance}/tags")
async def set_tags(
    request: Request, instance: str, body: s.SetTagsRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Add or replace tags; the others are kept."""
    return ok(request, dict((await c.instance_ops.set_tags(p, instance, body.tags)).labels))


@router.delete("/instances/{instance}/tags/{key:path}")
async def remove_tag(
    request: Request, instance: str, key: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Remove one tag."""
    return ok(request, dict((await c.instance_ops.remove_tag(p, instance, key)).labels))


@router.post("/instances/{instance}/exec")
async def exec_in_instance(
    request: Request, instance: str, body: s.ExecRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Run one command in the running instance and wait for it: exit code, stdout, stderr."""
    done = await c.instance_ops.exec(p, instance, tuple(body.command), body.timeout)
    return ok(request, {"exit_code": done.exit_code, "stdout": done.stdout, "stderr": done.stderr})


@router.get("/instances/{instance}/stats")
async def instance_stats(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """CPU (100 = one CPU busy), memory, network and block I/O, sampled from the engine now."""
    return ok(request, shapes.stats(await c.instance_ops.stats(p, instance)))


@router.get("/instances/{instance}/metrics")
async def instance_metrics(
    request: Request,
    instance: str,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    since: datetime | None = Query(None, description="samples taken at or after this time"),
) -> JSONResponse:
    """The stats history the compute worker samples (every 30 s, kept 24 h), newest first."""
    page = PageRequest(limit=limit, offset=offset)
    query = ListQuery(page=page, since=since, newest_first=True)
    return listed(request, await c.instance_ops.metrics(p, instance, query), shapes.metric)


@router.get("/instances/{instance}/console")
async def console_url(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Where to open the interactive console: a WebSocket carrying the terminal's bytes
    (binary frames), plus `{"type": "resize", "rows": R, "cols": C}` text frames."""
    found = await c.instances.get(p, instance)
    scheme = "wss" if request.url.scheme == "https" else "ws"
    url = f"{scheme}://{request.url.netloc}/ws/console/{found.id}"
    return ok(request, {"url": url, "protocol": "binary frames = terminal bytes"})


@router.websocket("/ws/logs/{instance}")
async def ws_logs(ws: WebSocket, instance: str) -> None:
    """The instance's output as it is written, one JSON object per line ({at, stream, text});
    `?since=` (RFC 3339) replays from that time first."""
    c: Container = ws.app.state.container
    since = _time(ws.query_params.get("since"))
    streams: list[AsyncIterator[LogLine]] = []

    async def start(p: Principal) -> None:
        streams.append(await c.instances.follow(p, instance, since))

    if await opened(ws, start) is None:
        return

    async def pump() -> None:
        async for line in streams[0]:
            await ws.send_text(orjson.dumps(shapes.log_line(line)).decode())

    await first_of(pump(), until_closed(ws))
    with contextlib.suppress(RuntimeError):
        await ws.close()


@router.websocket("/ws/stats/{instance}")
async def ws_stats(ws: WebSocket, instance: str) -> None:
    """A stats sample every 2 s, as JSON, while the connection lasts."""
    c: Container = ws.app.state.container
    samples: list[ContainerStats] = []

    async def first(p: Principal) -> None:
        samples.append(await c.instance_ops.stats(p, instance))

    if (p := await opened(ws, first)) is None:
        return

    async def pump() -> None:
        sample = samples[0]  # the check's sample is the first frame
        while True:
            await ws.send_text(orjson.dumps(shapes.stats(sample)).decode())
            await asyncio.sleep(STATS_SECONDS)
            sample = await c.instance_ops.stats(p, instance)

    await first_of(pump(), until_closed(ws))


@router.websocket("/ws/console/{instance}")
async def ws_console(ws: WebSocket, instance: str) -> None:
    """An interactive shell in the instance; see GET /instances/{id}/console."""
    c: Container = ws.app.state.container
    rows, cols = _int(ws.query_params.get("rows"), 24), _int(ws.query_params.get("cols"), 80)
    sessions: list[Session] = []

    async def start(p: Principal) -> None:
        sessions.append(await c.instance_ops.console(p, instance, rows, cols))

    if await opened(ws, start) is None:
        return
    session = sessions[0]
    try:
        await first_of(_to_client(ws, session), _from_client(ws, session))
    finally:
        await session.close()
        with contextlib.suppress(RuntimeError):
            await ws.close()


async def _to_client(ws: WebSocket, session: Session) -> None:
    while chunk := await session.receive():
        await ws.send_bytes(chunk)


async def _from_client(ws: WebSocket, session: Session) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes"):
            await session.send(message["bytes"])
        elif message.get("text"):
            await _control(session, message["text"])


async def _control(session: Session, text: str) -> None:
    try:
        command = orjson.loads(text)
    except orjson.JSONDecodeError:
        await session.send(text.encode())  # plain text frames are typed, too
        return
    if isinstance(command, dict) and command.get("type") == "resize":
        await session.resize(_int(command.get("rows"), 24), _int(command.get("cols"), 80))


def _int(value: object, default: int) -> int:
    try:
        number = int(str(value))
    except ValueError:
        return default
    return number if 1 <= number <= 1000 else default


def _time(value: str | None) -> datetime | None:
    try:
        return as_utc(datetime.fromisoformat(value)) if value else None
    except ValueError:
        return None
