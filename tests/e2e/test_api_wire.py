"""Wire conventions over HTTP: request ids, envelopes, idempotency, pagination, input errors."""

from __future__ import annotations

import socket
import uuid

import httpx
import pytest

from tests.e2e.conftest import Server, assert_error

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_request_id_is_honoured_and_echoed(client: httpx.Client) -> None:
    rid = f"e2e-{uuid.uuid4().hex}"
    r = client.get("/auth/me", headers={"X-Request-ID": rid, "traceparent": TRACEPARENT})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == rid == r.json()["meta"]["request_id"]
    assert r.headers["traceparent"] == TRACEPARENT
    assert r.json()["meta"]["timestamp"].endswith("Z")


def test_request_id_is_generated_when_absent_or_unusable(client: httpx.Client) -> None:
    first, second = (
        client.get("/auth/me"),
        client.get("/auth/me", headers={"X-Request-ID": "bad id!"}),
    )
    for r in (first, second):
        generated = r.headers["x-request-id"]
        assert str(uuid.UUID(generated)) == generated == r.json()["meta"]["request_id"]
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    assert "traceparent" not in first.headers


def test_error_responses_carry_the_request_id(client: httpx.Client) -> None:
    r = client.get(
        "/secrets/absent", headers={"X-Request-ID": "err-rid-1", "traceparent": TRACEPARENT}
    )
    assert_error(r, 404, "NOT_FOUND")
    assert r.json()["meta"]["request_id"] == "err-rid-1"
    assert r.headers["traceparent"] == TRACEPARENT


def test_create_is_201_and_delete_is_204(client: httpx.Client) -> None:
    r = client.post("/secrets", json={"name": "short-lived", "value": "v"})
    assert r.status_code == 201 and set(r.json()) == {"data", "meta"}
    r = client.delete(f"/secrets/{r.json()['data']['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_error(client.get("/secrets/short-lived"), 404, "NOT_FOUND")


def test_idempotency_key_replays_the_first_response(client: httpx.Client) -> None:
    headers = {"Idempotency-Key": f"idem-{uuid.uuid4().hex}"}
    body = {"name": "once", "value": "v"}
    first = client.post("/secrets", json=body, headers=headers)
    again = client.post("/secrets", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert client.get("/secrets").json()["meta"]["total"] == 1
    other = client.post("/secrets", json={**body, "value": "different"}, headers=headers)
    assert_error(other, 409, "CONFLICT")


def test_a_replayable_new_api_key_is_not_stored_in_clear(
    server: Server, client: httpx.Client
) -> None:
    headers = {"Idempotency-Key": f"idem-{uuid.uuid4().hex}"}
    first = client.post("/auth/keys", json={"name": "ci"}, headers=headers)
    again = client.post("/auth/keys", json={"name": "ci"}, headers=headers)
    raw = first.json()["data"]["key"]
    assert again.json()["data"]["key"] == raw
    stored = b"".join(p.read_bytes() for p in server.data_dir.glob("*.db*"))
    assert stored and raw.encode() not in stored


def test_without_idempotency_key_a_repeat_is_a_conflict(client: httpx.Client) -> None:
    assert client.post("/secrets", json={"name": "twice", "value": "v"}).status_code == 201
    assert_error(client.post("/secrets", json={"name": "twice", "value": "v"}), 409, "CONFLICT")


def test_lists_paginate_with_total_and_has_more(client: httpx.Client) -> None:
    for i in range(7):
        assert client.post("/secrets", json={"name": f"page-{i}", "value": "v"}).status_code == 201
    r = client.get("/secrets", params={"limit": 3, "offset": 3})
    meta = r.json()["meta"]
    assert (meta["total"], meta["limit"], meta["offset"], meta["has_more"]) == (7, 3, 3, True)
    assert len(r.json()["data"]) == 3
    last = client.get("/secrets", params={"limit": 3, "offset": 6}).json()
    assert (len(last["data"]), last["meta"]["has_more"]) == (1, False)
    pages = [
        client.get("/secrets", params={"limit": 3, "offset": o}).json()["data"] for o in (0, 3, 6)
    ]
    assert len({s["id"] for page in pages for s in page}) == 7
    assert client.get("/secrets", params={"name": "page-4"}).json()["meta"]["total"] == 1


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}])
def test_bad_page_parameters_are_400(client: httpx.Client, params: dict[str, object]) -> None:
    error = assert_error(client.get("/secrets", params=params), 400, "INVALID_INPUT")
    assert next(iter(params)) in str(error["message"])


