"""Container deployments: an image kept running as N replicas (instances) by the worker."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from thecloud.domain.common import DEFAULT_LIMIT
from thecloud.entrypoints.api import schemas as s
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services, idempotent
from thecloud.entrypoints.api.envelope import JSONResponse, Limit, Offset, list_query, listed, ok
from thecloud.entrypoints.api.errors import RESPONSES
from thecloud.entrypoints.api.routes import shapes
from thecloud.services.deployments import DeploymentRequest

router = APIRouter(prefix="/containers/deployments", tags=["compute"], responses=RESPONSES)


@router.post("", status_code=202)
async def create_deployment(
    request: Request, body: s.CreateDeploymentRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Keep `replicas` instances of `image` running (replicas are named `<name>-<random>`)."""

    async def run() -> Response:
        fields = body.model_dump()
        req = DeploymentRequest(**{**fields, "env": tuple(body.env), "cmd": tuple(body.cmd)})
        return ok(request, shapes.deployment(await c.deployments.create(p, req)), 202)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("")
async def list_deployments(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = Query(None, max_length=63, description="exact name"),
) -> JSONResponse:
    """The tenant's deployments."""
    page = await c.deployments.list(p, list_query(limit, offset, name=name))
    return listed(request, page, shapes.deployment)


@router.get("/{deployment}")
async def get_deployment(
    request: Request, deployment: str, p: CurrentPrincipal, c: Services
) -> Response:
    """A deployment by id or name, with its live replicas and how many are RUNNING."""
    found, replicas = await c.deployments.get(p, deployment)
    return ok(request, shapes.deployment(found, replicas))


@router.put("/{deployment}/scale", status_code=202)
async def scale_deployment(
    request: Request,
    deployment: str,
    body: s.ScaleDeploymentRequest,
    p: CurrentPrincipal,
    c: Services,
) -> Response:
    """A new replica count; the worker launches or terminates replicas until it holds."""
    return ok(
        request, shapes.deployment(await c.deployments.scale(p, deployment, body.replicas)), 202
    )


@router.delete("/{deployment}", status_code=202)
async def delete_deployment(
    request: Request, deployment: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Terminate every replica, then remove the deployment."""
    return ok(request, shapes.deployment(await c.deployments.delete(p, deployment)), 202)
