"""Sending S3 answers over raw ASGI: status, headers, XML or streamed bodies, and errors in
S3's XML form with S3's codes and statuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from datetime import datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from thecloud.domain.errors import (
    BackendUnavailable,
    CloudError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from thecloud.entrypoints.s3 import xml_out

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Headers = list[tuple[bytes, bytes]]

# S3's status for each code it can answer (codes not listed take their class's status).
STATUS: dict[str, int] = {
    "AccessDenied": 403, "AccountProblem": 403, "InvalidAccessKeyId": 403,
    "SignatureDoesNotMatch": 403, "RequestTimeTooSkewed": 403, "QuotaExceeded": 403,
    "NoSuchBucket": 404, "NoSuchKey": 404, "NoSuchUpload": 404, "NoSuchVersion": 404,
    "NoSuchTagSet": 404, "NoSuchCORSConfiguration": 404, "NoSuchLifecycleConfiguration": 404,
    "ServerSideEncryptionConfigurationNotFoundError": 404, "NoSuchBucketPolicy": 404,
    "MethodNotAllowed": 405, "BucketNotEmpty": 409, "BucketAlreadyExists": 409,
    "BucketAlreadyOwnedByYou": 409, "OperationAborted": 409, "MissingContentLength": 411,
    "PreconditionFailed": 412, "InvalidRange": 416, "NotModified": 304,
    "InternalError": 500, "NotImplemented": 501, "SlowDown": 503, "ServiceUnavailable": 503,
    "EntityTooLarge": 400, "AccessForbidden": 403, "InvalidToken": 400,
}  # fmt: skip

_BY_CLASS: list[tuple[type[CloudError], str]] = [
    (RateLimited, "SlowDown"),
    (BackendUnavailable, "ServiceUnavailable"),
    (QuotaExceeded, "QuotaExceeded"),
    (PayloadTooLarge, "EntityTooLarge"),
    (Unauthorized, "AccessDenied"),
    (Forbidden, "AccessDenied"),
    (NotFound, "NoSuchKey"),
    (Conflict, "OperationAborted"),
    (InvalidInput, "InvalidArgument"),
]


def s3_code(exc: CloudError) -> str:
    code = exc.details.get("s3_code")
    if isinstance(code, str):
        return code
    return next((c for kind, c in _BY_CLASS if isinstance(exc, kind)), "InternalError")


def status_of(code: str, exc: CloudError) -> int:
    if code in STATUS:
        return STATUS[code]
    if isinstance(exc, InvalidInput):
        return 400
    return 500


@lru_cache(maxsize=4096)
def http_date(when: datetime) -> str:
    """RFC 7231's date (Last-Modified), kept for times asked again: a GET of an object asks
    for the same one each time."""
    return format_datetime(when, usegmt=True)


def header_list(headers: dict[str, str]) -> Headers:
    return [(k.encode("latin-1"), v.encode("latin-1", "replace")) for k, v in headers.items()]


async def respond(
    send: Send, status: int, headers: dict[str, str], body: bytes = b"", head: bool = False
) -> None:
    headers = {**headers, "content-length": str(len(body))}
    await send({"type": "http.response.start", "status": status, "headers": header_list(headers)})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def respond_xml(send: Send, body: bytes, headers: dict[str, str] | None = None) -> None:
    await respond(send, 200, {**(headers or {}), "content-type": "application/xml"}, body)


async def stream(
    send: Send,
    status: int,
    headers: dict[str, str],
    body: AsyncIterator[bytes],
    first: bytes,
    receive: Receive | None = None,
) -> None:
    """Send the headers, then `first` and the rest of the body piece by piece (the server
    applies backpressure).

    A client that goes away mid-body stops the reading: the server drops what is sent on a
    closed connection without a word, so a listener on `receive` notes the disconnect
    (from the second piece on: a body of one piece costs no task), and the body is
    closed at once, with its file, instead of read and decrypted to the end for nobody.
    """
    await send({"type": "http.response.start", "status": status, "headers": header_list(headers)})
    if first:
        await send({"type": "http.response.body", "body": first, "more_body": True})
    gone: asyncio.Task[None] | None = None
    try:
        async for piece in body:
            if gone is None and receive is not None:
                gone = asyncio.ensure_future(_disconnect(receive))
            elif gone is not None and gone.done():
                return
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        if gone is not None:
            gone.cancel()
        closing = getattr(body, "aclose", None)
        if closing is not None:
            await closing()


async def _disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def error_body(exc: CloudError, resource: str, request_id: str) -> tuple[int, str, bytes]:
    code = s3_code(exc)
    extra = {
        _camel(k): str(v)
        for k, v in exc.details.items()
        if k not in ("s3_code", "delete_marker", "size") and v not in (None, "")
    }
    body = xml_out.error(code, exc.message, resource, request_id, extra)
    return status_of(code, exc), code, body


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))
