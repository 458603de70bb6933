"""IAM policies, their attachments, and service accounts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from thecloud.domain.common import DEFAULT_LIMIT
from thecloud.domain.errors import InvalidInput
from thecloud.domain.identity import PrincipalType
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

router = APIRouter(prefix="/iam", tags=["iam"], responses=RESPONSES)
USER, SA = PrincipalType.USER, PrincipalType.SERVICE_ACCOUNT


def _document(body: s.CreatePolicyRequest) -> object:
    if (body.document is None) == (body.statements is None):
        raise InvalidInput("give exactly one of 'document' (AWS style) or 'statements'")
    return body.document if body.document is not None else {"statements": body.statements}


@router.post("/policies", status_code=201)
async def create_policy(
    request: Request, body: s.CreatePolicyRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """A policy document: Version, Statement[Sid, Effect, Action, Resource, Condition]."""

    async def run() -> Response:
        policy = await c.iam.create_policy(p, body.name, body.description, _document(body))
        return ok(request, shapes.policy(policy), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/policies")
async def list_policies(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:
    """The tenant's policies."""
    return listed(request, await c.iam.list_policies(p, list_query(limit, offset)), shapes.policy)


@router.get("/policies/{policy_id}")
async def get_policy(
    request: Request, policy_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """A policy by id or name."""
    return ok(request, shapes.policy(await c.iam.get_policy(p, policy_id)))


@router.delete("/policies/{policy_id}", status_code=204)
async def delete_policy(policy_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a policy and all its attachments."""
    await c.iam.delete_policy(p, policy_id)
    return no_content()


@router.post("/users/{user_id}/policies/{policy_id}", status_code=201)
async def attach_user(
    request: Request, user_id: str, policy_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Attach a policy to a member of the tenant."""
    return ok(
        request, shapes.public_attachment(await c.iam.attach(p, USER, user_id, policy_id)), 201
    )


@router.delete("/users/{user_id}/policies/{policy_id}", status_code=204)
async def detach_user(user_id: str, policy_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Detach a policy from a user."""
    await c.iam.detach(p, USER, user_id, policy_id)
    return no_content()


@router.get("/users/{user_id}/policies")
async def user_policies(
    request: Request, user_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Policies attached to a user in this tenant."""
    return ok(request, [shapes.policy(x) for x in await c.iam.attached(p, USER, user_id)])


@router.post("/service-accounts", status_code=201)
async def create_sa(
    request: Request, body: s.CreateServiceAccountRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """A service account with a role; its first client secret is shown only here."""

    async def run() -> Response:
        sa, issued = await c.service_accounts.create(p, body.name, body.role, body.description)
        data = {
            **shapes.service_account(sa),
            "client_id": sa.id,
            "client_secret": issued.client_secret,
        }
        return ok(request, data, 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/service-accounts")
async def list_sas(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:
    """The tenant's service accounts."""
    return listed(
        request, await c.service_accounts.list(p, list_query(limit, offset)), shapes.service_account
    )


@router.get("/service-accounts/{sa_id}")
async def get_sa(request: Request, sa_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """One service account."""
    return ok(request, shapes.service_account(await c.service_accounts.get(p, sa_id)))


@router.delete("/service-accounts/{sa_id}", status_code=204)
async def delete_sa(sa_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a service account; its tokens stop working at once."""
    await c.service_accounts.delete(p, sa_id)
    return no_content()


@router.get("/service-accounts/{sa_id}/secrets")
async def list_sa_secrets(
    request: Request, sa_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Client secrets of a service account (metadata only)."""
    return ok(request, [shapes.sa_secret(x) for x in await c.service_accounts.secrets(p, sa_id)])


@router.post("/service-accounts/{sa_id}/rotate-secret")
async def rotate_sa_secret(
    request: Request, sa_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """A new client secret (shown once); the previous ones are revoked."""
    issued = await c.service_accounts.rotate(p, sa_id)
    return ok(request, {**shapes.sa_secret(issued.secret), "client_secret": issued.client_secret})


@router.post("/service-accounts/{sa_id}/secrets/{secret_id}", status_code=204)
@router.delete(
    "/service-accounts/{sa_id}/secrets/{secret_id}", status_code=204, include_in_schema=False
)
async def revoke_sa_secret(
    sa_id: str, secret_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Revoke one client secret."""
    await c.service_accounts.revoke_secret(p, sa_id, secret_id)
    return no_content()


@router.post("/service-accounts/{sa_id}/policies/{policy_id}", status_code=201)
async def attach_sa(
    request: Request, sa_id: str, policy_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Attach a policy to a service account."""
    return ok(request, shapes.public_attachment(await c.iam.attach(p, SA, sa_id, policy_id)), 201)


@router.delete("/service-accounts/{sa_id}/policies/{policy_id}", status_code=204)
async def detach_sa(sa_id: str, policy_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Detach a policy from a service account."""
    await c.iam.detach(p, SA, sa_id, policy_id)
    return no_content()


@router.get("/service-accounts/{sa_id}/policies")
async def sa_policies(request: Request, sa_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Policies attached to a service account."""
    return ok(request, [shapes.policy(x) for x in await c.iam.attached(p, SA, sa_id)])
