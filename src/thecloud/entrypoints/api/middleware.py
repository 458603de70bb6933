"""Pure-ASGI middleware: request ids, body size limit, rate limits, Prometheus metrics, and
closing a connection whose withheld request body was never asked for."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client import Counter, Histogram

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_RID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

REQUESTS = Counter("thecloud_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "thecloud_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    rid: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = orjson.dumps(
        {
            "error": {"type": code, "code": code, "message": message},
            "meta": {"request_id": rid, "timestamp": datetime.now(UTC)},
        },
        option=orjson.OPT_UTC_Z,
    )
    headers = [  # X-Request-ID is added by RequestIdMiddleware, which wraps every other one
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})


class RequestIdMiddleware:
    """Honours or generates X-Request-ID, echoes it and `traceparent` on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        given = _header(scope, b"x-request-id")
        rid = given if given and _RID.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = rid
        echo = [(b"x-request-id", rid.encode())]
        trace = _header(scope, b"traceparent")
        if trace:
            echo.append((b"traceparent", trace.encode("latin-1")))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + echo
            await send(message)

        await self.app(scope, receive, send_with_id)


class WithheldBodyMiddleware:
    """A client that sends `Expect: 100-continue` holds its body back until the server says
    "100 Continue", which uvicorn does when the app first asks for the body. An answer given
    before that (an error: 401, 404, 413...) leaves the connection waiting for a body that
    never comes, and would take the next request's bytes for it: such an answer closes the
    connection (RFC 9110, 10.1.1)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        expect = _header(scope, b"expect") if scope["type"] == "http" else None
        if expect is None or expect.lower() != "100-continue":
            return await self.app(scope, receive, send)
        asked = False

        async def receiving() -> Message:
            nonlocal asked
            asked = True
            return await receive()

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not asked:
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receiving, sending)


class BodyLimitMiddleware:
    """413 in the error envelope for bodies over the limit, declared or streamed. Paths
    matching `streamed` (uploads the route spools to disk with its own limit) pass through."""

    def __init__(self, app: ASGIApp, max_bytes: int, streamed: str = r"^$") -> None:
        self.app, self.max, self.streamed = app, max_bytes, re.compile(streamed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.streamed.match(scope["path"]):
            return await self.app(scope, receive, send)
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max:
            return await self._refuse(scope, send)
        guard = _BodyGuard(receive, send, self.max)
        try:
            await self.app(scope, guard.receive, guard.send)
        except _TooLarge:
            pass
        if guard.over and not guard.started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        rid = scope.get("state", {}).get("request_id", "")
        message = f"request body over {self.max} bytes"
        await send_error(send, 413, "PAYLOAD_TOO_LARGE", message, rid)


class _BodyGuard:
    """Counts the body as the app reads it. Past the limit the read fails and the app's own
    answer (frameworks turn a failed read into a 400) is dropped, so the middleware sends 413."""

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive, self._send, self._limit = receive, send, limit
        self.seen, self.over, self.started = 0, False, False

    async def receive(self) -> Message:
        message = await self._receive()
        self.seen += len(message.get("body", b""))
        if self.seen > self._limit:
            self.over = True
            raise _TooLarge
        return message

    async def send(self, message: Message) -> None:
        if self.over and not self.started:
            return
        self.started = self.started or message["type"] == "http.response.start"
        await self._send(message)


class _TooLarge(Exception):
    pass


class TokenBuckets:
    """Per-key token buckets: `rate` requests per second, bursts of `rate * burst_seconds`."""

    def __init__(self, rate: float, burst_seconds: float) -> None:
        self.rate, self.capacity = rate, max(rate * burst_seconds, 1.0)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 if allowed, else the seconds until a token is free."""
        now = time.monotonic()
        tokens, stamp = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 100_000:
            self._buckets.clear()
        return 0.0


class RateLimitMiddleware:
    """429 RATE_LIMITED with Retry-After, per client IP and per API key or token."""

    def __init__(self, app: ASGIApp, per_ip: float, per_key: float, burst_seconds: float) -> None:
        self.app = app
        self.ip = TokenBuckets(per_ip, burst_seconds)
        self.key = TokenBuckets(per_key, burst_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith("/health"):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        credential = _header(scope, b"x-api-key") or _header(scope, b"authorization")
        wait = self.ip.take(client)
        if not wait and credential:
            wait = self.key.take(credential)
        if wait:
            rid = scope.get("state", {}).get("request_id", "")
            retry = [(b"retry-after", str(int(wait) + 1).encode())]
            return await send_error(
                send, 429, "RATE_LIMITED", f"too many requests; retry in {wait:.2f} s", rid, retry
            )
        await self.app(scope, receive, send)


class MetricsMiddleware:
    """Counts and times requests by route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start, status = time.perf_counter(), 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - start)
