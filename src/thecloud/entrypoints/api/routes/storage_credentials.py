"""S3 access keys (`/storage/credentials`): what boto3, the aws CLI and other S3 clients sign
their requests with on the S3 endpoint. The secret is shown once, at creation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from thecloud.domain.common import DEFAULT_LIMIT
from thecloud.domain.objects import StorageCredential
from thecloud.entrypoints.api import schemas as s
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services, idempotent
from thecloud.entrypoints.api.envelope import (
    JSONResponse,
    Limit,
    Offset,
    list_query,
    listed,
    ok,
    public,
)
from thecloud.entrypoints.api.errors import RESPONSES

router = APIRouter(prefix="/storage/credentials", tags=["object storage"], responses=RESPONSES)


def credential(c: StorageCredential) -> dict[str, Any]:
    shaped = public(c)
    shaped.pop("sealed_secret", None)
    return shaped


@router.post("", status_code=201)
async def create_storage_credential(
    request: Request, body: s.CreateStorageCredentialRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """A new access key pair for you (or a service account of the tenant). Use
    `access_key_id` and `secret_access_key` as AWS credentials against the S3 endpoint;
    the secret is not shown again."""

    async def run() -> Response:
        cred, secret = await c.storage_credentials.create(
            p, body.description, body.service_account_id
        )
        return ok(request, {**credential(cred), "secret_access_key": secret}, 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("")
async def list_storage_credentials(
    request: Request, p: CurrentPrincipal, c: Services, limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:  # fmt: skip
    """The tenant's access keys (never their secrets)."""
    page = await c.storage_credentials.list(p, list_query(limit, offset))
    return listed(request, page, credential)


@router.get("/{ident}")
async def get_storage_credential(
    request: Request, ident: str, p: CurrentPrincipal, c: Services
) -> Response:
    """An access key by id or access key id."""
    return ok(request, credential(await c.storage_credentials.get(p, ident)))


@router.delete("/{ident}")
async def revoke_storage_credential(
    request: Request, ident: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Revoke an access key: S3 requests signed with it fail at once (403
    InvalidAccessKeyId)."""
    return ok(request, credential(await c.storage_credentials.revoke(p, ident)))
