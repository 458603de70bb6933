"""The SDK's operations on a live instance: HTTP calls over httpx.MockTransport, the streams
(logs, stats, console) over a WebSocket server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.server import ServerConnection

from tests.unit.test_sdk_compute import FakeAPI, fail, instance, ok
from tests.unit.ws_fake import FakeStreams, running_streams, send_all
from thecloud.sdk import (
    APIConnectionError,
    AsyncClient,
    Client,
    CloudAPIError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    ValidationError,
)
from thecloud.sdk._core import Call, Options
from thecloud.sdk._ws import ws_url

LINE = {"at": "2030-01-01T00:00:00+00:00", "stream": "stdout", "text": "hello"}
SAMPLE = {"cpu_percent": 12.5, "memory_bytes": 4 << 20, "memory_limit_bytes": 512 << 20}


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


@pytest.fixture
def streams() -> Iterator[FakeStreams]:
    with running_streams() as fake:
        yield fake


def client_for(streams: FakeStreams, **kwargs: Any) -> Client:
    return Client(streams.url, **{"api_key": "thecloud_k", **kwargs})


@pytest.mark.parametrize(
    ("call", "route", "sent"),
    [
        (lambda c: c.pause("web"), "POST /instances/web/pause", None),
        (lambda c: c.resume("web"), "POST /instances/web/resume", None),
        (
            lambda c: c.resize("web", "standard-2"),
            "POST /instances/web/resize",
            {"instance_type": "standard-2"},
        ),
        (
            lambda c: c.set_metadata("web", {"owner": "ada"}),
            "PUT /instances/web/metadata",
            {"metadata": {"owner": "ada"}},
        ),
        (
            lambda c: c.set_tags("web", {"team": "blue"}),
            "POST /instances/web/tags",
            {"tags": {"team": "blue"}},
        ),
        (lambda c: c.tags("web"), "GET /instances/web/tags", None),
        (lambda c: c.stats("web"), "GET /instances/web/stats", None),
        (lambda c: c.console_url("web"), "GET /instances/web/console", None),
    ],
)
def test_operations_send_their_method_path_and_body(
    api: FakeAPI, call: Any, route: str, sent: dict[str, Any] | None
) -> None:
    api.on(route, ok({"answer": route}))
    assert call(api.client().instances) == {"answer": route}
    request = api.sent(route)[0]
    assert (json.loads(request.content) if request.content else None) == sent


def test_remove_tag_encodes_the_key_and_returns_the_tags_left(api: FakeAPI) -> None:
    api.on("DELETE /instances/web/tags/team/owner", ok({"env": "prod"}))
    assert api.client().instances.remove_tag("web", "team/owner") == {"env": "prod"}
    assert api.requests[0].url.raw_path == b"/instances/web/tags/team%2Fowner"


def test_pause_of_a_stopped_instance_is_a_conflict(api: FakeAPI) -> None:
    api.on("POST /instances/web/pause", fail(409, "CONFLICT", "instance web is STOPPED"))
    with pytest.raises(ConflictError, match="is STOPPED"):
        api.client().instances.pause("web")


def test_exec_sends_the_command_and_waits_longer_than_its_timeout(api: FakeAPI) -> None:
    done = {"exit_code": 3, "stdout": "out\n", "stderr": "err\n"}
    api.on("POST /instances/web/exec", ok(done))
    assert api.client().instances.exec("web", ("sh", "-c", "exit 3"), timeout=90) == done
    request = api.requests[0]
    assert json.loads(request.content) == {"command": ["sh", "-c", "exit 3"], "timeout": 90}
    assert request.extensions["timeout"]["read"] == 120


def test_list_and_iterate_filter_on_every_label(api: FakeAPI) -> None:
    listed = ok([instance("RUNNING")], total=1, limit=100, offset=0, has_more=False)
    api.on("GET /instances", listed)
    client = api.client()
    client.instances.list(labels={"team": "blue", "env": "prod"}, status="RUNNING")
    list(client.instances.iterate(labels={"team": "blue"}))
    first, second = (r.url.params for r in api.requests)
    assert first.get_list("label") == ["team=blue", "env=prod"]
    assert first["status"] == "RUNNING"
    assert second.get_list("label") == ["team=blue"]


def test_list_without_labels_sends_no_label(api: FakeAPI) -> None:
    api.on("GET /instances", ok([], total=0, limit=100, offset=0, has_more=False))
    api.client().instances.list(labels={})
    assert "label" not in api.requests[0].url.params


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://api.test", "ws://api.test/ws/logs/web?since=t"),
        ("https://cloud.example.com/api", "wss://cloud.example.com/api/ws/logs/web?since=t"),
    ],
)
def test_ws_url_follows_the_base_url(base: str, expected: str) -> None:
    call = Call("GET", "/ws/logs/web", params={"since": "t"})
    assert ws_url(Options(base_url=base), call) == expected


def test_follow_logs_sends_credentials_and_since_and_ends_with_the_stream(
    streams: FakeStreams,
) -> None:
    later = {**LINE, "text": "world", "stream": "stderr"}
    streams.on("/ws/logs/web", send_all(json.dumps(LINE), json.dumps(later)))
    with client_for(streams, tenant_id="t-1") as client:
        got = list(client.instances.follow_logs("web", since="2030-01-01T00:00:00Z"))
    assert got == [LINE, later]
    headers = streams.requests[0].headers
    assert (headers["X-API-Key"], headers["X-Tenant-ID"]) == ("thecloud_k", "t-1")
    assert streams.query() == {"since": ["2030-01-01T00:00:00Z"]}


def test_a_bearer_token_is_sent_as_authorization(streams: FakeStreams) -> None:
    streams.on("/ws/stats/web", send_all(json.dumps(SAMPLE)))
    with Client(streams.url, token="jwt-1") as client:
        assert list(client.instances.watch_stats("web")) == [SAMPLE]
    assert streams.requests[0].headers["Authorization"] == "Bearer jwt-1"
    assert "X-API-Key" not in streams.requests[0].headers


@pytest.mark.parametrize(
    ("code", "kind", "error_code"),
    [
        (4401, UnauthorizedError, "UNAUTHORIZED"),
        (4403, ForbiddenError, "FORBIDDEN"),
        (4404, NotFoundError, "NOT_FOUND"),
        (4409, ConflictError, "CONFLICT"),
        (4400, ValidationError, "INVALID_INPUT"),
        (4429, RateLimitedError, "RATE_LIMITED"),
        (4503, ServerError, "BACKEND_UNAVAILABLE"),
        (4500, ServerError, "INTERNAL"),
        (4418, CloudAPIError, "HTTP_418"),
    ],
)
def test_refusal_close_codes_become_sdk_errors(
    streams: FakeStreams, code: int, kind: type[Exception], error_code: str
) -> None:
    streams.on("/ws/logs/web", send_all(code=code, reason="instance web is STOPPED"))
    with client_for(streams) as client, pytest.raises(kind) as caught:
        list(client.instances.follow_logs("web"))
    assert str(caught.value) == f"[{error_code}] instance web is STOPPED"


def test_a_refused_handshake_is_the_error_of_its_envelope(streams: FakeStreams) -> None:
    streams.refuse("/ws/stats/web", 403, "FORBIDDEN", "not yours")
    with client_for(streams) as client, pytest.raises(ForbiddenError) as caught:
        next(iter(client.instances.watch_stats("web")))
    assert str(caught.value) == "[FORBIDDEN] not yours (request id ws-r)"


def test_no_server_is_a_connection_error() -> None:
    with running_streams() as gone:
        url = gone.url
    with Client(url, api_key="k", timeout=2) as client, pytest.raises(APIConnectionError):
        list(client.instances.follow_logs("web"))


def test_a_stream_broken_off_is_a_connection_error(streams: FakeStreams) -> None:
    streams.on("/ws/logs/web", send_all(json.dumps(LINE), code=1011, reason="boom"))
    with client_for(streams) as client, pytest.raises(APIConnectionError, match="broke off"):
        list(client.instances.follow_logs("web"))


def test_leaving_a_stream_closes_the_connection(streams: FakeStreams) -> None:
    closed = threading.Event()

    def forever(ws: ServerConnection) -> None:
        while True:
            try:
                ws.send(json.dumps(SAMPLE))
                time.sleep(0.01)
            except Exception:
                closed.set()
                return

    streams.on("/ws/stats/web", forever)
    with client_for(streams) as client:
        for sample in client.instances.watch_stats("web"):
            assert sample == SAMPLE
            break
    assert closed.wait(5)


def echo_console(received: list[str | bytes]) -> Any:
    """A console that records every frame, answers typed bytes upper-cased, ends on Ctrl-D."""

    def handle(ws: ServerConnection) -> None:
        for frame in ws:
            received.append(frame)
            if frame == b"\x04":
                break
            if isinstance(frame, bytes):
                ws.send(frame.upper())
        ws.close()

    return handle


def test_console_session_types_resizes_reads_and_ends(streams: FakeStreams) -> None:
    received: list[str | bytes] = []
    streams.on("/ws/console/web", echo_console(received))
    with client_for(streams) as client, client.console("web", rows=30, cols=100) as term:
        term.resize(40, 120)
        term.send(b"ls\n")
        assert term.recv(timeout=5) == b"LS\n"
        assert term.recv(timeout=0.01) == b""
        term.send(b"\x04")
        assert list(term) == []
    assert received == [json.dumps({"type": "resize", "rows": 40, "cols": 120}), b"ls\n", b"\x04"]
    assert streams.query() == {"rows": ["30"], "cols": ["100"]}


def test_console_of_a_stopped_instance_raises_conflict(streams: FakeStreams) -> None:
    streams.on("/ws/console/web", send_all(code=4409, reason="instance web is not running"))
    with client_for(streams) as client, client.console("web") as term:
        with pytest.raises(ConflictError, match="not running"):
            term.recv(timeout=5)
        with pytest.raises(ConflictError):
            term.send(b"x")


async def test_async_follow_logs_and_console(streams: FakeStreams) -> None:
    received: list[str | bytes] = []
    streams.on("/ws/logs/web", send_all(json.dumps(LINE)))
    streams.on("/ws/console/web", echo_console(received))
    async with AsyncClient(streams.url, api_key="thecloud_k") as client:
        lines = [line async for line in client.instances.follow_logs("web")]
        async with client.console("web", rows=24, cols=80) as term:
            await term.resize(50, 160)
            await term.send(b"pwd\n")
            assert await term.recv() == b"PWD\n"
            await term.send(b"\x04")
            assert [chunk async for chunk in term] == []
    assert lines == [LINE]
    assert received[0] == json.dumps({"type": "resize", "rows": 50, "cols": 160})
    assert streams.requests[0].headers["X-API-Key"] == "thecloud_k"


async def test_async_refusal_is_an_sdk_error(streams: FakeStreams) -> None:
    async with AsyncClient(streams.url, api_key="k") as client:
        with pytest.raises(NotFoundError, match="no such stream"):
            [line async for line in client.instances.follow_logs("nope")]
