"""The S3 endpoint: a lean ASGI app (no web framework) that finds the bucket and key
(path-style or virtual-hosted), authenticates SigV4/SigV2 (header or presigned), routes to
the operation and answers errors in S3's XML."""

from __future__ import annotations

import itertools
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from urllib.parse import unquote

from thecloud.bootstrap import Container
from thecloud.domain.common import RequestContext
from thecloud.domain.errors import CloudError
from thecloud.domain.identity import Principal
from thecloud.domain.objects import S3Invalid
from thecloud.entrypoints.s3 import bucket_ops, sigv4
from thecloud.entrypoints.s3.request import S3Request, SigningContext
from thecloud.entrypoints.s3.responses import Receive, Send, error_body, respond

log = logging.getLogger(__name__)
Handler = Callable[["Call"], Awaitable[None]]


# x-amz-request-id: 16 hex digits, unique to the request: this process's random half, then
# its count (a fresh random number each time was 5% of a GET's CPU)
_ID_PREFIX, _ID_COUNT = secrets.token_hex(4).upper(), itertools.count()


def _request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNT) & 0xFFFFFFFF:08X}"


def _continued(call: Call, receive: Receive) -> Receive:
    """`receive`, noting on `call` that the body was asked for (the server then sends
    "100 Continue" and the client the body)."""

    async def asked() -> MutableMapping[str, Any]:
        call.withheld = False
        return await receive()

    return asked


def _fresh_ids() -> None:  # a forked child counts under its own prefix
    global _ID_PREFIX, _ID_COUNT  # noqa: PLW0603
    _ID_PREFIX, _ID_COUNT = secrets.token_hex(4).upper(), itertools.count()


os.register_at_fork(after_in_child=_fresh_ids)


@dataclass
class Call:
    """One S3 request on its way through: who, what bucket and key, and how to answer."""

    req: S3Request
    receive: Receive
    send: Send
    container: Container
    bucket: str
    key: str
    request_id: str
    secure: bool
    principal: Principal | None = None
    signing: SigningContext | None = None
    started: bool = False
    host_bucket: str | None = None  # the bucket a virtual-hosted Host names
    bad_uri: bool = False  # the path is not UTF-8 once decoded
    extra_headers: dict[str, str] = field(default_factory=dict)
    withheld: bool = False  # the client waits for "100 Continue" before it sends the body

    def q(self, name: str) -> str | None:
        """The first value of query parameter `name`, or None when it is absent."""
        for key, value in self.req.query:
            if key == name:
                return value
        return None

    def integer(self, name: str, default: int, top: int) -> int:
        """A non-negative integer query parameter, at most `top` (larger values are `top`)."""
        raw = self.q(name)
        if raw is None or raw == "":
            return default
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
            raise S3Invalid("InvalidArgument", f"{name} must be an integer between 0 and {top}")
        return min(int(raw), top)

    def has(self, name: str) -> bool:
        return name in self.names

    @cached_property
    def names(self) -> frozenset[str]:
        """The query's parameter names (routing asks for thirty-odd sub-resources)."""
        return frozenset(key for key, _ in self.req.query)

    def header(self, name: str, default: str = "") -> str:
        return self.req.headers.get(name, default)

    @property
    def signed_in(self) -> Principal:
        if self.principal is None:
            from thecloud.domain.objects import S3Forbidden

            raise S3Forbidden("AccessDenied", "Access Denied: this call must be signed")
        return self.principal

    def base_headers(self) -> dict[str, str]:
        return {"x-amz-request-id": self.request_id, "x-amz-id-2": self.request_id,
                **self.extra_headers}  # fmt: skip


