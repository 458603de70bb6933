"""Elastic IPs, internet and NAT gateways, route tables: the ways in and out of a VPC."""

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

router = APIRouter(tags=["networking"], responses=RESPONSES)


@router.post("/elastic-ips", status_code=201)
async def allocate_eip(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    body: s.AllocateEipRequest | None = None,  # noqa: ARG001 - {} or nothing: no options
) -> Response:
    """Allocate the next free address of the pool (THECLOUD_EIP_POOL, default 100.64.0.0/10)."""

    async def run() -> Response:
        return ok(request, shapes.elastic_ip(await c.elastic_ips.allocate(p)), 201)

    return await idempotent(request, p, {}, run)


@router.get("/elastic-ips")
async def list_eips(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    status: str | None = Query(None, max_length=20, description="ALLOCATED or ASSOCIATED"),
) -> JSONResponse:
    """The tenant's elastic IPs."""
    page = await c.elastic_ips.list(p, list_query(limit, offset, status=status))
    return listed(request, page, shapes.elastic_ip)


@router.get("/elastic-ips/{eip}")
async def get_eip(request: Request, eip: str, p: CurrentPrincipal, c: Services) -> Response:
    """An elastic IP by id or address."""
    return ok(request, shapes.elastic_ip(await c.elastic_ips.get(p, eip)))


@router.delete("/elastic-ips/{eip}", status_code=204)
async def release_eip(eip: str, p: CurrentPrincipal, c: Services) -> Response:
    """Give the address back to the pool (disassociate it first)."""
    await c.elastic_ips.release(p, eip)
    return no_content()


