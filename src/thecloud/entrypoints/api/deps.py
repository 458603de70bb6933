"""Request dependencies: the container, the caller's context and principal, idempotency."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request, WebSocket
from fastapi.responses import Response
from starlette.requests import HTTPConnection

from thecloud.bootstrap import Container
from thecloud.domain.common import RequestContext
from thecloud.domain.errors import Forbidden, InvalidInput, not_found
from thecloud.domain.identity import Principal


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def request_context(request: HTTPConnection) -> RequestContext:
    """Who is asking, from where: read from the ASGI scope (`request.url` would build and
    parse the whole URL for its scheme)."""
    scope = request.scope
    client = scope.get("client")
    return RequestContext(
        request_id=getattr(request.state, "request_id", ""),
        source_ip=client[0] if client else "",
        user_agent=request.headers.get("user-agent", ""),
        secure_transport=scope.get("scheme") in ("https", "wss"),
    )


def tenant_header(request: HTTPConnection) -> str | None:
    tenant = request.headers.get("x-tenant-id")
    if tenant is None or tenant == "":
        return None
    try:
        return str(uuid.UUID(tenant))
    except ValueError:
        raise InvalidInput(f"X-Tenant-ID {tenant!r} is not a tenant id (a UUID)") from None


async def authenticate(
    request: Request, tenant: str | None, key: str | None, bearer: str | None
) -> Principal:
    c: Container = request.app.state.container
    return await c.auth.authenticate(key, bearer, tenant, request_context(request))


def credentials(conn: HTTPConnection) -> tuple[str | None, str | None]:
    """The API key and the bearer token a request carries, if any."""
    key = conn.headers.get("x-api-key") or None
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return key, bearer


async def current_principal(request: Request) -> Principal:
    """The authenticated caller in the tenant of X-Tenant-ID (else their default tenant).

    Headers are read directly (one dependency, not three): the security schemes are
    declared in the OpenAPI document by the app instead.
    """
    key, bearer = credentials(request)
    return await authenticate(request, tenant_header(request), key, bearer)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
Services = Annotated[Container, Depends(get_container)]


async def in_tenant(request: Request, p: Principal, tenant_id: str) -> Principal:
    """The same caller, acting in the tenant named by the path."""
    if p.tenant_id == tenant_id:
        return p
    key, token = credentials(request)
    try:
        return await authenticate(request, tenant_id, key, token)
    except Forbidden:
        raise not_found("tenant", tenant_id) from None  # another tenant's id is a 404, as on GET


def _body_hash(body: Any) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def idempotent(
    request: Request, p: Principal, body: Any, run: Callable[[], Awaitable[Response]]
) -> Response:
    """Run a create once per Idempotency-Key; replay its response for the same body."""
    key = request.headers.get("idempotency-key")
    if not key:
        return await run()
    c: Container = request.app.state.container
    path = request.url.path
    record = await c.idempotency.begin(p.id, key, request.method, path, _body_hash(body))
    if record is not None:
        headers = {"Idempotent-Replayed": "true"}
        return Response(record.response, record.status_code, headers, media_type="application/json")
    try:
        response = await run()
    except BaseException:
        await c.idempotency.abandon(p.id, key)
        raise
    await c.idempotency.complete(p.id, key, response.status_code, bytes(response.body))
    return response


async def ws_principal(ws: WebSocket, c: Container) -> Principal:
    """A WebSocket's caller: X-API-Key / Bearer headers, or ?api_key= / ?token= (browsers
    cannot set headers on a WebSocket), in the tenant of X-Tenant-ID or ?tenant_id=."""
    key, token = credentials(ws)
    key = key or ws.query_params.get("api_key")
    token = token or ws.query_params.get("token")
    tenant = tenant_header(ws) or ws.query_params.get("tenant_id")
    return await c.auth.authenticate(key, token, tenant, request_context(ws))
