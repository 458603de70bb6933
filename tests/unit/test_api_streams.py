"""The live streams of the API in-process (the ASGI app driven directly, over the memory
fakes): a refusal closes with 4000 + the HTTP status of the same refusal over HTTP."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from fastapi import FastAPI

from tests.unit.conftest import BUSYBOX_REF, Account, Harness
from tests.unit.test_instances import launched, req
from thecloud.adapters.memory.runtime import MemoryRuntime
from thecloud.domain import errors as e
from thecloud.entrypoints.api.app import create_app
from thecloud.entrypoints.api.streams import close_code

Message = dict[str, Any]


@pytest.fixture
async def runtime(h: Harness) -> MemoryRuntime:
    await h.cloud.images.record_build("busybox", BUSYBOX_REF, "busybox", "1.35.0")
    assert isinstance(h.adapters.runtime, MemoryRuntime)
    return h.adapters.runtime


@pytest.fixture
def app(h: Harness) -> FastAPI:
    return create_app(h.cloud, migrate=False)


async def stream(app: FastAPI, path: str, key: str, frames: int = 1) -> list[Message]:
    """Open the WebSocket at `path`, leave after `frames` frames; what the server sent."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    inbox.put_nowait({"type": "websocket.connect"})
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)
        got = sum(m["type"] == "websocket.send" for m in sent)
        if message["type"] == "websocket.close" or got >= frames:
            inbox.put_nowait({"type": "websocket.disconnect", "code": 1000})

    scope = {
        "type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "path": path,
        "raw_path": path.encode(), "root_path": "", "query_string": f"api_key={key}".encode(),
        "headers": [(b"host", b"cloud.test")], "client": ("127.0.0.1", 50000),
        "server": ("cloud.test", 80), "subprotocols": [],
    }  # fmt: skip
    await asyncio.wait_for(app(scope, inbox.get, send), timeout=10)
    return sent


def closed(sent: list[Message]) -> tuple[int, str]:
    last = sent[-1]
    assert last["type"] == "websocket.close", sent
    return last["code"], last.get("reason", "")


def frames(sent: list[Message]) -> list[Any]:
    return [json.loads(m["text"]) for m in sent if m["type"] == "websocket.send"]


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (e.InvalidInput("x"), 4400),
        (e.Unauthorized("x"), 4401),
        (e.Forbidden("x"), 4403),
        (e.NotFound("x"), 4404),
        (e.Conflict("x"), 4409),
        (e.QuotaExceeded("x"), 4429),
        (e.BackendUnavailable("x"), 4503),
    ],
)
def test_close_codes_are_4000_plus_the_http_status(error: e.CloudError, code: int) -> None:
    assert close_code(error) == code


async def test_an_engine_outage_on_the_stats_stream_is_4503(
    h: Harness, owner: Account, runtime: MemoryRuntime, app: FastAPI
) -> None:
    ident = await launched(h, owner)
    runtime.down = True
    code, reason = closed(await stream(app, f"/ws/stats/{ident}", owner.key))
    assert code == 4503 and "unreachable" in reason


async def test_the_stats_stream_sends_the_checks_sample_first(
    h: Harness, owner: Account, runtime: MemoryRuntime, app: FastAPI
) -> None:
    ident = await launched(h, owner)
    runtime.calls.clear()
    got = frames(await stream(app, f"/ws/stats/{ident}", owner.key))
    assert len(got) == 1 and got[0]["cpu_percent"] == 12.5
    assert [call for call, _ in runtime.calls].count("stats") == 1


async def test_following_the_logs_of_a_starting_instance_is_a_conflict(
    h: Harness, owner: Account, runtime: MemoryRuntime, app: FastAPI
) -> None:
    starting = await h.cloud.instances.launch(owner.principal, req("web"))  # no worker step
    code, reason = closed(await stream(app, f"/ws/logs/{starting.id}", owner.key))
    assert code == 4409 and "STARTING" in reason
    assert not [call for call, _ in runtime.calls if call == "logs"]


async def test_the_logs_stream_sends_new_lines(
    h: Harness, owner: Account, runtime: MemoryRuntime, app: FastAPI
) -> None:
    ident = await launched(h, owner)
    (container,) = runtime.containers

    async def later() -> None:
        await asyncio.sleep(0.05)
        runtime.say(container, "after the connection")

    talk = asyncio.create_task(later())
    got = frames(await stream(app, f"/ws/logs/{ident}", owner.key))
    await talk
    assert [line["text"] for line in got] == ["after the connection"]  # not the history


async def test_a_stranger_is_refused_with_4404(
    h: Harness, owner: Account, runtime: MemoryRuntime, app: FastAPI
) -> None:
    ident = await launched(h, owner)
    stranger = await h.register("stranger")
    code, _ = closed(await stream(app, f"/ws/logs/{ident}", stranger.key))
    assert code == 4404
