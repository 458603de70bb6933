"""Audit log and events over HTTP, live events over WebSocket and server-sent events."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import Server, assert_error

WAIT = 10.0


def _ws_url(server: Server, query: str = "") -> str:
    return server.url.replace("http://", "ws://") + "/ws/events" + query


def _create_secret(client: httpx.Client, name: str, **headers: str) -> str:
    r = client.post("/secrets", json={"name": name, "value": "v"}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


def test_audit_records_who_did_what_from_where(client: httpx.Client, user: dict[str, str]) -> None:
    rid = f"audit-{uuid.uuid4().hex}"
    sid = _create_secret(client, "audited", **{"X-Request-ID": rid})
    assert client.delete(f"/secrets/{sid}").status_code == 204
    records = client.get("/audit", params={"resource_id": sid}).json()["data"]
    assert [r["action"] for r in records] == ["secret:delete", "secret:create"]
    created = records[1]
    assert created["actor_id"] == user["user_id"] and created["actor_type"] == "user"
    assert (created["resource_type"], created["resource_id"]) == ("secret", sid)
    assert (created["source_ip"], created["request_id"]) == ("127.0.0.1", rid)
    assert created["tenant_id"] == user["tenant_id"] and created["outcome"] == "success"


def test_audit_filters_and_paginates(client: httpx.Client) -> None:
    for i in range(4):
        _create_secret(client, f"filtered-{i}")
    assert (
        client.post("/rbac/roles", json={"name": "auditor", "permissions": []}).status_code == 201
    )
    creates = client.get("/audit", params={"action": "secret:create"}).json()
    assert creates["meta"]["total"] == 4
    assert {r["action"] for r in creates["data"]} == {"secret:create"}
    roles = client.get("/audit", params={"resource_type": "role"}).json()["data"]
    assert [r["action"] for r in roles] == ["role:create"]
    page = client.get("/audit", params={"action": "secret:create", "limit": 3, "offset": 3}).json()
    assert (len(page["data"]), page["meta"]["total"], page["meta"]["has_more"]) == (1, 4, False)
    first = client.get("/audit", params={"limit": 1}).json()
    assert first["meta"]["has_more"] is True and first["data"][0]["action"] == "role:create"


def test_viewer_cannot_read_the_audit_log(
    member: Callable[[str], tuple[dict[str, str], httpx.Client]],
) -> None:
    _, as_viewer = member("viewer")
    assert_error(as_viewer.get("/audit"), 403, "FORBIDDEN")
    assert as_viewer.get("/events").status_code == 200


def test_events_list_the_tenants_changes(client: httpx.Client) -> None:
    sid = _create_secret(client, "evented")
    events = client.get("/events", params={"resource_id": sid}).json()["data"]
    assert [(e["type"], e["resource_type"]) for e in events] == [("secret.create", "secret")]
    by_type = client.get("/events", params={"type": "secret.create"}).json()
    assert by_type["meta"]["total"] == 1 and by_type["data"][0]["seq"] > 0


def _next_event(ws: ClientConnection, deadline: float) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(ws.recv(timeout=max(0.0, deadline - time.monotonic())))
    return event


def test_websocket_with_header_key_receives_new_events(
    server: Server, client: httpx.Client, user: dict[str, str]
) -> None:
    with connect(_ws_url(server), additional_headers={"X-API-Key": user["api_key"]}) as ws:
        sid = _create_secret(client, "ws-header")
        event = _next_event(ws, time.monotonic() + WAIT)
    assert (event["type"], event["resource_id"]) == ("secret.create", sid)
    assert event["tenant_id"] == user["tenant_id"] and event["data"] == {"name": "ws-header"}


def test_websocket_stream_is_tenant_scoped(
    server: Server, client: httpx.Client, user: dict[str, str]
) -> None:
    bob = server.register("bob")
    with connect(_ws_url(server, f"?api_key={bob['api_key']}")) as ws, server.api(bob) as as_bob:
        _create_secret(client, "alice-only")
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1.5)  # alice's event never reaches bob's stream
        bobs = _create_secret(as_bob, "bob-own")
        event = _next_event(ws, time.monotonic() + WAIT)
    assert (event["resource_id"], event["tenant_id"]) == (bobs, bob["tenant_id"])


@pytest.mark.parametrize("query", ["?api_key=thecloud_" + "0" * 32, ""], ids=["bad-key", "none"])
def test_websocket_without_a_valid_key_is_closed_4401(server: Server, query: str) -> None:
    with connect(_ws_url(server, query)) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=WAIT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def _sse_events(lines: Any, deadline: float) -> dict[str, Any]:
    """The first `data:` frame of an SSE stream, or fail at the deadline."""
    for line in lines:
        if line.startswith("data: "):
            event: dict[str, Any] = json.loads(line[len("data: ") :])
            return event
        assert time.monotonic() < deadline, "no SSE event before the deadline"
    raise AssertionError("SSE stream ended without an event")


def test_sse_stream_receives_new_events(
    server: Server, client: httpx.Client, user: dict[str, str]
) -> None:
    headers = {"X-API-Key": user["api_key"]}
    timeout = httpx.Timeout(WAIT)
    with httpx.stream("GET", f"{server.url}/events/stream", headers=headers, timeout=timeout) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines) == ": connected"
        sid = _create_secret(client, "sse-made")
        event = _sse_events(lines, time.monotonic() + WAIT)
    assert (event["type"], event["resource_id"]) == ("secret.create", sid)


def test_sse_stream_needs_credentials(server: Server) -> None:
    assert_error(httpx.get(f"{server.url}/events/stream"), 401, "UNAUTHORIZED")


def test_server_stops_promptly_after_stream_clients_leave(spawn: Callable[..., Server]) -> None:
    srv = spawn()
    who = srv.register("streamer")
    with connect(_ws_url(srv), additional_headers={"X-API-Key": who["api_key"]}) as ws:
        ws.ping().wait(WAIT)
    headers = {"X-API-Key": who["api_key"]}
    with httpx.stream("GET", f"{srv.url}/events/stream", headers=headers, timeout=WAIT) as r:
        assert next(r.iter_lines()) == ": connected"
    srv.process.terminate()
    assert srv.process.wait(5) is not None  # no handler left waiting on a quiet stream


def test_times_without_an_offset_are_read_as_utc(client: httpx.Client) -> None:
    for path in ("/audit", "/events"):
        naive = client.get(path, params={"since": "2000-01-01T00:00:00"})
        aware = client.get(path, params={"since": "2000-01-01T00:00:00Z"})
        assert naive.status_code == aware.status_code == 200, naive.text
        assert naive.json()["meta"]["total"] == aware.json()["meta"]["total"] > 0
        future = client.get(path, params={"since": "2999-01-01T00:00:00"}).json()
        assert future["meta"]["total"] == 0
