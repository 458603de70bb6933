"""Tenants, their members and their quotas."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from thecloud.domain.common import DEFAULT_LIMIT
from thecloud.entrypoints.api import schemas as s
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services, idempotent, in_tenant
from thecloud.entrypoints.api.envelope import JSONResponse, Limit, Offset, list_query, listed, ok
from thecloud.entrypoints.api.errors import RESPONSES
from thecloud.entrypoints.api.routes import shapes

router = APIRouter(tags=["tenants"], responses=RESPONSES)


@router.post("/tenants", status_code=201)
async def create_tenant(
    request: Request, body: s.CreateTenantRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """A new tenant owned by you."""

    async def run() -> Response:
        return ok(request, shapes.tenant(await c.tenants.create(p, body.name, body.slug)), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/tenants")
async def list_tenants(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:
    """The tenants you belong to."""
    return listed(request, await c.tenants.list(p, list_query(limit, offset)), shapes.tenant)


@router.get("/tenants/{tenant_id}")
async def get_tenant(
    request: Request, tenant_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """One of your tenants."""
    return ok(request, shapes.tenant(await c.tenants.get(p, tenant_id)))


@router.post("/tenants/{tenant_id}/switch")
async def switch_tenant(
    request: Request, tenant_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Check you may act in a tenant; then send its id as X-Tenant-ID (the CLI remembers it)."""
    return ok(request, shapes.tenant(await c.tenants.switch(p, tenant_id)))


@router.post("/tenants/{tenant_id}/members", status_code=201)
async def invite_member(
    request: Request, tenant_id: str, body: s.InviteMemberRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Give a registered user (by email) a role in the tenant."""
    actor = await in_tenant(request, p, tenant_id)
    return ok(
        request,
        shapes.binding(await c.tenants.invite(actor, tenant_id, body.email, body.role)),
        201,
    )


@router.get("/tenants/{tenant_id}/members")
async def list_members(
    request: Request,
    tenant_id: str,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:
    """Who holds which role in the tenant."""
    actor = await in_tenant(request, p, tenant_id)
    return listed(
        request,
        await c.tenants.members(actor, tenant_id, list_query(limit, offset)),
        shapes.binding,
    )


@router.get("/quotas")
async def get_quotas(request: Request, p: CurrentPrincipal, c: Services) -> Response:
    """Limits and usage of the current tenant."""
    return ok(request, [shapes.quota(q) for q in await c.quotas.get(p)])


@router.put("/quotas")
async def set_quotas(
    request: Request, body: s.QuotaRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Change the limits of the current tenant (admins)."""
    lines = await c.quotas.set_limits(p, body.model_dump(exclude_none=True))
    return ok(request, [shapes.quota(q) for q in lines])
