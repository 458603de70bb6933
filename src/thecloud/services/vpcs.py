"""VPCs and their subnets. A VPC is a real, isolated network on the host (the fabric's); its
subnets are address ranges the platform's IPAM hands out from."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

from thecloud.domain.common import ListQuery, Page, new_id, validate_name
from thecloud.domain.compute import Instance, InstanceStatus, moved
from thecloud.domain.errors import Conflict, RangeInUse
from thecloud.domain.identity import Principal
from thecloud.domain.network import (
    DEFAULT_VPC_CIDR,
    GatewayStatus,
    PeeringStatus,
    Subnet,
    Vpc,
    VpcPeering,
    VpcStatus,
    main_route_table,
    new_security_group,
    next_free_vpc_cidr,
    parse_cidr,
    touched,
    validate_subnet_cidr,
    validate_vpc_cidr,
    vpc_gateway,
)
from thecloud.domain.quotas import QuotaResource
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id, by_id_or_name
from thecloud.services.fabric import FabricSync, network_name
from thecloud.services.tenancy import QuotaService

log = logging.getLogger(__name__)
DEFAULT_ZONE = "zone-a"
_DEFAULT_TRIES = 8  # free /16s tried when the host already uses the first free one


async def find_vpc(uow: UnitOfWork, tenant_id: str, ident: str) -> Vpc:
    return await by_id_or_name(uow.vpcs, "VPC", tenant_id, ident)


async def find_subnet(uow: UnitOfWork, tenant_id: str, ident: str) -> Subnet:
    return await by_id(uow.subnets, "subnet", tenant_id, ident)


class VpcService(Service):
    def __init__(
        self,
        kernel: Kernel,
        quotas: QuotaService,
        fabric: FabricSync,
        wake: asyncio.Event,
    ) -> None:
        super().__init__(kernel)
        self._quotas, self._fabric = quotas, fabric
        self._wake = wake  # the compute worker's: a forced delete terminates instances

    async def create(
        self,
        p: Principal,
        name: str,
        cidr: str | None = None,
        description: str = "",
        labels: Mapping[str, str] | None = None,
    ) -> Vpc:
        validate_name(name, "VPC")
        self.allow(p, "vpc:create", "vpc", name=name)
        if cidr is not None:
            cidr = str(validate_vpc_cidr(cidr))
        async with self._uow(read_only=True) as uow:
            if await uow.vpcs.find_one(tenant_id=p.tenant_id, name=name):
                raise Conflict(f"a VPC named {name!r} already exists")
            taken = [v.cidr for v in await uow.vpcs.find()]
        if cidr is not None:
            _check_free(cidr, taken)
        for _ in range(1 if cidr is not None else _DEFAULT_TRIES):
            candidate = cidr or next_free_vpc_cidr(taken)
            try:
                return await self._create(p, name, candidate, description, labels or {})
            except RangeInUse:
                if cidr is not None:
                    raise
                taken.append(candidate)  # used on this host outside the platform: next one
        raise Conflict("no free private range found for the VPC: give it a cidr")

    async def _create(
        self, p: Principal, name: str, cidr: str, description: str, labels: Mapping[str, str]
    ) -> Vpc:
        now, vpc_id = self._clock.now(), new_id()
        vpc = Vpc(
            id=vpc_id,
            tenant_id=p.tenant_id,
            name=name,
            cidr=cidr,
            status=VpcStatus.AVAILABLE,
            network=network_name(vpc_id),
            bridge=self._fabric.bridge_name(vpc_id),
            gateway_ip=vpc_gateway(parse_cidr(cidr)),
            description=description,
            labels=dict(labels),
            created_by=p.id,
            created_at=now,
            updated_at=now,
        )
        # The network first: a crash before the row is committed leaves a labelled network
        # that the reconciler removes; the other way round would leave a VPC without one.
        async with self._fabric.exclusive():
            await self._fabric.ensure_network(vpc)
            try:
                async with self._uow() as uow:
                    await self._quotas.reserve(uow, p.tenant_id, {QuotaResource.VPCS: 1})
                    await uow.vpcs.add(vpc)
                    group, rules = new_security_group(
                        p.tenant_id, vpc.id, "default",
                        "default group: members reach each other, everything may leave",
                        True, p.id, now,
                    )  # fmt: skip
                    await uow.security_groups.add(group)
                    for rule in rules:
                        await uow.security_rules.add(rule)
                    await uow.route_tables.add(main_route_table(vpc, now, p.id))
                    await self._record(
                        uow, p, "vpc:create", "vpc", vpc.id, {"name": name, "cidr": cidr}
                    )
                    await uow.commit()
            except BaseException:
                await asyncio.shield(self._fabric.remove_network(vpc))
                raise
        return vpc

    async def list(self, p: Principal, query: ListQuery) -> Page[Vpc]:
        self.allow(p, "vpc:read", "vpc")
        async with self._uow(read_only=True) as uow:
            return await uow.vpcs.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> Vpc:
        async with self._uow(read_only=True) as uow:
            vpc = await find_vpc(uow, p.tenant_id, ident)
        self.allow(p, "vpc:read", "vpc", vpc.id, vpc.name)
        return vpc

    async def update(
        self,
        p: Principal,
        ident: str,
        name: str | None = None,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> Vpc:
        async with self._uow() as uow:
            vpc = await find_vpc(uow, p.tenant_id, ident)
            self.allow(p, "vpc:update", "vpc", vpc.id, vpc.name)
            changes: dict[str, object] = {}
            if name is not None and name != vpc.name:
                validate_name(name, "VPC")
                if await uow.vpcs.find_one(tenant_id=p.tenant_id, name=name):
                    raise Conflict(f"a VPC named {name!r} already exists")
                changes["name"] = name
            if description is not None:
                changes["description"] = description
            if labels is not None:
                changes["labels"] = dict(labels)
            if not changes:
                return vpc
            updated = touched(vpc, self._clock.now(), **changes)
            await uow.vpcs.update(updated)
            await self._record(uow, p, "vpc:update", "vpc", vpc.id, {"name": updated.name})
            await uow.commit()
        return updated

    async def delete(self, p: Principal, ident: str, force: bool = False) -> Vpc | None:
        """Delete now (None) or, with `force` and instances still in it, terminate them and
        return the VPC in DELETING: the worker finishes once they are gone."""
        async with self._fabric.exclusive():
            vpc, gone = await self._delete(p, ident, force)
            if gone:  # the rows are committed: the rules and the bridge go side by side
                await asyncio.gather(self._remove_network(vpc), self._fabric.sync())
        if not gone:
            self._wake.set()
            await self._fabric.sync()
        return None if gone else vpc

    async def _delete(self, p: Principal, ident: str, force: bool) -> tuple[Vpc, bool]:
        """Commit the delete: the VPC and True when its rows are gone, else (instances still
        in it) the VPC in DELETING and False."""
        async with self._uow() as uow:
            vpc = await find_vpc(uow, p.tenant_id, ident)
            self.allow(p, "vpc:delete", "vpc", vpc.id, vpc.name)
            live = await uow.instances.find(vpc_id=vpc.id, deleted_at=None)
            every = await _peerings_of(uow, vpc.id)
            peerings = [x for x in every if x.status != PeeringStatus.REJECTED]
            if (live or peerings) and not force:
                raise Conflict(
                    f"VPC {vpc.name} still has {_count(live, 'instance')} and "
                    f"{_count(peerings, 'peering')}: terminate and delete them first, "
                    "or delete the VPC with ?force=true"
                )
            for peering in every:
                await uow.peerings.delete(peering.id)
            if live:
                await self._terminate(uow, live)
                vpc = touched(vpc, self._clock.now(), status=VpcStatus.DELETING)
                await uow.vpcs.update(vpc)
                await self._record(uow, p, "vpc:delete", "vpc", vpc.id, {"force": True})
                await uow.commit()
                return vpc, False
            await self._drop(uow, vpc)
            await self._record(uow, p, "vpc:delete", "vpc", vpc.id, {"name": vpc.name})
            await uow.commit()
        return vpc, True

    async def _remove_network(self, vpc: Vpc) -> None:
        """After the VPC's rows are committed away (the caller holds `exclusive()`): remove
        its network. A failure leaves an orphan network the reconciler removes."""
        try:
            await self._fabric.remove_network(vpc)
        except Exception:
            log.warning(
                "network %s of deleted VPC %s not removed; the reconciler will",
                vpc.network, vpc.id, exc_info=True,
            )  # fmt: skip

    async def _terminate(self, uow: UnitOfWork, live: Sequence[Instance]) -> int:
        """Ask the worker to terminate these instances (those not on their way out yet)."""
        asked = 0
        for i in live:
            if i.status not in (InstanceStatus.DELETING, InstanceStatus.DELETED):
                gone = moved(i, self._clock.now(), InstanceStatus.DELETING, "VPC deleted")
                asked += await uow.instances.swap(gone, i.version)
        return asked

    async def _drop(self, uow: UnitOfWork, vpc: Vpc) -> None:
        for igw in await uow.internet_gateways.find(vpc_id=vpc.id):  # it stays, detached
            await uow.internet_gateways.update(
                replace(
                    igw, vpc_id=None, status=GatewayStatus.DETACHED, updated_at=self._clock.now()
                )
            )
        await uow.vpcs.delete(vpc.id)  # subnets, groups, route and NAT gateways go with it
        await self._quotas.release(uow, vpc.tenant_id, {QuotaResource.VPCS: 1})

    async def finish_deletes(self) -> int:
        """The worker's part of a forced delete: once a DELETING VPC has no live instance,
        remove its rows, then its network."""
        async with self._uow(read_only=True) as uow:
            deleting = await uow.vpcs.find(status=VpcStatus.DELETING)
        done = 0
        for vpc in deleting:
            async with self._fabric.exclusive():
                async with self._uow() as uow:
                    if live := await uow.instances.find(vpc_id=vpc.id, deleted_at=None):
                        if await self._terminate(uow, live):
                            await uow.commit()
                            self._wake.set()
                        continue
                    await self._drop(uow, vpc)
                    await uow.commit()
                await self._remove_network(vpc)
            done += 1
        if done:
            await self._fabric.sync()
        return done


class SubnetService(Service):
    async def create(
        self,
        p: Principal,
        vpc_ident: str,
        name: str,
        cidr: str,
        availability_zone: str | None = None,
    ) -> Subnet:
        validate_name(name, "subnet")
        zone = availability_zone or DEFAULT_ZONE
        validate_name(zone, "availability zone")
        async with self._uow() as uow:
            vpc = await find_vpc(uow, p.tenant_id, vpc_ident)
            self.allow(p, "vpc:update", "vpc", vpc.id, vpc.name)
            if vpc.status != VpcStatus.AVAILABLE:
                raise Conflict(f"VPC {vpc.name} is being deleted")
            siblings = await uow.subnets.find(vpc_id=vpc.id)
            if any(s.name == name for s in siblings):
                raise Conflict(f"VPC {vpc.name} already has a subnet named {name!r}")
            net = validate_subnet_cidr(cidr, vpc, siblings)
            now = self._clock.now()
            subnet = Subnet(
                new_id(), p.tenant_id, vpc.id, name, str(net), zone, vpc.gateway_ip, p.id, now, now
            )
            await uow.subnets.add(subnet)
            await self._record(
                uow, p, "vpc:update", "subnet", subnet.id, {"vpc_id": vpc.id, "cidr": str(net)}
            )
            await uow.commit()
        return subnet

    async def list(self, p: Principal, vpc_ident: str, query: ListQuery) -> Page[Subnet]:
        async with self._uow(read_only=True) as uow:
            vpc = await find_vpc(uow, p.tenant_id, vpc_ident)
            self.allow(p, "vpc:read", "vpc", vpc.id, vpc.name)
            query = replace(query, filters={**query.filters, "vpc_id": vpc.id})
            return await uow.subnets.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> Subnet:
        async with self._uow(read_only=True) as uow:
            subnet = await find_subnet(uow, p.tenant_id, ident)
        self.allow(p, "vpc:read", "vpc", subnet.vpc_id)
        return subnet

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            subnet = await find_subnet(uow, p.tenant_id, ident)
            self.allow(p, "vpc:update", "vpc", subnet.vpc_id)
            if nat := await uow.nat_gateways.find_one(subnet_id=subnet.id):
                raise Conflict(f"subnet {subnet.name} holds NAT gateway {nat.id}: delete it first")
            live = await uow.instances.find(subnet_id=subnet.id, deleted_at=None)
            if live:
                raise Conflict(
                    f"subnet {subnet.name} is in use by {_count(live, 'instance')}: "
                    "terminate them first"
                )
            await uow.subnets.delete(subnet.id)
            await self._record(uow, p, "vpc:update", "subnet", subnet.id, {"deleted": True})
            await uow.commit()


async def _peerings_of(uow: UnitOfWork, vpc_id: str) -> list[VpcPeering]:
    """Every peering of the VPC, rejected ones included."""
    found = await uow.peerings.find(requester_vpc_id=vpc_id)
    found += await uow.peerings.find(accepter_vpc_id=vpc_id)
    return found


def _count(items: Sequence[object], what: str) -> str:
    return f"{len(items)} {what}{'' if len(items) == 1 else 's'}"


def _check_free(cidr: str, taken: list[str]) -> None:
    net = parse_cidr(cidr)
    for other in taken:
        if net.overlaps(parse_cidr(other)):
            raise Conflict(
                f"cidr {cidr} overlaps a VPC already on this platform; on one host "
                f"every VPC needs its own range (default: {DEFAULT_VPC_CIDR} or the next free "
                "10.N.0.0/16)"
            )
