"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from thecloud.entrypoints.api.deps import Services
from thecloud.entrypoints.api.envelope import ok
from thecloud.entrypoints.api.errors import PUBLIC, RESPONSES, error_response

router = APIRouter(tags=["health"], responses=RESPONSES)

RESOURCES = Gauge("thecloud_resources", "Resources stored, by kind", ["kind"])
_COUNTED = ("users", "tenants", "api_keys", "service_accounts", "policies", "secrets", "instances")


@router.get("/health/live", openapi_extra=PUBLIC)
async def live(request: Request) -> Response:
    """The process is up."""
    return ok(request, {"status": "ok"})


@router.get(
    "/health/ready",
    responses={503: {"description": "Not ready: which check failed"}},
    openapi_extra=PUBLIC,
)
@router.get("/health", include_in_schema=False)
async def ready(request: Request, c: Services) -> Response:
    """The process can serve: the metadata database, the container engine and the DNS server
    answer. Like the engine, a DNS server that is down makes this 503 while the rest of the
    API keeps serving (DNS calls answer 503 until it is back)."""
    checks = {"database": "ok", "container_engine": "ok", "dns": "ok"}
    try:
        async with c.uow(read_only=True) as uow:
            await uow.auth_state.generation()
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        await asyncio.wait_for(c.runtime.ping(), timeout=3)
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        checks["container_engine"] = f"error: {exc or type(exc).__name__}"
    try:
        await asyncio.wait_for(c.dns_sync.backend.ping(), timeout=3)
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure
        checks["dns"] = f"error: {exc or type(exc).__name__}"
    if all(v == "ok" for v in checks.values()):
        return ok(request, {"status": "ok", "checks": checks})
    failed = ", ".join(k for k, v in checks.items() if v != "ok")
    return error_response(
        request, 503, "BACKEND_UNAVAILABLE", f"not ready: {failed}", checks=checks
    )


@router.get("/metrics", include_in_schema=False)
async def metrics(c: Services) -> Response:
    """Prometheus text format: HTTP metrics and resource gauges."""
    async with c.uow(read_only=True) as uow:
        for kind in _COUNTED:
            RESOURCES.labels(kind).set(await getattr(uow, kind).count())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
