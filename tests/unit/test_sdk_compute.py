"""The SDK's compute resources over httpx.MockTransport: launch, lifecycle, logs, waiting."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from thecloud.sdk import (
    AsyncClient,
    Client,
    ConflictError,
    NotFoundError,
    ResourceFailedError,
    ValidationError,
    WaitTimeoutError,
)

URL = "http://api.test"
Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def ok(data: Any, status: int = 200, **meta: Any) -> httpx.Response:
    return httpx.Response(status, json={"data": data, "meta": {"request_id": "rid", **meta}})


def fail(status: int, code: str, message: str) -> httpx.Response:
    body = {"error": {"type": code, "code": code, "message": message}, "meta": {"request_id": "r"}}
    return httpx.Response(status, json=body)


def instance(status: str = "STARTING", **fields: Any) -> dict[str, Any]:
    base = {"id": "i-1", "name": "web", "image": "alpine", "status": status, "status_reason": ""}
    return {**base, **fields}


class FakeAPI:
    """Routes `METHOD /path` to an answer or a sequence of answers (the last one repeats)."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, route: str, *answers: Answer) -> None:
        self.routes[route] = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get(f"{request.method} {request.url.path}")
        if not queue:
            return fail(404, "NOT_FOUND", f"no route {request.method} {request.url.path}")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    def sent(self, route: str) -> list[httpx.Request]:
        method, path = route.split(" ", 1)
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)]

    def client(self) -> Client:
        return Client(URL, api_key="thecloud_k", transport=httpx.MockTransport(self))

    def async_client(self) -> AsyncClient:
        return AsyncClient(URL, api_key="thecloud_k", transport=httpx.MockTransport(self))


def states(*statuses: str, reason: str = "") -> list[httpx.Response]:
    return [ok(instance(s, status_reason=reason if s == "ERROR" else "")) for s in statuses]


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


