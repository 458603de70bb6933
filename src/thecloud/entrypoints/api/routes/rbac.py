"""Roles, permissions and role bindings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from thecloud.domain.common import DEFAULT_LIMIT
from thecloud.domain.rbac import ALL_PERMISSIONS, BUILTIN_ROLES
from thecloud.entrypoints.api import schemas as s
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services, idempotent
from thecloud.entrypoints.api.envelope import (
    JSONResponse,
    Limit,
    Offset,
    list_query,
    listed,
    no_content,
    ok,
)
from thecloud.entrypoints.api.errors import RESPONSES
from thecloud.entrypoints.api.routes import shapes

router = APIRouter(prefix="/rbac", tags=["rbac"], responses=RESPONSES)


@router.get("/permissions")
async def permissions(request: Request, _p: CurrentPrincipal) -> Response:
    """Every permission name, and what each built-in role holds."""
    roles = {name: sorted(perms) for name, (_d, perms) in BUILTIN_ROLES.items()}
    return ok(request, {"permissions": sorted(ALL_PERMISSIONS), "builtin_roles": roles})


@router.post("/roles", status_code=201)
async def create_role(
    request: Request, body: s.CreateRoleRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """A custom role of the current tenant."""

    async def run() -> Response:
        role = await c.rbac.create_role(p, body.name, body.description, body.permissions)
        return ok(request, shapes.role(role), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/roles")
async def list_roles(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:
    """Built-in roles and the tenant's custom roles."""
    return listed(request, await c.rbac.list_roles(p, list_query(limit, offset)), shapes.role)


@router.get("/roles/{role_id}")
async def get_role(request: Request, role_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """A role by id or name."""
    return ok(request, shapes.role(await c.rbac.get_role(p, role_id)))


@router.put("/roles/{role_id}")
async def update_role(
    request: Request, role_id: str, body: s.UpdateRoleRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Change a custom role's description or replace its permissions."""
    role = await c.rbac.update_role(p, role_id, body.description, body.permissions)
    return ok(request, shapes.role(role))


@router.delete("/roles/{role_id}", status_code=204)
async def delete_role(role_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete an unbound custom role."""
    await c.rbac.delete_role(p, role_id)
    return no_content()


@router.post("/roles/{role_id}/permissions")
async def add_permission(
    request: Request, role_id: str, body: s.AddPermissionRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Add one permission to a custom role."""
    return ok(request, shapes.role(await c.rbac.add_permission(p, role_id, body.permission)))


@router.delete("/roles/{role_id}/permissions/{permission}")
async def remove_permission(
    request: Request, role_id: str, permission: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Remove one permission from a custom role."""
    return ok(request, shapes.role(await c.rbac.remove_permission(p, role_id, permission)))


@router.post("/bindings", status_code=201)
async def bind_role(
    request: Request, body: s.BindRoleRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Give a user (id or email) a role in the current tenant."""
    binding = await c.rbac.bind(p, body.user_identifier, body.role_name)
    return ok(request, shapes.binding(binding), 201)


@router.get("/bindings")
async def list_bindings(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:
    """Role bindings of the current tenant."""
    return listed(request, await c.rbac.list_bindings(p, list_query(limit, offset)), shapes.binding)


@router.delete("/bindings/{binding_id}", status_code=204)
async def unbind_role(binding_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Remove a role binding (a tenant keeps at least one owner)."""
    await c.rbac.unbind(p, binding_id)
    return no_content()
