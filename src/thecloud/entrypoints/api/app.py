"""The FastAPI application factory: middleware, error mapping, routers, lifespan."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import BaseRoute

from thecloud.bootstrap import Container
from thecloud.config import Settings
from thecloud.entrypoints.api import errors
from thecloud.entrypoints.api.middleware import (
    BodyLimitMiddleware,
    MetricsMiddleware,
    RateLimitMiddleware,
    RequestIdMiddleware,
    WithheldBodyMiddleware,
)
from thecloud.entrypoints.api.route_index import grouped
from thecloud.entrypoints.api.routes import (
    activity,
    auth,
    compute,
    deployments,
    dns,
    gateways,
    health,
    iam,
    instance_ops,
    network,
    rbac,
    secrets,
    ssh_keys,
    storage,
    storage_credentials,
    storage_multipart,
    storage_objects,
    storage_volumes,
    tenants,
)

# A request is matched against the routes of its first path segment only (route_index.py), in
# this order: within `/storage`, `storage_objects` must come after the other storage routers.
ROUTERS = (
    health,
    compute,
    instance_ops,
    deployments,
    ssh_keys,
    network,
    gateways,
    dns,
    storage_volumes,
    storage_credentials,
    storage,
    storage_multipart,
    storage_objects,  # `/storage/{bucket}/{key}` last: every other `/storage/...` route first
    secrets,
    auth,
    tenants,
    rbac,
    iam,
    activity,
)

# Bodies the routes stream with limits of their own: image tarballs, and objects and their parts
# (PUT /storage/{bucket}/{key}, presigned PUTs, multipart parts), not the JSON /storage routes.
STREAMED = (
    r"^/images/[^/]+/upload$"
    r"|^/storage/(?!(credentials|buckets|cluster|versions|presign|multipart/(init|complete|abort))"
    r"(/|$))[^/]+/."
)

DESCRIPTION = """The Cloud's control-plane API.

Authenticate with `X-API-Key: thecloud_...` or `Authorization: Bearer <JWT>`; choose the tenant
with `X-Tenant-ID`. Success: `{"data": ..., "meta": {"request_id", "timestamp"}}`; errors:
`{"error": {"type", "code", "message"}, "meta": ...}`. Creates accept `Idempotency-Key`.
"""


def create_app(container: Container, *, migrate: bool = True) -> FastAPI:
    """The API over a built container; `migrate` brings the schema and the built-in roles up
    to date at start (the server command does that once, before it starts its workers)."""
    settings = container.settings

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if migrate:
            from thecloud.adapters.sql.migrate import upgrade

            await upgrade(settings.effective_database_url)
            await container.start()
        await container.open()
        _freeze_startup_objects()
        try:
            yield
        finally:
            await container.close()

    app = FastAPI(
        title="The Cloud",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        responses=errors.RESPONSES,
    )
    app.state.container = container
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    errors.install(app)
    _add_routes(app, [route for module in ROUTERS for route in module.router.routes])
    _middleware(app, settings)
    return app


SECURITY_SCHEMES = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document plus how to authenticate: every operation needs an API key or a
    bearer token unless it declares `security: []` (health, register, login, token)."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.state.api_routes,
        )
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        schema["security"] = [{"ApiKey": []}, {"Bearer": []}]
        app.openapi_schema = schema
    return app.openapi_schema


def _freeze_startup_objects() -> None:
    """Move everything allocated at start-up (modules, the app, the schema) out of the
    collector's reach: full collections then scan only request garbage, which keeps the
    pauses they cause (and so the latency tail) short."""
    gc.collect()
    gc.freeze()


def _add_routes(app: FastAPI, routes: list[BaseRoute]) -> None:
    """Give the app its own routes (the docs) and ours, grouped by first path segment.

    `include_router` nests routers, and a request then walks every route of every router
    before its own, twice (about 2 us per route here); one flat list is one pass, over all
    two hundred routes; grouped (route_index.py), a request tries only the routes of its
    segment. The flat list stays in `app.state.api_routes` for the OpenAPI document.
    """
    flat = [*app.router.routes, *routes]
    app.state.api_routes = flat
    app.router.routes[:] = grouped(flat)


def _middleware(app: FastAPI, s: Settings) -> None:
    """Added innermost first: metrics see the final status, request ids wrap everything."""
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(
        RateLimitMiddleware,
        per_ip=s.rate_limit_per_ip,
        per_key=s.rate_limit_per_key,
        burst_seconds=s.rate_limit_burst_seconds,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=s.max_body_bytes, streamed=STREAMED)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(WithheldBodyMiddleware)
