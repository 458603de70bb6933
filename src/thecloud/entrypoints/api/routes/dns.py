"""DNS zones (public, or private to a VPC) and their records, answered by the platform's
authoritative DNS server: `dig @<server> name` (the zone's `server` field says where)."""

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

router = APIRouter(prefix="/dns", tags=["dns"], responses=RESPONSES)


@router.post("/zones", status_code=201)
async def create_zone(
    request: Request, body: s.CreateZoneRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Create a zone: public, or with `vpc_id` private to that VPC (its instances answer as
    `<instance-name>.<zone>`). Zone names are unique on the platform (409 if taken)."""

    async def run() -> Response:
        zone = await c.dns.create_zone(p, body.name, body.description, body.vpc_id)
        return ok(request, shapes.dns_zone(zone, c.dns.server), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/zones")
async def list_zones(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = Query(None, max_length=254, description="exact zone name"),
    vpc_id: str | None = Query(None, max_length=36, description="the private zones of a VPC"),
) -> JSONResponse:
    """The tenant's zones."""
    page = await c.dns.list_zones(p, list_query(limit, offset, vpc_id=vpc_id), name)
    return listed(request, page, lambda z: shapes.dns_zone(z, c.dns.server))


@router.get("/zones/{zone}")
async def get_zone(request: Request, zone: str, p: CurrentPrincipal, c: Services) -> Response:
    """A zone by id or name."""
    return ok(request, shapes.dns_zone(await c.dns.get_zone(p, zone), c.dns.server))


@router.delete("/zones/{zone}", status_code=204)
async def delete_zone(zone: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a zone with all its records; it stops answering at once."""
    await c.dns.delete_zone(p, zone)
    return no_content()


@router.post("/zones/{zone}/records", status_code=201)
async def create_record(
    request: Request, zone: str, body: s.CreateRecordRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Add a record (A, AAAA, CNAME, MX, TXT or SRV); it answers at once. `ttl` (clamped to
    60-86400 s) is that of the record's whole set (its name and type)."""

    async def run() -> Response:
        record = await c.dns.create_record(
            p, zone, body.name, body.type, body.content, body.ttl, body.priority
        )
        return ok(request, shapes.dns_record(record), 201)

    return await idempotent(request, p, {"zone": zone, **body.model_dump()}, run)


@router.get("/zones/{zone}/records")
async def list_records(
    request: Request,
    zone: str,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = Query(None, max_length=254, description="relative or absolute name"),
    type: str | None = Query(None, max_length=10, description="record type"),
) -> JSONResponse:
    """The zone's records, the ones registered for instances included (`managed`)."""
    page = await c.dns.list_records(p, zone, list_query(limit, offset), name, type)
    return listed(request, page, shapes.dns_record)


@router.get("/records/{record}")
async def get_record(request: Request, record: str, p: CurrentPrincipal, c: Services) -> Response:
    """A record by id."""
    return ok(request, shapes.dns_record(await c.dns.get_record(p, record)))


@router.put("/records/{record}")
async def update_record(
    request: Request, record: str, body: s.UpdateRecordRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Change a record's content, priority or TTL (the TTL of its whole set); it answers at
    once. Records of instances (`managed`) cannot be changed (409)."""
    updated = await c.dns.update_record(p, record, body.content, body.ttl, body.priority)
    return ok(request, shapes.dns_record(updated))


@router.delete("/records/{record}", status_code=204)
async def delete_record(record: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a record; it stops answering at once. Records of instances cannot be (409)."""
    await c.dns.delete_record(p, record)
    return no_content()
