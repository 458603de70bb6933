"""SDK unit tests over httpx.MockTransport: envelopes, errors, retries, pages, headers, SSE."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

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
from thecloud.sdk._core import SSEDecoder

URL = "http://api.test"
Handler = Callable[[httpx.Request], httpx.Response]


def ok(data: Any, status: int = 200, **meta: Any) -> httpx.Response:
    return httpx.Response(status, json={"data": data, "meta": {"request_id": "rid-1", **meta}})


def fail(status: int, code: str, message: str = "nope", **headers: str) -> httpx.Response:
    body = {"error": {"type": code, "code": code, "message": message}, "meta": {"request_id": "r9"}}
    return httpx.Response(status, json=body, headers=headers)


class FakeAPI:
    """Answers from a queue of responses (the last one repeats) and records every request."""

    def __init__(self, *responses: httpx.Response | Handler) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        return answer(request) if callable(answer) else answer

    def client(self, **kwargs: Any) -> Client:
        return Client(URL, transport=httpx.MockTransport(self), **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        return AsyncClient(URL, transport=httpx.MockTransport(self), **kwargs)

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def test_create_sends_json_body_and_unwraps_data() -> None:
    api = FakeAPI(ok({"id": "s1", "name": "db", "value": "[REDACTED]"}, 201))
    with api.client(api_key="thecloud_k") as client:
        secret = client.secrets.create("db", "hunter2", "the db")
    assert secret == {"id": "s1", "name": "db", "value": "[REDACTED]"}
    request = api.requests[0]
    assert (request.method, request.url.path) == ("POST", "/secrets")
    assert api.body() == {"name": "db", "value": "hunter2", "description": "the db"}


def test_api_key_tenant_and_idempotency_headers_are_sent() -> None:
    api = FakeAPI(ok({"id": "k"}, 201))
    client = api.client(api_key="thecloud_abc", tenant_id="t-1")
    client.keys.create("ci", idempotency_key="idem-1")
    headers = api.requests[0].headers
    assert headers["X-API-Key"] == "thecloud_abc"
    assert headers["X-Tenant-ID"] == "t-1"
    assert headers["Idempotency-Key"] == "idem-1"
    assert "authorization" not in headers


def test_bearer_token_is_sent_and_tenant_can_change_between_calls() -> None:
    api = FakeAPI(ok({"id": "u"}))
    client = api.client(token="jwt-1")
    client.auth.me()
    client.tenant_id = "t-2"
    client.auth.me()
    assert api.requests[0].headers["Authorization"] == "Bearer jwt-1"
    assert "x-tenant-id" not in api.requests[0].headers
    assert api.requests[1].headers["X-Tenant-ID"] == "t-2"


def test_requests_without_credentials_send_no_auth_headers() -> None:
    api = FakeAPI(ok({"token": "jwt"}))
    api.client().auth.login("a@example.com", "pw")
    assert "x-api-key" not in api.requests[0].headers
    assert "authorization" not in api.requests[0].headers


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "INVALID_INPUT", ValidationError),
        (422, "INVALID_INPUT", ValidationError),
        (401, "UNAUTHORIZED", UnauthorizedError),
        (403, "FORBIDDEN", ForbiddenError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "CONFLICT", ConflictError),
        (429, "QUOTA_EXCEEDED", RateLimitedError),
        (500, "INTERNAL", ServerError),
        (503, "BACKEND_UNAVAILABLE", ServerError),
        (413, "PAYLOAD_TOO_LARGE", CloudAPIError),
    ],
)
def test_error_envelope_maps_to_exception_class(
    status: int, code: str, kind: type[CloudAPIError]
) -> None:
    api = FakeAPI(fail(status, code, "it went wrong"))
    with pytest.raises(kind) as caught:
        api.client().secrets.get("x")
    exc = caught.value
    assert type(exc) is kind
    assert (exc.status, exc.code, exc.message, exc.request_id) == (
        status,
        code,
        "it went wrong",
        "r9",
    )


def test_error_without_envelope_keeps_status_and_text() -> None:
    api = FakeAPI(httpx.Response(502, text="bad gateway", headers={"X-Request-ID": "hdr-rid"}))
    with pytest.raises(ServerError) as caught:
        api.client().health.live()
    assert caught.value.code == "HTTP_502"
    assert caught.value.message == "bad gateway"
    assert caught.value.request_id == "hdr-rid"


def test_error_str_names_code_and_request_id() -> None:
    api = FakeAPI(fail(404, "NOT_FOUND", "secret x not found"))
    with pytest.raises(NotFoundError) as caught:
        api.client().secrets.get("x")
    assert str(caught.value) == "[NOT_FOUND] secret x not found (request id r9)"


def test_rate_limited_is_retried_after_retry_after() -> None:
    limited = fail(429, "RATE_LIMITED", **{"Retry-After": "0"})
    api = FakeAPI(limited, limited, ok({"id": "me"}))
    assert api.client(max_retries=2).auth.me() == {"id": "me"}
    assert len(api.requests) == 3


def test_unavailable_with_retry_after_is_retried() -> None:
    api = FakeAPI(fail(503, "BACKEND_UNAVAILABLE", **{"Retry-After": "0"}), ok({"id": "me"}))
    assert api.client().auth.me() == {"id": "me"}
    assert len(api.requests) == 2


def test_retries_are_bounded_and_the_last_error_is_raised() -> None:
    api = FakeAPI(fail(429, "RATE_LIMITED", **{"Retry-After": "0"}))
    with pytest.raises(RateLimitedError) as caught:
        api.client(max_retries=2).auth.me()
    assert len(api.requests) == 3
    assert caught.value.retry_after == 0.0


def test_retry_after_longer_than_allowed_is_not_waited_for() -> None:
    api = FakeAPI(fail(429, "RATE_LIMITED", **{"Retry-After": "120"}))
    with pytest.raises(RateLimitedError) as caught:
        api.client(max_retry_wait=5).auth.me()
    assert len(api.requests) == 1
    assert caught.value.retry_after == 120.0


def test_too_many_requests_without_retry_after_is_not_retried() -> None:
    api = FakeAPI(fail(429, "QUOTA_EXCEEDED"))
    with pytest.raises(RateLimitedError):
        api.client().secrets.create("a", "b")
    assert len(api.requests) == 1


def test_list_returns_page_with_meta() -> None:
    api = FakeAPI(ok([{"id": "a"}, {"id": "b"}], total=5, limit=2, offset=0, has_more=True))
    page = api.client().secrets.list(limit=2, name="db")
    assert page.items == [{"id": "a"}, {"id": "b"}]
    assert (page.total, page.limit, page.offset, page.has_more) == (5, 2, 0, True)
    assert page.next_offset == 2
    assert dict(api.requests[0].url.params) == {"limit": "2", "name": "db"}


def paged(items: list[int]) -> Handler:
    """A list endpoint over `items` honouring limit and offset."""

    def handle(request: httpx.Request) -> httpx.Response:
        limit, offset = int(request.url.params["limit"]), int(request.url.params["offset"])
        chunk = [{"n": n} for n in items[offset : offset + limit]]
        more = offset + limit < len(items)
        return ok(chunk, total=len(items), limit=limit, offset=offset, has_more=more)

    return handle


def test_iterate_walks_every_page() -> None:
    api = FakeAPI(paged(list(range(7))))
    got = [item["n"] for item in api.client().rbac.iterate_roles(page_size=3)]
    assert got == list(range(7))
    assert [r.url.params["offset"] for r in api.requests] == ["0", "3", "6"]


def test_delete_returns_none_on_no_content() -> None:
    api = FakeAPI(httpx.Response(204))
    assert api.client().secrets.delete("db") is None
    assert (api.requests[0].method, api.requests[0].url.path) == ("DELETE", "/secrets/db")


def test_path_segments_are_percent_encoded() -> None:
    api = FakeAPI(ok({"id": "s"}))
    api.client().secrets.get("a b/c")
    assert api.requests[0].url.raw_path == b"/secrets/a%20b%2Fc"


def test_oauth2_token_body_is_not_an_envelope() -> None:
    token = {"access_token": "jwt", "token_type": "Bearer", "expires_in": 3600}
    api = FakeAPI(httpx.Response(200, json=token))
    assert api.client().service_accounts.token("sa-1", "tcs_x") == token
    assert api.body() == {
        "grant_type": "client_credentials",
        "client_id": "sa-1",
        "client_secret": "tcs_x",
    }


def test_attach_paths_for_users_and_service_accounts() -> None:
    api = FakeAPI(ok({"id": "att"}, 201))
    client = api.client()
    client.iam.attach("user", "u1", "p1")
    client.iam.attach("service_account", "sa1", "p1")
    paths = [r.url.path for r in api.requests]
    assert paths == ["/iam/users/u1/policies/p1", "/iam/service-accounts/sa1/policies/p1"]


def test_audit_filters_are_sent_as_query_parameters() -> None:
    api = FakeAPI(ok([], total=0, limit=100, offset=0, has_more=False))
    since = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    api.client().audit.list(action="secret:create", since=since)
    params = dict(api.requests[0].url.params)
    assert params == {"action": "secret:create", "since": "2030-01-02T03:04:05+00:00"}


def test_quota_set_sends_only_given_limits() -> None:
    api = FakeAPI(ok([{"resource": "instances", "limit": 3, "used": 0, "available": 3}]))
    lines = api.client().quotas.set(instances=3)
    assert lines[0]["limit"] == 3
    assert (api.requests[0].method, api.body()) == ("PUT", {"instances": 3})


def test_transport_failure_becomes_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(APIConnectionError) as caught:
        FakeAPI(refuse).client().auth.me()
    assert caught.value.code == "CONNECTION_ERROR"
    assert caught.value.status == 0


def test_sse_decoder_parses_fields_comments_and_multiline_data() -> None:
    decoder = SSEDecoder()
    lines = [": connected", "", "id: 7", "event: secret.create", 'data: {"seq":', "data: 7}", ""]
    messages = [m for m in (decoder.feed(line) for line in lines) if m is not None]
    assert messages == [{"id": "7", "event": "secret.create", "data": {"seq": 7}}]


SSE_BODY = (
    b": connected\n\n"
    b'id: 1\nevent: secret.create\ndata: {"seq": 1, "type": "secret.create"}\n\n'
    b'id: 2\nevent: secret.delete\ndata: {"seq": 2, "type": "secret.delete"}\n\n'
)


def test_event_stream_yields_each_message() -> None:
    api = FakeAPI(
        httpx.Response(200, content=SSE_BODY, headers={"content-type": "text/event-stream"})
    )
    events = list(api.client(api_key="k").events.stream(after=0))
    assert [e["data"]["type"] for e in events] == ["secret.create", "secret.delete"]
    assert events[1]["id"] == "2"
    assert api.requests[0].url.params["after"] == "0"


def test_event_stream_error_is_raised_before_any_event() -> None:
    api = FakeAPI(fail(403, "FORBIDDEN"))
    with pytest.raises(ForbiddenError):
        next(iter(api.client().events.stream()))


async def test_async_client_unwraps_and_sends_headers() -> None:
    api = FakeAPI(ok({"id": "s1"}, 201))
    async with api.async_client(api_key="thecloud_a", tenant_id="t-9") as client:
        secret = await client.secrets.create("db", "v", idempotency_key="i-1")
    assert secret == {"id": "s1"}
    headers = api.requests[0].headers
    assert (headers["X-API-Key"], headers["X-Tenant-ID"], headers["Idempotency-Key"]) == (
        "thecloud_a",
        "t-9",
        "i-1",
    )


async def test_async_client_maps_errors() -> None:
    api = FakeAPI(fail(409, "CONFLICT", "exists"))
    async with api.async_client() as client:
        with pytest.raises(ConflictError) as caught:
            await client.tenants.create("a", "a")
    assert caught.value.message == "exists"


async def test_async_client_retries_rate_limits() -> None:
    api = FakeAPI(fail(429, "RATE_LIMITED", **{"Retry-After": "0"}), ok({"id": "me"}))
    async with api.async_client() as client:
        assert await client.auth.me() == {"id": "me"}
    assert len(api.requests) == 2


async def test_async_iterate_and_page() -> None:
    api = FakeAPI(paged(list(range(5))))
    async with api.async_client() as client:
        got = [item["n"] async for item in client.events.iterate(page_size=2)]
        page = await client.events.list(limit=2, offset=4)
    assert got == list(range(5))
    assert (page.items, page.has_more) == ([{"n": 4}], False)


async def test_async_event_stream_yields_each_message() -> None:
    api = FakeAPI(httpx.Response(200, content=SSE_BODY))
    async with api.async_client() as client:
        events = [e async for e in client.events.stream()]
    assert [e["data"]["seq"] for e in events] == [1, 2]


async def test_async_delete_returns_none() -> None:
    api = FakeAPI(httpx.Response(204))
    async with api.async_client() as client:
        assert await client.rbac.unbind("b1") is None
    assert api.requests[0].url.path == "/rbac/bindings/b1"