def locate(req: S3Request, domains: list[str]) -> tuple[str, str, str | None]:
    """(bucket, key, bucket named by the Host or None): virtual-hosted when the Host is
    `<bucket>.<domain>` for a configured domain, else path-style `/<bucket>/<key>`."""
    host = req.host.rsplit(":", 1)[0] if not req.host.startswith("[") else req.host
    path = unquote(req.raw_path, errors="strict")
    for domain in domains:
        suffix = "." + domain
        if host.endswith(suffix) and len(host) > len(suffix):
            return host[: -len(suffix)], path[1:], host[: -len(suffix)]
    _, _, rest = path.partition("/")
    bucket, _, key = rest.partition("/")
    return bucket, key, None


class S3App:
    """ASGI app of the S3 endpoint, over the same container as the REST API."""

    def __init__(self, container: Container) -> None:
        from thecloud.entrypoints.s3.routes import route

        self._container, self._route = container, route
        self._domains = list(container.settings.s3_domains)
        self._verified = sigv4.VerifiedRequests()

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        call = self._call(scope, receive, send)
        try:
            origin = call.req.headers.get("origin")
            if origin and call.bucket and call.req.method != "OPTIONS":
                call.extra_headers.update(await bucket_ops.cors_for(call, origin))
            call.principal, call.signing = await self._authenticate(call, scope)
            await self._route(call)
        except CloudError as exc:
            await self._fail(call, exc)
        except Exception:
            log.exception("S3 request %s failed", call.request_id)
            await self._fail(
                call, CloudError("We encountered an internal error. Please try again.")
            )

    def _call(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> Call:
        req = S3Request.from_scope(scope)
        request_id = _request_id()
        try:
            bucket, key, from_host = locate(req, self._domains)
        except UnicodeDecodeError:
            bucket, key, from_host = "", "", None
            bad = True
        else:
            bad = False
        secure = scope.get("scheme") == "https"
        call = Call(req, receive, send, self._container, bucket, key, request_id, secure,
                    host_bucket=from_host, bad_uri=bad)  # fmt: skip
        if req.headers.get("expect", "").lower() == "100-continue":
            call.withheld, call.receive = True, _continued(call, receive)
        return call

    async def _authenticate(
        self, call: Call, scope: MutableMapping[str, Any]
    ) -> tuple[Principal | None, SigningContext | None]:
        info = self._verified.parse(call.req)
        if info is None:
            return None, None
        if info.security_token:
            raise S3Invalid("InvalidToken", "Session tokens are not supported here: sign with "
                            "an access key from POST /storage/credentials")  # fmt: skip
        client = scope.get("client") or ("", 0)
        ctx = RequestContext(
            call.request_id, str(client[0]), call.header("user-agent"), call.secure
        )
        signer = await self._container.storage_credentials.signer(info.access_key_id, ctx)
        if call.bad_uri:
            raise S3Invalid("InvalidURI", "Couldn't parse the specified URI.")
        now = datetime.now(UTC)
        signing = self._verified.verify(info, call.req, signer.secret, now, call.host_bucket)
        return signer.principal, signing

    async def _fail(self, call: Call, exc: CloudError) -> None:
        if call.started:  # the body was under way: all we can do is cut the connection
            log.warning("S3 request %s failed mid-response: %s", call.request_id, exc.message)
            return
        resource = f"/{call.bucket}/{call.key}" if call.key else f"/{call.bucket}"
        status, code, body = error_body(exc, resource, call.request_id)
        headers = {**call.base_headers(), "content-type": "application/xml"}
        if exc.details.get("delete_marker"):
            headers["x-amz-delete-marker"] = "true"
            if exc.details.get("version_id"):
                headers["x-amz-version-id"] = str(exc.details["version_id"])
        if code == "InvalidRange":
            headers["content-range"] = f"bytes */{exc.details.get('size', 0)}"
        if call.withheld:
            # answered before the body was asked for: the server sends no "100 Continue", so
            # the client never sends the body, which the connection would then wait for and
            # take the next request's bytes as (RFC 9110 10.1.1): it ends with this answer
            headers["connection"] = "close"
        head = call.req.method == "HEAD" or status == 304
        await respond(call.send, status, headers, body, head=head)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
