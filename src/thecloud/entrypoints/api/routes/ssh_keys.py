"""SSH public keys, installed at first boot into instances launched with `ssh_key_id`."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from thecloud.domain.common import DEFAULT_LIMIT
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

router = APIRouter(prefix="/ssh-keys", tags=["ssh keys"], responses=RESPONSES)


@router.post("", status_code=201)
async def create_ssh_key(
    request: Request, body: s.CreateSshKeyRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Register an OpenSSH public key (`ssh-ed25519 AAAA... comment`); shows its fingerprint."""

    async def run() -> Response:
        return ok(
            request, shapes.ssh_key(await c.ssh_keys.create(p, body.name, body.public_key)), 201
        )

    return await idempotent(request, p, body.model_dump(), run)


@router.get("")
async def list_ssh_keys(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = Query(None, max_length=200, description="exact name"),
) -> JSONResponse:
    """The tenant's SSH keys."""
    return listed(
        request, await c.ssh_keys.list(p, list_query(limit, offset, name=name)), shapes.ssh_key
    )


@router.get("/{key}")
async def get_ssh_key(request: Request, key: str, p: CurrentPrincipal, c: Services) -> Response:
    """An SSH key by id or name."""
    return ok(request, shapes.ssh_key(await c.ssh_keys.get(p, key)))


@router.delete("/{key}", status_code=204)
async def delete_ssh_key(key: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete an SSH key (instances launched with it keep it)."""
    await c.ssh_keys.delete(p, key)
    return no_content()