@router.post("/elastic-ips/{eip}/associate")
async def associate_eip(
    request: Request, eip: str, body: s.AssociateEipRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """NAT the address to an instance in a VPC (one per instance): traffic to it reaches the
    instance (its security groups decide) when this answers."""
    return ok(request, shapes.elastic_ip(await c.elastic_ips.associate(p, eip, body.instance_id)))


@router.post("/elastic-ips/{eip}/disassociate")
async def disassociate_eip(
    request: Request, eip: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Take the address off its instance (it stays allocated)."""
    return ok(request, shapes.elastic_ip(await c.elastic_ips.disassociate(p, eip)))


@router.post("/internet-gateways", status_code=201)
async def create_igw(
    request: Request, p: CurrentPrincipal, c: Services,
    body: s.CreateInternetGatewayRequest | None = None,
) -> Response:  # fmt: skip
    """Create an internet gateway (detached)."""
    name = body.name if body else ""

    async def run() -> Response:
        return ok(request, shapes.internet_gateway(await c.internet_gateways.create(p, name)), 201)

    return await idempotent(request, p, {"name": name}, run)


@router.get("/internet-gateways")
async def list_igws(
    request: Request, p: CurrentPrincipal, c: Services, limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:  # fmt: skip
    """The tenant's internet gateways."""
    page = await c.internet_gateways.list(p, list_query(limit, offset))
    return listed(request, page, shapes.internet_gateway)


@router.get("/internet-gateways/{igw}")
async def get_igw(request: Request, igw: str, p: CurrentPrincipal, c: Services) -> Response:
    """An internet gateway by id or name."""
    return ok(request, shapes.internet_gateway(await c.internet_gateways.get(p, igw)))


@router.delete("/internet-gateways/{igw}", status_code=204)
async def delete_igw(igw: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a detached internet gateway no route uses."""
    await c.internet_gateways.delete(p, igw)
    return no_content()


@router.post("/internet-gateways/{igw}/attach")
async def attach_igw(
    request: Request, igw: str, body: s.AttachInternetGatewayRequest, p: CurrentPrincipal,
    c: Services,
) -> Response:  # fmt: skip
    """Attach to a VPC (one gateway per VPC). Subnets reach the world once their route table
    has a route to it."""
    return ok(
        request, shapes.internet_gateway(await c.internet_gateways.attach(p, igw, body.vpc_id))
    )


@router.post("/internet-gateways/{igw}/detach")
async def detach_igw(
    request: Request, igw: str, p: CurrentPrincipal, c: Services,
    body: s.DetachInternetGatewayRequest | None = None,
) -> Response:  # fmt: skip
    """Detach from its VPC: routes to it stop carrying traffic when this answers."""
    vpc = body.vpc_id if body else None
    return ok(request, shapes.internet_gateway(await c.internet_gateways.detach(p, igw, vpc)))


@router.post("/nat-gateways", status_code=201)
async def create_nat(
    request: Request, body: s.CreateNatGatewayRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Create a NAT gateway in a subnet with an unassociated elastic IP. Subnets whose route
    table routes to it reach the world, leaving from that address."""

    async def run() -> Response:
        nat = await c.nat_gateways.create(p, body.subnet_id, body.eip_id)
        return ok(request, shapes.nat_gateway(nat), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/nat-gateways")
async def list_nats(
    request: Request, p: CurrentPrincipal, c: Services, limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:  # fmt: skip
    """The tenant's NAT gateways."""
    page = await c.nat_gateways.list(p, list_query(limit, offset))
    return listed(request, page, shapes.nat_gateway)


@router.get("/nat-gateways/{nat}")
async def get_nat(request: Request, nat: str, p: CurrentPrincipal, c: Services) -> Response:
    """A NAT gateway by id."""
    return ok(request, shapes.nat_gateway(await c.nat_gateways.get(p, nat)))


@router.delete("/nat-gateways/{nat}", status_code=204)
async def delete_nat(nat: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a NAT gateway no route uses (its elastic IP stays allocated)."""
    await c.nat_gateways.delete(p, nat)
    return no_content()


@router.post("/route-tables", status_code=201)
async def create_route_table(
    request: Request, body: s.CreateRouteTableRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Create a route table in a VPC (with the local route); `is_main` makes it the table of
    every subnet without one of its own."""

    async def run() -> Response:
        table = await c.route_tables.create(p, body.vpc_id, body.name, body.is_main)
        return ok(request, shapes.route_table(table, []), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/route-tables")
async def list_route_tables(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    vpc_id: str | None = Query(None, max_length=36, description="only this VPC's tables"),
) -> JSONResponse:
    """The tenant's route tables."""
    page = await c.route_tables.list(p, list_query(limit, offset, vpc_id=vpc_id))
    return listed(request, page, shapes.route_table)


@router.get("/route-tables/{table}")
async def get_route_table(
    request: Request, table: str, p: CurrentPrincipal, c: Services
) -> Response:
    """A route table with its routes and associated subnets."""
    found, subnets = await c.route_tables.get(p, table)
    return ok(request, shapes.route_table(found, subnets))


@router.delete("/route-tables/{table}", status_code=204)
async def delete_route_table(table: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a table that is not the main one and has no subnets."""
    await c.route_tables.delete(p, table)
    return no_content()


@router.post("/route-tables/{table}/routes", status_code=201)
async def add_route(
    request: Request, table: str, body: s.AddRouteRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Add a route: a destination range outside the VPC to an attached internet gateway
    (`igw`) or a NAT gateway of the VPC (`nat`). In force when this answers."""
    changed = await c.route_tables.add_route(
        p, table, body.destination_cidr, body.target_type, body.target_id
    )
    return ok(request, shapes.route_table(changed), 201)


@router.delete("/route-tables/{table}/routes")
async def remove_route(
    request: Request,
    table: str,
    p: CurrentPrincipal,
    c: Services,
    destination_cidr: str = Query(max_length=18, description="the route's destination"),
) -> Response:
    """Remove the route to `destination_cidr` (the local route stays)."""
    return ok(
        request, shapes.route_table(await c.route_tables.remove_route(p, table, destination_cidr))
    )


@router.post("/route-tables/{table}/associate")
async def associate_route_table(
    request: Request, table: str, body: s.AssociateSubnetRequest, p: CurrentPrincipal,
    c: Services,
) -> Response:  # fmt: skip
    """Make this the subnet's table (instead of its current one or the main one)."""
    return ok(request, shapes.route_table(await c.route_tables.associate(p, table, body.subnet_id)))


@router.post("/route-tables/{table}/disassociate")
async def disassociate_route_table(
    request: Request, table: str, body: s.AssociateSubnetRequest, p: CurrentPrincipal,
    c: Services,
) -> Response:  # fmt: skip
    """The subnet goes back to the VPC's main table."""
    changed = await c.route_tables.disassociate(p, table, body.subnet_id)
    return ok(request, shapes.route_table(changed))
