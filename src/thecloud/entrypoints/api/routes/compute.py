"""Compute: instance types, the image catalog, instances and their logs."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from thecloud.domain.common import DEFAULT_LIMIT, ListQuery, Page, PageRequest
from thecloud.domain.compute import INSTANCE_TYPES
from thecloud.domain.errors import InvalidInput
from thecloud.entrypoints.api import schemas as s
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services, idempotent
from thecloud.entrypoints.api.envelope import JSONResponse, Limit, Offset, list_query, listed, ok
from thecloud.entrypoints.api.errors import RESPONSES
from thecloud.entrypoints.api.routes import shapes
from thecloud.entrypoints.api.uploads import rootfs_identity, spooled
from thecloud.services.instances import LaunchRequest

router = APIRouter(tags=["compute"], responses=RESPONSES)
NameFilter = Query(None, max_length=255, description="exact name")


@router.get("/instance-types")
async def list_instance_types(request: Request, p: CurrentPrincipal) -> JSONResponse:
    """The instance types: vCPUs, memory (MiB) and disk (GB) an instance of each gets."""
    del p  # any authenticated caller may read them
    page = Page(items=list(INSTANCE_TYPES), total=len(INSTANCE_TYPES), limit=100, offset=0)
    return listed(request, page, shapes.instance_type)


@router.get("/images")
async def list_images(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = NameFilter,
) -> JSONResponse:
    """The platform catalog (what each name really contains) and the tenant's own images."""
    page = await c.images.list(p, list_query(limit, offset, name=name))
    return listed(request, page, shapes.image)


@router.post("/images", status_code=201)
async def register_image(
    request: Request, body: s.RegisterImageRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Register an image of your own; then upload its root filesystem tarball."""

    async def run() -> Response:
        image = await c.images.register(p, body.name, body.description)
        return ok(request, shapes.image(image), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.post(
    "/images/{image}/upload",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def upload_image(request: Request, image: str, p: CurrentPrincipal, c: Services) -> Response:
    """The root filesystem as the request body (a tar archive, plain or compressed); the
    image becomes AVAILABLE, with the os and version its os-release names."""
    settings = c.settings
    row = await c.images.uploadable(p, image)  # before a byte of the body is stored
    async with spooled(
        request, settings.data_dir / "uploads", settings.image_upload_max_bytes
    ) as tarball:
        os, version = await asyncio.to_thread(rootfs_identity, tarball)
        done = await c.images.upload(p, row.id, tarball, os, version)
    return ok(request, shapes.image(done))


@router.delete("/images/{image}", status_code=204)
async def delete_image(image: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete one of your own images (refused while an instance uses it)."""
    await c.images.delete(p, image)
    return Response(status_code=204)


@router.get("/images/{image:path}")
async def get_image(request: Request, image: str, p: CurrentPrincipal, c: Services) -> Response:
    """An image by id or name (`busybox`, `python:3.11`)."""
    return ok(request, shapes.image(await c.images.get(p, image)))


@router.post("/instances", status_code=202)
async def launch_instance(
    request: Request, body: s.LaunchInstanceRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Launch an instance: answered at once with status STARTING; the worker brings it to
    RUNNING (or ERROR, with `status_reason`)."""

    async def run() -> Response:
        req = LaunchRequest(**body.model_dump())
        return ok(request, shapes.instance(await c.instances.launch(p, req)), 202)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/instances")
async def list_instances(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = NameFilter,
    status: str | None = Query(None, max_length=20, description="e.g. RUNNING, DELETED"),
    label: list[str] = Query([], max_length=20, description="key=value; all must match"),
) -> JSONResponse:
    """The tenant's instances (terminated ones only when asked with `status=DELETED`)."""
    filters = {k: v for k, v in {"name": name, "status": status}.items() if v is not None}
    page = PageRequest(limit=limit, offset=offset)
    query = ListQuery(page=page, filters=filters, labels=_labels(label))
    return listed(request, await c.instances.list(p, query), shapes.instance)


def _labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidInput(f"label filter {pair!r} is not key=value")
        labels[key] = value
    return labels


@router.get("/instances/{instance}")
async def get_instance(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """An instance by id or name."""
    return ok(request, shapes.instance(await c.instances.get(p, instance)))


async def _request(
    request: Request, instance: str, what: str, p: CurrentPrincipal, c: Services
) -> Response:
    return ok(request, shapes.instance(await c.instances.request(p, instance, what)), 202)


@router.post("/instances/{instance}/stop", status_code=202)
async def stop_instance(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Stop (SIGTERM, then SIGKILL after 10 s): STOPPING, then STOPPED."""
    return await _request(request, instance, "stop", p, c)


@router.post("/instances/{instance}/start", status_code=202)
async def start_instance(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Start a stopped (or failed) instance: STARTING, then RUNNING."""
    return await _request(request, instance, "start", p, c)


@router.post("/instances/{instance}/reboot", status_code=202)
async def reboot_instance(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Restart a running instance: REBOOTING, then RUNNING."""
    return await _request(request, instance, "reboot", p, c)


@router.delete("/instances/{instance}", status_code=202)
async def terminate_instance(
    request: Request, instance: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Terminate: DELETING, then DELETED (the row is kept for audit; the name is free again)."""
    return await _request(request, instance, "terminate", p, c)


@router.get("/instances/{instance}/logs")
async def instance_logs(
    request: Request,
    instance: str,
    p: CurrentPrincipal,
    c: Services,
    tail: int | None = Query(None, ge=1, le=100_000, description="only the last N lines"),
    since: datetime | None = Query(None, description="only lines at or after this time"),
) -> JSONResponse:
    """The instance's output (stdout and stderr), oldest first."""
    lines = await c.instances.logs(p, instance, tail, since)
    page = Page(items=lines, total=len(lines), limit=max(len(lines), 1), offset=0)
    return listed(request, page, shapes.log_line)