def test_unknown_field_is_400_naming_it(client: httpx.Client) -> None:
    r = client.post("/secrets", json={"name": "n", "value": "v", "colour": "blue"})
    assert "colour" in str(assert_error(r, 400, "INVALID_INPUT")["message"])


def test_malformed_json_is_400(client: httpx.Client) -> None:
    r = client.post(
        "/secrets", content=b'{"name": "n",', headers={"Content-Type": "application/json"}
    )
    assert "malformed JSON" in str(assert_error(r, 400, "INVALID_INPUT")["message"])


@pytest.mark.parametrize(
    "body",
    [{"name": 5, "value": "v"}, {"name": "n", "value": ["v"]}, {"name": "n"}, [], "text"],
    ids=["int-name", "list-value", "missing-value", "array", "string"],
)
def test_wrong_types_are_400(client: httpx.Client, body: object) -> None:
    assert_error(client.post("/secrets", json=body), 400, "INVALID_INPUT")


def test_oversized_body_is_413(client: httpx.Client) -> None:
    big = {"name": "big", "value": "x" * (1024 * 1024 + 1)}
    assert_error(client.post("/secrets", json=big), 413, "PAYLOAD_TOO_LARGE")


def test_oversized_chunked_body_is_413(client: httpx.Client) -> None:
    def chunks() -> object:
        for _ in range(20):
            yield b"x" * 65536

    r = client.post("/secrets", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_unknown_route_is_404_envelope(server: Server) -> None:
    assert_error(httpx.get(f"{server.url}/no/such/route"), 404, "NOT_FOUND")


def test_wrong_method_is_405_envelope(client: httpx.Client) -> None:
    assert_error(client.patch("/secrets"), 405, "METHOD_NOT_ALLOWED")
    assert_error(client.delete("/auth/me"), 405, "METHOD_NOT_ALLOWED")


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    """Send `request`, then read until the server closes the connection (or 10 s pass)."""
    sock.sendall(request)
    sock.settimeout(10)
    got = b""
    while chunk := sock.recv(65536):
        got += chunk
    return got


def test_an_answer_before_a_withheld_body_closes_the_connection(server: Server) -> None:
    """curl (bodies over 1 MiB) and botocore send `Expect: 100-continue` and hold the body
    back. Refused before it was asked for, the body never comes: the connection closes
    rather than take the next request for that body."""
    host, port = server.url.removeprefix("http://").split(":")
    head = (
        b"PUT /storage/some-bucket/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Expect: 100-continue\r\n\r\n"
    )
    follow = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((host, int(port))) as sock:
        got = _exchange(sock, head)  # no credentials: 401 at once, and the server hangs up
    status, _, rest = got.partition(b"\r\n")
    assert status == b"HTTP/1.1 401 Unauthorized"
    assert b"connection: close" in rest.lower()
    # with the body asked for (a JSON route reads it), keep-alive is kept
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        sock.settimeout(10)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"{}" + follow)
        got = b""
        while got.count(b"HTTP/1.1 ") < 2:
            got += sock.recv(65536)
    assert b"HTTP/1.1 422" in got or b"HTTP/1.1 400" in got.split(b"\r\n\r\n")[0]
    assert b"HTTP/1.1 200 OK" in got  # the health check on the same connection
