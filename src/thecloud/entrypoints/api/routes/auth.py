"""Registration, login, the caller's identity, API keys and the OAuth2 token endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from thecloud.domain.common import DEFAULT_LIMIT
from thecloud.domain.errors import InvalidInput
from thecloud.entrypoints.api import schemas as s
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services, idempotent, request_context
from thecloud.entrypoints.api.envelope import (
    JSONResponse,
    Limit,
    Offset,
    list_query,
    listed,
    no_content,
    ok,
)
from thecloud.entrypoints.api.errors import PUBLIC, RESPONSES, describe_validation
from thecloud.entrypoints.api.routes import shapes

router = APIRouter(tags=["auth"], responses=RESPONSES)


@router.post("/auth/register", status_code=201, openapi_extra=PUBLIC)
async def register(request: Request, body: s.RegisterRequest, c: Services) -> Response:
    """Create a user with a personal tenant; returns an API key (shown once) and a JWT."""
    reg = await c.auth.register(body.email, body.password, body.name, request_context(request))
    data = {
        "user": shapes.user(reg.user),
        "tenant": shapes.tenant(reg.tenant),
        "api_key": reg.api_key,
        "token": reg.token,
    }
    return ok(request, data, 201)


@router.post("/auth/login", openapi_extra=PUBLIC)
async def login(request: Request, body: s.LoginRequest, c: Services) -> Response:
    """Exchange email and password for a JWT; repeated failures lock the account for a while."""
    done = await c.auth.login(body.email, body.password, request_context(request))
    data = {"user": shapes.user(done.user), "token": done.token, "expires_at": done.expires_at}
    return ok(request, data)


@router.get("/auth/me")
async def me(request: Request, p: CurrentPrincipal) -> Response:
    """Who you are, in which tenant, with which permissions."""
    data = {
        "id": p.id,
        "type": p.type,
        "name": p.name,
        "email": p.email,
        "tenant_id": p.tenant_id,
        "permissions": sorted(p.permissions),
        "policies": len(p.policies),
    }
    return ok(request, data)


@router.post("/auth/keys", status_code=201)
async def create_key(
    request: Request, body: s.CreateKeyRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """A new API key for you in the current tenant; the key is shown only in this response."""

    async def run() -> Response:
        key, raw = await c.api_keys.create(p, body.name)
        return ok(request, shapes.api_key(key, raw), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/auth/keys")
async def list_keys(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:
    """Your API keys (never the keys themselves)."""
    return listed(request, await c.api_keys.list(p, list_query(limit, offset)), shapes.api_key)


@router.delete("/auth/keys/{key_id}", status_code=204)
async def revoke_key(key_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Revoke one of your keys; it is refused from the next request on."""
    await c.api_keys.revoke(p, key_id)
    return no_content()


@router.post("/auth/keys/{key_id}/rotate")
@router.post("/auth/keys/{key_id}/regenerate", include_in_schema=False)
async def rotate_key(request: Request, key_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Replace a key: the new one is returned once, the old one is revoked."""
    key, raw = await c.api_keys.rotate(p, key_id)
    return ok(request, shapes.api_key(key, raw))


_TOKEN_SCHEMA = {"schema": s.TokenRequest.model_json_schema()}
_TOKEN_BODY = {  # read by hand (form or JSON), so documented here
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": _TOKEN_SCHEMA,
            "application/json": _TOKEN_SCHEMA,
        },
    }
}


@router.post("/oauth2/token", openapi_extra={**_TOKEN_BODY, **PUBLIC})
async def token(request: Request, c: Services) -> Response:
    """OAuth2 client_credentials for service accounts (form or JSON body)."""
    body = await _token_body(request)
    if body.grant_type != "client_credentials":
        raise InvalidInput("grant_type must be client_credentials")
    t = await c.service_accounts.token(body.client_id, body.client_secret)
    data = {"access_token": t.access_token, "token_type": "Bearer", "expires_in": t.expires_in}
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


async def _token_body(request: Request) -> s.TokenRequest:
    from pydantic import ValidationError

    try:
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return s.TokenRequest.model_validate(dict((await request.form()).items()))
        return s.TokenRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise InvalidInput(describe_validation(exc.errors())) from exc
