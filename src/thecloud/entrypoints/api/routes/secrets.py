"""The secrets manager."""

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

router = APIRouter(prefix="/secrets", tags=["secrets"], responses=RESPONSES)


@router.post("", status_code=201)
async def create_secret(
    request: Request, body: s.CreateSecretRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Store a secret value, encrypted at rest; the response shows it redacted."""

    async def run() -> Response:
        secret = await c.secrets.create(p, body.name, body.value, body.description)
        return ok(request, shapes.secret(secret), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("")
async def list_secrets(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = Query(None, max_length=255, description="exact name"),
) -> JSONResponse:
    """The tenant's secrets, values redacted."""
    return listed(
        request, await c.secrets.list(p, list_query(limit, offset, name=name)), shapes.secret
    )


@router.get("/{secret:path}")
async def get_secret(request: Request, secret: str, p: CurrentPrincipal, c: Services) -> Response:
    """A secret by id or name, with its value; records the access time."""
    found, value = await c.secrets.reveal(p, secret)
    return ok(request, shapes.secret(found, value))


@router.put("/{secret:path}")
async def update_secret(
    request: Request, secret: str, body: s.UpdateSecretRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Replace the value (a new version) and/or the description."""
    updated = await c.secrets.update(p, secret, body.value, body.description)
    return ok(request, shapes.secret(updated))


@router.delete("/{secret:path}", status_code=204)
async def delete_secret(secret: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a secret by id or name."""
    await c.secrets.delete(p, secret)
    return no_content()
