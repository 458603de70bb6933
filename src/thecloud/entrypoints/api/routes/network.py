"""VPCs, subnets, security groups and VPC peering: real isolated networks on the host."""

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
from thecloud.services.security_groups import RuleRequest

router = APIRouter(tags=["networking"], responses=RESPONSES)
NameFilter = Query(None, max_length=63, description="exact name")


@router.post("/vpcs", status_code=201)
async def create_vpc(
    request: Request, body: s.CreateVpcRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Create a VPC: its own bridge network on the host, isolated from every other VPC, with
    a default security group. Add a subnet before launching instances into it."""

    async def run() -> Response:
        vpc = await c.vpcs.create(p, body.name, body.cidr_block, body.description, body.labels)
        return ok(request, shapes.vpc(vpc), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/vpcs")
async def list_vpcs(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = NameFilter,
) -> JSONResponse:
    """The tenant's VPCs."""
    return listed(request, await c.vpcs.list(p, list_query(limit, offset, name=name)), shapes.vpc)


@router.get("/vpcs/{vpc}")
async def get_vpc(request: Request, vpc: str, p: CurrentPrincipal, c: Services) -> Response:
    """A VPC by id or name."""
    return ok(request, shapes.vpc(await c.vpcs.get(p, vpc)))


@router.patch("/vpcs/{vpc}")
async def update_vpc(
    request: Request, vpc: str, body: s.UpdateVpcRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Rename a VPC or change its description or labels (its range cannot change)."""
    updated = await c.vpcs.update(p, vpc, body.name, body.description, body.labels)
    return ok(request, shapes.vpc(updated))


@router.delete("/vpcs/{vpc}", status_code=204)
async def delete_vpc(
    request: Request,
    vpc: str,
    p: CurrentPrincipal,
    c: Services,
    force: bool = Query(False, description="terminate its instances and delete its peerings"),
) -> Response:
    """Delete a VPC with its subnets and security groups. Refused (409) while it has instances
    or peerings, unless `force=true`: then its instances are terminated, and the answer is
    202 with the VPC in DELETING until they are gone."""
    pending = await c.vpcs.delete(p, vpc, force)
    return no_content() if pending is None else ok(request, shapes.vpc(pending), 202)


@router.post("/vpcs/{vpc}/subnets", status_code=201)
async def create_subnet(
    request: Request, vpc: str, body: s.CreateSubnetRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Add a subnet: a range inside the VPC's, overlapping none of its other subnets."""

    async def run() -> Response:
        subnet = await c.subnets.create(p, vpc, body.name, body.cidr_block, body.availability_zone)
        return ok(request, shapes.subnet(subnet), 201)

    return await idempotent(request, p, {"vpc": vpc, **body.model_dump()}, run)


@router.get("/vpcs/{vpc}/subnets")
async def list_subnets(
    request: Request,
    vpc: str,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = NameFilter,
) -> JSONResponse:
    """The subnets of a VPC."""
    page = await c.subnets.list(p, vpc, list_query(limit, offset, name=name))
    return listed(request, page, shapes.subnet)


@router.get("/subnets/{subnet}")
async def get_subnet(request: Request, subnet: str, p: CurrentPrincipal, c: Services) -> Response:
    """A subnet by id."""
    return ok(request, shapes.subnet(await c.subnets.get(p, subnet)))


@router.delete("/subnets/{subnet}", status_code=204)
async def delete_subnet(subnet: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a subnet no live instance uses."""
    await c.subnets.delete(p, subnet)
    return no_content()


@router.post("/security-groups", status_code=201)
async def create_security_group(
    request: Request, body: s.CreateSecurityGroupRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Create a security group in a VPC: all traffic out allowed, nothing in until a rule
    opens it."""

    async def run() -> Response:
        group = await c.security_groups.create(p, body.vpc_id, body.name, body.description)
        return ok(request, shapes.security_group(group), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/security-groups")
async def list_security_groups(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    name: str | None = NameFilter,
    vpc_id: str | None = Query(None, max_length=36, description="only this VPC's groups"),
) -> JSONResponse:
    """The tenant's security groups, with their rules and member instances."""
    query = list_query(limit, offset, name=name, vpc_id=vpc_id)
    return listed(request, await c.security_groups.list(p, query), shapes.security_group)


@router.post("/security-groups/attach")
async def attach_security_group(
    request: Request, body: s.AttachGroupRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Attach a group to an instance of its VPC; in force when this answers."""
    group = await c.security_groups.attach(p, body.instance_id, body.group_id)
    return ok(request, shapes.security_group(group))


@router.post("/security-groups/detach")
async def detach_security_group(
    request: Request, body: s.AttachGroupRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Detach a group from an instance; in force when this answers."""
    group = await c.security_groups.detach(p, body.instance_id, body.group_id)
    return ok(request, shapes.security_group(group))


@router.delete("/security-groups/rules/{rule_id}", status_code=204)
async def remove_security_rule(rule_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Remove a rule; in force when this answers."""
    await c.security_groups.remove_rule(p, rule_id)
    return no_content()


@router.get("/security-groups/{group}")
async def get_security_group(
    request: Request, group: str, p: CurrentPrincipal, c: Services
) -> Response:
    """A security group by id or name, with its rules and member instances."""
    return ok(request, shapes.security_group(await c.security_groups.get(p, group)))


@router.delete("/security-groups/{group}", status_code=204)
async def delete_security_group(group: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a group attached to no instance and named by no other group's rule."""
    await c.security_groups.delete(p, group)
    return no_content()


@router.post("/security-groups/{group}/rules", status_code=201)
async def add_security_rule(
    request: Request, group: str, body: s.AddRuleRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Add a rule (ingress or egress; tcp, udp, icmp or all; a port range; from/to a CIDR or
    another group's members; allow or deny; lower priority first). In force when this
    answers; traffic no rule allows is dropped."""

    async def run() -> Response:
        req = RuleRequest(
            direction=body.direction,
            protocol=body.protocol,
            port_from=body.port_min,
            port_to=body.port_max,
            cidr=body.cidr,
            group_id=body.source_group_id,
            priority=body.priority,
            action=body.action,
            description=body.description,
        )
        rule = await c.security_groups.add_rule(p, group, req)
        return ok(request, shapes.security_rule(rule), 201)

    return await idempotent(request, p, {"group": group, **body.model_dump()}, run)


@router.post("/vpc-peerings", status_code=201)
async def create_peering(
    request: Request, body: s.CreatePeeringRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Request a peering between two of the tenant's VPCs whose ranges do not overlap."""

    async def run() -> Response:
        peering = await c.peerings.create(p, body.requester_vpc_id, body.accepter_vpc_id)
        return ok(request, shapes.peering(peering), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/vpc-peerings")
async def list_peerings(
    request: Request,
    p: CurrentPrincipal,
    c: Services,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
    status: str | None = Query(None, max_length=30, description="e.g. ACTIVE"),
) -> JSONResponse:
    """The tenant's VPC peerings."""
    query = list_query(limit, offset, status=status)
    return listed(request, await c.peerings.list(p, query), shapes.peering)


@router.get("/vpc-peerings/{peering}")
async def get_peering(request: Request, peering: str, p: CurrentPrincipal, c: Services) -> Response:
    """A peering by id."""
    return ok(request, shapes.peering(await c.peerings.get(p, peering)))


@router.post("/vpc-peerings/{peering}/accept")
async def accept_peering(
    request: Request, peering: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Accept: the two VPCs reach each other by private address when this answers."""
    return ok(request, shapes.peering(await c.peerings.accept(p, peering)))


@router.post("/vpc-peerings/{peering}/reject")
async def reject_peering(
    request: Request, peering: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Reject a pending peering."""
    return ok(request, shapes.peering(await c.peerings.reject(p, peering)))


@router.delete("/vpc-peerings/{peering}", status_code=204)
async def delete_peering(peering: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete a peering: the two VPCs are cut apart again when this answers."""
    await c.peerings.delete(p, peering)
    return no_content()
