"""Volumes and snapshots: block storage that outlives instances."""

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

router = APIRouter(tags=["block storage"], responses=RESPONSES)


@router.post("/volumes", status_code=201)
async def create_volume(
    request: Request, body: s.CreateVolumeRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Create a volume of `size_gb` GiB (its own filesystem: writing past it fails with
    ENOSPC). `encrypted` is refused where the storage backend cannot encrypt."""

    async def run() -> Response:
        volume = await c.volumes.create(
            p, body.name, body.size_gb, body.encrypted, body.description, body.labels
        )
        return ok(request, shapes.volume(volume), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/volumes")
async def list_volumes(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = Query(None, max_length=63, description="exact name"),
    status: str | None = Query(None, max_length=20, description="e.g. AVAILABLE, IN-USE"),
    instance_id: str | None = Query(None, max_length=36, description="attached to it"),
) -> JSONResponse:
    """The tenant's volumes."""
    query = list_query(limit, offset, name=name, status=status, instance_id=instance_id)
    return listed(request, await c.volumes.list(p, query), shapes.volume)


@router.get("/volumes/{volume}")
async def get_volume(request: Request, volume: str, p: CurrentPrincipal, c: Services) -> Response:
    """A volume by id or name."""
    return ok(request, shapes.volume(await c.volumes.get(p, volume)))


@router.delete("/volumes/{volume}", status_code=204)
async def delete_volume(volume: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a volume and its data (refused while attached); its snapshots stay."""
    await c.volumes.delete(p, volume)
    return no_content()


@router.post("/volumes/{volume}/attach")
async def attach_volume(
    request: Request, volume: str, body: s.AttachVolumeRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Attach to an instance at `mount_path`. A running instance gets it at once, without a
    restart (`attached_live: true`); a stopped one when it starts."""
    done = await c.volumes.attach(p, volume, body.instance_id, body.mount_path)
    return ok(request, shapes.volume(done.volume, done.live))


@router.post("/volumes/{volume}/detach")
async def detach_volume(
    request: Request, volume: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Take the volume out of its instance (unmounted at once if it runs); its data stays."""
    return ok(request, shapes.volume(await c.volumes.detach(p, volume)))


@router.post("/snapshots", status_code=201)
async def create_snapshot(
    request: Request, body: s.CreateSnapshotRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """A crash-consistent, copy-on-write snapshot of a volume, attached or not."""

    async def run() -> Response:
        snap = await c.snapshots.create(p, body.volume_id, body.description)
        return ok(request, shapes.snapshot(snap), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/snapshots")
async def list_snapshots(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    volume_id: str | None = Query(None, max_length=36, description="of this volume"),
) -> JSONResponse:
    """The tenant's snapshots."""
    query = list_query(limit, offset, volume_id=volume_id)
    return listed(request, await c.snapshots.list(p, query), shapes.snapshot)


@router.get("/snapshots/{snapshot}")
async def get_snapshot(
    request: Request, snapshot: str, p: CurrentPrincipal, c: Services
) -> Response:
    """A snapshot by id."""
    return ok(request, shapes.snapshot(await c.snapshots.get(p, snapshot)))


@router.delete("/snapshots/{snapshot}", status_code=204)
async def delete_snapshot(snapshot: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a snapshot (volumes restored from it keep their data)."""
    await c.snapshots.delete(p, snapshot)
    return no_content()


@router.post("/snapshots/{snapshot}/restore", status_code=201)
async def restore_snapshot(
    request: Request,
    snapshot: str,
    body: s.RestoreSnapshotRequest,
    p: CurrentPrincipal,
    c: Services,
) -> Response:
    """A new volume holding exactly the snapshot's data."""

    async def run() -> Response:
        volume = await c.snapshots.restore(p, snapshot, body.new_volume_name)
        return ok(request, shapes.volume(volume), 201)

    return await idempotent(request, p, {"snapshot": snapshot, **body.model_dump()}, run)
