"""Shared by the sync and async clients: calls, requests, response parsing, retries, SSE."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from thecloud.sdk._upload import Upload
from thecloud.sdk.errors import (
    APIConnectionError,
    CloudAPIError,
    error_from_response,
    parse_retry_after,
)

JSON = dict[str, Any]
DEFAULT_URL = "http://localhost:8080"
USER_AGENT = "thecloud-sdk/0.1"
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True, slots=True)
class Call:
    """One API call, before it is sent: what both clients execute."""

    method: str
    path: str
    json: Any = None
    params: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    enveloped: bool = True
    timeout: float | None = None  # seconds, instead of the client's (e.g. a long exec)
    content: Upload | None = None  # a raw body streamed from a file, instead of `json`
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. Content-Type, Range


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its items and where it sits in the whole."""

    items: list[JSON]
    total: int
    limit: int
    offset: int
    has_more: bool

    @property
    def next_offset(self) -> int | None:
        """The offset of the next page, or None on the last one."""
        if not self.has_more or not self.items:
            return None
        return self.offset + len(self.items)


@dataclass(slots=True)
class Options:
    """Connection settings of a client; credentials and tenant may change between calls."""

    base_url: str = DEFAULT_URL
    api_key: str | None = None
    token: str | None = None
    tenant_id: str | None = None
    timeout: float = 30.0
    max_retries: int = 2
    max_retry_wait: float = 30.0


def seg(value: str) -> str:
    """One path segment, percent-encoded (ids and names are never path syntax)."""
    return quote(str(value), safe="")


def body(**fields: Any) -> JSON:
    """A request body without the fields left as None."""
    return {k: v for k, v in fields.items() if v is not None}


def query(**params: Any) -> dict[str, Any]:
    """Query parameters without None values, datetimes as RFC 3339."""
    return {k: _param(v) for k, v in params.items() if v is not None}


def _param(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def listing(path: str, limit: int | None, offset: int | None, **filters: Any) -> Call:
    """A GET of one page of a list."""
    return Call("GET", path, params=query(limit=limit, offset=offset, **filters))


def at_offset(call: Call, offset: int, page_size: int | None = None) -> Call:
    """The same list call for another page."""
    params = {**call.params, "offset": offset}
    if page_size is not None:
        params["limit"] = page_size
    return replace(call, params=params)


def headers(opts: Options, call: Call) -> dict[str, str]:
    """Headers of a call: credentials, tenant, idempotency key."""
    out = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if opts.api_key:
        out["X-API-Key"] = opts.api_key
    elif opts.token:
        out["Authorization"] = f"Bearer {opts.token}"
    if opts.tenant_id:
        out["X-Tenant-ID"] = opts.tenant_id
    if call.idempotency_key:
        out["Idempotency-Key"] = call.idempotency_key
    return out


def request_args(opts: Options, call: Call, *, aio: bool = False) -> dict[str, Any]:
    """Keyword arguments for httpx's `request` / `stream` (of an AsyncClient when `aio`)."""
    args: dict[str, Any] = {
        "method": call.method,
        "url": call.path,
        "params": dict(call.params) or None,
        "headers": headers(opts, call),
    }
    if call.json is not None:
        args["json"] = call.json
    if call.content is not None:
        args["headers"].update(call.content.headers())
        args["content"] = call.content.achunks() if aio else call.content.chunks()
    args["headers"].update(call.headers)
    if call.timeout is not None:
        args["timeout"] = call.timeout
    return args


def _decode(response: httpx.Response) -> Any:
    try:
        return response.json() if response.content else None
    except ValueError:
        return None


def raise_for_error(response: httpx.Response) -> None:
    """Raise the matching CloudAPIError if the response is an error."""
    if response.status_code >= 400:
        raise error_from_response(
            response.status_code, _decode(response), response.headers, response.text
        )


def parse(response: httpx.Response, call: Call) -> Any:
    """The payload of a response: `data` of the envelope (None for 204), or raise its error."""
    raise_for_error(response)
    if response.status_code == 204 or not response.content:
        return None
    payload = _decode(response)
    if call.enveloped and isinstance(payload, dict) and "data" in payload:
        return payload["data"]
    return payload


def parse_page(response: httpx.Response) -> Page:
    """A list response as a Page (items from `data`, counts from `meta`)."""
    raise_for_error(response)
    payload = _decode(response) or {}
    items, meta = payload.get("data") or [], payload.get("meta") or {}
    offset = int(meta.get("offset", 0))
    return Page(
        items=list(items),
        total=int(meta.get("total", len(items))),
        limit=int(meta.get("limit", len(items))),
        offset=offset,
        has_more=bool(meta.get("has_more", False)),
    )


def retry_delay(response: httpx.Response, attempt: int, opts: Options, call: Call) -> float | None:
    """Seconds to wait before retrying (429/503 with an acceptable Retry-After), else None;
    never for a body that cannot be sent again."""
    if response.status_code not in RETRY_STATUSES or attempt >= opts.max_retries:
        return None
    if call.content is not None and not call.content.replayable:
        return None
    wait = parse_retry_after(response.headers.get("retry-after"))
    if wait is None or wait > opts.max_retry_wait:
        return None
    return wait


def connection_error(exc: httpx.TransportError, opts: Options) -> CloudAPIError:
    """A transport failure as the SDK's own error."""
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    return APIConnectionError(
        f"request to {opts.base_url} {kind}: {str(exc) or type(exc).__name__}"
    )


def stream_timeout(opts: Options) -> httpx.Timeout:
    """Connect and write bounded, reads unbounded: an event stream may be quiet for long."""
    return httpx.Timeout(opts.timeout, read=None)


class SSEDecoder:
    """Server-sent events, line by line: `id:`, `event:`, `data:`; comments and retry ignored."""

    def __init__(self) -> None:
        self._id: str | None = None
        self._event = "message"
        self._data: list[str] = []

    def feed(self, line: str) -> JSON | None:
        """Take one line (without its newline); a blank line yields the finished message."""
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        return None

    def _dispatch(self) -> JSON | None:
        message = None
        if self._data:
            message = {"id": self._id, "event": self._event, "data": _json("\n".join(self._data))}
        self._event, self._data = "message", []
        return message


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
