"""Where a new instance goes on the network: its VPC, subnet, private address (IPAM) and
security groups, all settled in the launching transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from thecloud.domain.common import new_id
from thecloud.domain.compute import Instance
from thecloud.domain.errors import Conflict, InvalidInput, not_found
from thecloud.domain.network import GroupMembership, SecurityGroup, VpcStatus, allocate_ip
from thecloud.ports.uow import UnitOfWork
from thecloud.services.vpcs import find_subnet, find_vpc


async def find_group(
    uow: UnitOfWork, tenant_id: str, ident: str, vpc_id: str | None = None
) -> SecurityGroup:
    """By id, else by name: within `vpc_id` when the VPC is known (every VPC has a group
    named "default"); a name several VPCs use needs the id."""
    found = await uow.security_groups.get(ident, tenant_id)
    if found is not None:
        return found
    where: dict[str, object] = {"tenant_id": tenant_id, "name": ident}
    if vpc_id is not None:
        where["vpc_id"] = vpc_id
    named = await uow.security_groups.find(**where)
    if len(named) > 1:
        raise InvalidInput(
            f"{len(named)} security groups are named {ident!r} (one per VPC): give the id"
        )
    if not named:
        raise not_found("security group", ident)
    return named[0]


async def place(
    uow: UnitOfWork,
    i: Instance,
    vpc_id: str | None,
    subnet_id: str | None,
    private_ip: str | None,
    group_ids: Sequence[str],
) -> Instance:
    """The instance with vpc_id, subnet_id and private_ip set (unchanged without a VPC); its
    groups are resolved once, by `attach_groups`."""
    if vpc_id is None and subnet_id is None:
        if private_ip or group_ids:
            raise InvalidInput("private_ip and security_group_ids need a vpc_id or subnet_id")
        return i
    tenant = i.tenant_id
    subnet = await find_subnet(uow, tenant, subnet_id) if subnet_id else None
    vpc = await find_vpc(uow, tenant, vpc_id or (subnet.vpc_id if subnet else ""))
    if subnet is not None and subnet.vpc_id != vpc.id:
        raise InvalidInput(f"subnet {subnet.name} is not in VPC {vpc.name}")
    if vpc.status != VpcStatus.AVAILABLE:
        raise Conflict(f"VPC {vpc.name} is being deleted")
    used = [x.private_ip for x in await uow.instances.find(vpc_id=vpc.id, deleted_at=None)]
    if subnet is None:
        subnets = sorted(await uow.subnets.find(vpc_id=vpc.id), key=lambda s: s.created_at)
        if not subnets:
            raise InvalidInput(
                f"VPC {vpc.name} has no subnet: create one (POST /vpcs/{vpc.id}/subnets)"
            )
        if private_ip:
            raise InvalidInput("a private_ip needs its subnet_id")
        for candidate in subnets:
            try:
                ip = allocate_ip(candidate, used)
            except Conflict:
                continue
            subnet = candidate
            break
        else:
            raise Conflict(f"every subnet of VPC {vpc.name} is full")
    else:
        ip = allocate_ip(subnet, used, private_ip)
    return replace(i, vpc_id=vpc.id, subnet_id=subnet.id, private_ip=ip)


async def attach_groups(uow: UnitOfWork, i: Instance, group_ids: Sequence[str]) -> None:
    """After the instance row is in, in the launching transaction: attach it to these groups,
    which must be of its VPC (the VPC's default group when none is named). A group that is
    not fails the launch: nothing of it is committed."""
    if i.vpc_id is None:
        return
    groups = []
    for ident in group_ids:
        g = await find_group(uow, i.tenant_id, ident, i.vpc_id)
        if g.vpc_id != i.vpc_id:
            raise InvalidInput(f"security group {g.name} belongs to another VPC")
        groups.append(g)
    if not groups:
        default = await uow.security_groups.find_one(vpc_id=i.vpc_id, is_default=True)
        groups = [default] if default is not None else []
    for g in {g.id: g for g in groups}.values():
        await uow.group_members.add(
            GroupMembership(new_id(), i.tenant_id, g.id, i.id, i.created_at)
        )