def test_launch_sends_the_body_and_the_idempotency_key(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    launched = api.client().instances.launch(
        "web",
        "alpine",
        instance_type="basic-1",
        ports=["8080:80", "0:22"],
        env={"MODE": "prod", "DEBUG": "0"},
        cmd=["sleep", "100"],
        labels={"team": "blue"},
        metadata={"owner": "ada"},
        idempotency_key="launch-1",
    )
    assert launched["status"] == "STARTING"
    request = api.requests[0]
    assert request.headers["Idempotency-Key"] == "launch-1"
    assert json.loads(request.content) == {
        "name": "web",
        "image": "alpine",
        "instance_type": "basic-1",
        "ports": "8080:80,0:22",
        "env": ["MODE=prod", "DEBUG=0"],
        "cmd": ["sleep", "100"],
        "labels": {"team": "blue"},
        "metadata": {"owner": "ada"},
    }


def test_launch_sends_only_what_was_given(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    api.client().instances.launch("web", "alpine", ports="8080:80", env=["A=1"])
    sent = json.loads(api.requests[0].content)
    assert sent == {"name": "web", "image": "alpine", "ports": "8080:80", "env": ["A=1"]}
    assert "idempotency-key" not in api.requests[0].headers


def test_wait_polls_until_running_and_reports_each_change(api: FakeAPI) -> None:
    api.on("GET /instances/i-1", *states("STARTING", "STARTING", "RUNNING"))
    seen: list[str] = []
    got = api.client().instances.wait(
        instance(), timeout=5, interval=0.01, on_status=lambda i: seen.append(i["status"])
    )
    assert got["status"] == "RUNNING"
    assert seen == ["STARTING", "RUNNING"]
    assert len(api.sent("GET /instances/i-1")) == 3


def test_wait_takes_a_name_and_a_single_status(api: FakeAPI) -> None:
    api.on("GET /instances/web", *states("STOPPING", "STOPPED"))
    assert api.client().instances.wait("web", "STOPPED", interval=0.01)["status"] == "STOPPED"


def test_wait_raises_with_the_reason_when_the_instance_fails(api: FakeAPI) -> None:
    api.on("GET /instances/i-1", *states("STARTING", "ERROR", reason="image alpine is MISSING"))
    with pytest.raises(ResourceFailedError) as caught:
        api.client().instances.wait("i-1", timeout=5, interval=0.01)
    exc = caught.value
    assert exc.code == "RESOURCE_FAILED"
    assert exc.message == "instance web (i-1) is ERROR: image alpine is MISSING"
    assert exc.resource["status_reason"] == "image alpine is MISSING"


def test_wait_for_error_itself_does_not_raise(api: FakeAPI) -> None:
    api.on("GET /instances/i-1", *states("ERROR"))
    assert api.client().instances.wait("i-1", ("RUNNING", "ERROR"))["status"] == "ERROR"


def test_wait_raises_when_the_instance_is_deleted_meanwhile(api: FakeAPI) -> None:
    api.on("GET /instances/i-1", *states("DELETING", "DELETED"))
    with pytest.raises(ResourceFailedError, match="is DELETED"):
        api.client().instances.wait("i-1", interval=0.01)


def test_wait_times_out_with_the_last_status(api: FakeAPI) -> None:
    api.on("GET /instances/i-1", *states("STARTING"))
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        api.client().instances.wait("i-1", timeout=0.05, interval=0.01)
    assert time.monotonic() - started < 2
    assert caught.value.code == "WAIT_TIMEOUT"
    assert caught.value.message == (
        "instance web (i-1) is still STARTING after 0.05 s (waiting for RUNNING)"
    )
    assert len(api.sent("GET /instances/i-1")) >= 2


def test_wait_for_deleted_counts_not_found_as_deleted(api: FakeAPI) -> None:
    api.on("GET /instances/i-1", ok(instance("DELETING")), fail(404, "NOT_FOUND", "gone"))
    got = api.client().instances.wait(instance("DELETING"), "DELETED", interval=0.01)
    assert (got["id"], got["status"]) == ("i-1", "DELETED")


def test_wait_for_running_raises_not_found(api: FakeAPI) -> None:
    with pytest.raises(NotFoundError):
        api.client().instances.wait("nope", interval=0.01)


def test_list_sends_filters_and_paging(api: FakeAPI) -> None:
    api.on("GET /instances", ok([instance("RUNNING")], total=3, limit=1, offset=1, has_more=True))
    page = api.client().instances.list(name="web", status="RUNNING", limit=1, offset=1)
    params = dict(api.requests[0].url.params)
    assert params == {"name": "web", "status": "RUNNING", "limit": "1", "offset": "1"}
    assert (page.total, page.has_more, page.next_offset) == (3, True, 2)


def test_iterate_walks_every_page(api: FakeAPI) -> None:
    api.on(
        "GET /instances",
        ok([instance(id="a"), instance(id="b")], total=3, limit=2, offset=0, has_more=True),
        ok([instance(id="c")], total=3, limit=2, offset=2, has_more=False),
    )
    got = [i["id"] for i in api.client().instances.iterate(status="RUNNING", page_size=2)]
    assert got == ["a", "b", "c"]
    assert [r.url.params["offset"] for r in api.requests] == ["0", "2"]
    assert {r.url.params["status"] for r in api.requests} == {"RUNNING"}


@pytest.mark.parametrize(
    ("action", "method", "path", "status"),
    [
        ("stop", "POST", "/instances/web/stop", "STOPPING"),
        ("start", "POST", "/instances/web/start", "STARTING"),
        ("reboot", "POST", "/instances/web/reboot", "REBOOTING"),
        ("terminate", "DELETE", "/instances/web", "DELETING"),
    ],
)
def test_lifecycle_actions(api: FakeAPI, action: str, method: str, path: str, status: str) -> None:
    api.on(f"{method} {path}", ok(instance(status), 202))
    got = getattr(api.client().instances, action)("web")
    assert got["status"] == status
    assert (api.requests[0].method, api.requests[0].url.path) == (method, path)


def test_logs_send_tail_and_since(api: FakeAPI) -> None:
    lines = [{"at": "2030-01-01T00:00:00Z", "stream": "stdout", "text": "hello"}]
    api.on("GET /instances/web/logs", ok(lines))
    since = datetime(2030, 1, 1, tzinfo=UTC)
    assert api.client().instances.logs("web", tail=10, since=since) == lines
    params = dict(api.requests[0].url.params)
    assert params == {"tail": "10", "since": "2030-01-01T00:00:00+00:00"}


def test_images_list_get_and_instance_types(api: FakeAPI) -> None:
    image = {"id": "img-1", "name": "python:3.12", "status": "AVAILABLE", "tenant_id": None}
    kinds = [{"id": "basic-1", "vcpus": 1, "memory_mb": 512}]
    api.on("GET /images", ok([image], total=1, limit=100, offset=0, has_more=False))
    api.on("GET /images/python:3.12", ok(image))
    api.on("GET /instance-types", ok(kinds, total=1, limit=100, offset=0, has_more=False))
    client = api.client()
    assert client.images.list(name="python:3.12").items == [image]
    assert api.requests[0].url.params["name"] == "python:3.12"
    assert client.images.get("python:3.12") == image
    assert api.requests[1].url.raw_path == b"/images/python%3A3.12"
    assert client.instance_types.list().items == kinds


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "INVALID_INPUT", ValidationError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "CONFLICT", ConflictError),
    ],
)
def test_error_envelopes_become_sdk_errors(
    api: FakeAPI, status: int, code: str, kind: type[Exception]
) -> None:
    api.on("POST /instances", fail(status, code, "refused"))
    with pytest.raises(kind) as caught:
        api.client().instances.launch("web", "alpine")
    assert str(caught.value) == "[" + code + "] refused (request id r)"


async def test_async_launch_and_wait(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    api.on("GET /instances/i-1", *states("STARTING", "RUNNING"))
    async with api.async_client() as client:
        launched = await client.instances.launch("web", "alpine", idempotency_key="k-1")
        running = await client.instances.wait(launched, timeout=5, interval=0.01)
    assert running["status"] == "RUNNING"
    assert api.requests[0].headers["Idempotency-Key"] == "k-1"


async def test_async_wait_raises_on_error_and_timeout(api: FakeAPI) -> None:
    api.on("GET /instances/bad", ok(instance("ERROR", id="bad", status_reason="exit 1")))
    api.on("GET /instances/slow", ok(instance("STOPPING", id="slow")))
    async with api.async_client() as client:
        with pytest.raises(ResourceFailedError, match="is ERROR: exit 1"):
            await client.instances.wait("bad", interval=0.01)
        with pytest.raises(WaitTimeoutError, match="still STOPPING"):
            await client.instances.wait("slow", "STOPPED", timeout=0.03, interval=0.01)
