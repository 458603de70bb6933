"""The ways in and out of a VPC: elastic IPs (a stable public address NATed to an instance),
internet gateways (attached to a VPC) and NAT gateways (in a subnet, with an elastic IP).

Whether a subnet reaches the world is decided by its route table (services/route_tables.py):
a route to an attached internet gateway or to a NAT gateway of the VPC. Every change is
committed, then pushed to the data path before the call returns.
"""

from __future__ import annotations

from dataclasses import replace

from thecloud.domain.common import ListQuery, Page, new_id, validate_name
from thecloud.domain.errors import Conflict, InvalidInput
from thecloud.domain.identity import Principal
from thecloud.domain.network import (
    EipStatus,
    ElasticIp,
    GatewayStatus,
    InternetGateway,
    NatGateway,
    VpcStatus,
    free_address,
)
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id, by_id_or_name
from thecloud.services.fabric import FabricSync
from thecloud.services.instances import find_instance
from thecloud.services.vpcs import find_subnet, find_vpc

_ALLOCATE_TRIES = 5  # another process may take the same free address first


async def find_eip(uow: UnitOfWork, tenant_id: str, ident: str) -> ElasticIp:
    """By id, else by address."""
    return await by_id_or_name(uow.elastic_ips, "elastic IP", tenant_id, ident, field="address")


async def routes_to(uow: UnitOfWork, tenant_id: str, target_id: str) -> list[str]:
    """Names of the tenant's route tables with a route to this gateway."""
    return [
        t.name
        for t in await uow.route_tables.find(tenant_id=tenant_id)
        if any(r.target_id == target_id for r in t.routes)
    ]


class ElasticIpService(Service):
    def __init__(self, kernel: Kernel, fabric: FabricSync, pool: str) -> None:
        super().__init__(kernel)
        self._fabric, self._pool = fabric, pool

    async def allocate(self, p: Principal) -> ElasticIp:
        self.allow(p, "eip:allocate", "eip")
        for _ in range(_ALLOCATE_TRIES):
            async with self._uow() as uow:
                taken = [e.address for e in await uow.elastic_ips.find()]
                now = self._clock.now()
                eip = ElasticIp(
                    new_id(), p.tenant_id, free_address(self._pool, taken),
                    EipStatus.ALLOCATED, None, p.id, now, now,
                )  # fmt: skip
                try:
                    await uow.elastic_ips.add(eip)
                except Conflict:
                    continue  # the address went to someone else meanwhile: the next one
                await self._record(uow, p, "eip:allocate", "eip", eip.id, {"address": eip.address})
                await uow.commit()
                return eip
        raise Conflict("could not allocate an elastic IP (contention); retry")

    async def list(self, p: Principal, query: ListQuery) -> Page[ElasticIp]:
        self.allow(p, "eip:read", "eip")
        async with self._uow(read_only=True) as uow:
            return await uow.elastic_ips.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> ElasticIp:
        async with self._uow(read_only=True) as uow:
            eip = await find_eip(uow, p.tenant_id, ident)
        self.allow(p, "eip:read", "eip", eip.id, eip.address)
        return eip

    async def release(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            eip = await find_eip(uow, p.tenant_id, ident)
            self.allow(p, "eip:release", "eip", eip.id, eip.address)
            if eip.instance_id is not None:
                raise Conflict(f"elastic IP {eip.address} is associated: disassociate it first")
            if nat := await uow.nat_gateways.find_one(eip_id=eip.id):
                raise Conflict(f"elastic IP {eip.address} is used by NAT gateway {nat.id}")
            await uow.elastic_ips.delete(eip.id)
            await self._record(uow, p, "eip:release", "eip", eip.id, {"address": eip.address})
            await uow.commit()

    async def associate(self, p: Principal, ident: str, instance_ident: str) -> ElasticIp:
        async with self._uow() as uow:
            eip = await find_eip(uow, p.tenant_id, ident)
            self.allow(p, "eip:associate", "eip", eip.id, eip.address)
            instance = await find_instance(uow, p.tenant_id, instance_ident)
            if instance.deleted_at is not None:
                raise Conflict(f"instance {instance.name} is terminated")
            if instance.vpc_id is None:
                raise InvalidInput(
                    f"instance {instance.name} is not in a VPC: elastic IPs are NATed to a "
                    "private address"
                )
            if eip.instance_id == instance.id:
                return eip
            if eip.instance_id is not None:
                raise Conflict(f"elastic IP {eip.address} is associated with another instance")
            if await uow.nat_gateways.find_one(eip_id=eip.id):
                raise Conflict(f"elastic IP {eip.address} belongs to a NAT gateway")
            if await uow.elastic_ips.find_one(instance_id=instance.id):
                raise Conflict(f"instance {instance.name} already has an elastic IP")
            changed = replace(
                eip, instance_id=instance.id, status=EipStatus.ASSOCIATED,
                updated_at=self._clock.now(),
            )  # fmt: skip
            await uow.elastic_ips.update(changed)  # the database keeps it one per instance
            await self._record(uow, p, "eip:associate", "eip", eip.id, {"instance_id": instance.id})
            await uow.commit()
        await self._fabric.sync()
        return changed

    async def disassociate(self, p: Principal, ident: str) -> ElasticIp:
        async with self._uow() as uow:
            eip = await find_eip(uow, p.tenant_id, ident)
            self.allow(p, "eip:associate", "eip", eip.id, eip.address)
            if eip.instance_id is None:
                return eip
            changed = replace(
                eip, instance_id=None, status=EipStatus.ALLOCATED, updated_at=self._clock.now()
            )
            await uow.elastic_ips.update(changed)
            await self._record(
                uow, p, "eip:associate", "eip", eip.id, {"disassociated": eip.instance_id}
            )
            await uow.commit()
        await self._fabric.sync()
        return changed


class InternetGatewayService(Service):
    def __init__(self, kernel: Kernel, fabric: FabricSync) -> None:
        super().__init__(kernel)
        self._fabric = fabric

    async def create(self, p: Principal, name: str = "") -> InternetGateway:
        if name:
            validate_name(name, "internet gateway")
        self.allow(p, "vpc:create", "internet_gateway", name=name)
        now = self._clock.now()
        igw = InternetGateway(
            new_id(), p.tenant_id, name, None, GatewayStatus.DETACHED, p.id, now, now
        )
        async with self._uow() as uow:
            await uow.internet_gateways.add(igw)
            await self._record(uow, p, "vpc:create", "internet_gateway", igw.id, {"name": name})
            await uow.commit()
        return igw

    async def list(self, p: Principal, query: ListQuery) -> Page[InternetGateway]:
        self.allow(p, "vpc:read", "internet_gateway")
        async with self._uow(read_only=True) as uow:
            return await uow.internet_gateways.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> InternetGateway:
        async with self._uow(read_only=True) as uow:
            igw = await self._find(uow, p, ident)
        self.allow(p, "vpc:read", "internet_gateway", igw.id, igw.name)
        return igw

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> InternetGateway:
        return await by_id_or_name(uow.internet_gateways, "internet gateway", p.tenant_id, ident)

    async def attach(self, p: Principal, ident: str, vpc_ident: str) -> InternetGateway:
        async with self._uow() as uow:
            igw = await self._find(uow, p, ident)
            self.allow(p, "vpc:update", "internet_gateway", igw.id, igw.name)
            vpc = await find_vpc(uow, p.tenant_id, vpc_ident)
            if igw.vpc_id == vpc.id:
                return igw
            if igw.vpc_id is not None:
                raise Conflict("the internet gateway is attached to another VPC: detach it first")
            if vpc.status != VpcStatus.AVAILABLE:
                raise Conflict(f"VPC {vpc.name} is being deleted")
            if await uow.internet_gateways.find_one(vpc_id=vpc.id):
                raise Conflict(f"VPC {vpc.name} already has an internet gateway")
            changed = replace(
                igw, vpc_id=vpc.id, status=GatewayStatus.ATTACHED, updated_at=self._clock.now()
            )
            await uow.internet_gateways.update(changed)
            await self._record(
                uow, p, "vpc:update", "internet_gateway", igw.id, {"attached": vpc.id}
            )
            await uow.commit()
        await self._fabric.sync()
        return changed

    async def detach(
        self, p: Principal, ident: str, vpc_ident: str | None = None
    ) -> InternetGateway:
        async with self._uow() as uow:
            igw = await self._find(uow, p, ident)
            self.allow(p, "vpc:update", "internet_gateway", igw.id, igw.name)
            if igw.vpc_id is None:
                return igw
            if vpc_ident is not None:
                vpc = await find_vpc(uow, p.tenant_id, vpc_ident)
                if vpc.id != igw.vpc_id:
                    raise Conflict(f"the internet gateway is not attached to VPC {vpc.name}")
            changed = replace(
                igw, vpc_id=None, status=GatewayStatus.DETACHED, updated_at=self._clock.now()
            )
            await uow.internet_gateways.update(changed)
            await self._record(
                uow, p, "vpc:update", "internet_gateway", igw.id, {"detached": igw.vpc_id}
            )
            await uow.commit()
        await self._fabric.sync()
        return changed

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            igw = await self._find(uow, p, ident)
            self.allow(p, "vpc:delete", "internet_gateway", igw.id, igw.name)
            if igw.vpc_id is not None:
                raise Conflict("the internet gateway is attached to a VPC: detach it first")
            if users := await routes_to(uow, p.tenant_id, igw.id):
                raise Conflict(
                    f"route tables {', '.join(users)} route through this internet gateway: "
                    "remove those routes first"
                )
            await uow.internet_gateways.delete(igw.id)
            await self._record(uow, p, "vpc:delete", "internet_gateway", igw.id, {})
            await uow.commit()


class NatGatewayService(Service):
    def __init__(self, kernel: Kernel, fabric: FabricSync) -> None:
        super().__init__(kernel)
        self._fabric = fabric

    async def create(self, p: Principal, subnet_id: str, eip_ident: str) -> NatGateway:
        self.allow(p, "vpc:create", "nat_gateway")
        async with self._uow() as uow:
            subnet = await find_subnet(uow, p.tenant_id, subnet_id)
            vpc = await find_vpc(uow, p.tenant_id, subnet.vpc_id)
            if vpc.status != VpcStatus.AVAILABLE:
                raise Conflict(f"VPC {vpc.name} is being deleted")
            eip = await find_eip(uow, p.tenant_id, eip_ident)
            if eip.instance_id is not None:
                raise Conflict(f"elastic IP {eip.address} is associated with an instance")
            if await uow.nat_gateways.find_one(eip_id=eip.id):
                raise Conflict(f"elastic IP {eip.address} already serves a NAT gateway")
            now = self._clock.now()
            nat = NatGateway(
                new_id(), p.tenant_id, vpc.id, subnet.id, eip.id, GatewayStatus.AVAILABLE,
                p.id, now, now,
            )  # fmt: skip
            await uow.nat_gateways.add(nat)
            await self._record(
                uow, p, "vpc:create", "nat_gateway", nat.id,
                {"subnet_id": subnet.id, "eip": eip.address},
            )  # fmt: skip
            await uow.commit()
        return nat

    async def list(self, p: Principal, query: ListQuery) -> Page[NatGateway]:
        self.allow(p, "vpc:read", "nat_gateway")
        async with self._uow(read_only=True) as uow:
            return await uow.nat_gateways.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> NatGateway:
        async with self._uow(read_only=True) as uow:
            nat = await by_id(uow.nat_gateways, "NAT gateway", p.tenant_id, ident)
        self.allow(p, "vpc:read", "nat_gateway", nat.id)
        return nat

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            nat = await by_id(uow.nat_gateways, "NAT gateway", p.tenant_id, ident)
            self.allow(p, "vpc:delete", "nat_gateway", nat.id)
            if users := await routes_to(uow, p.tenant_id, nat.id):
                raise Conflict(
                    f"route tables {', '.join(users)} route through this NAT gateway: "
                    "remove those routes first"
                )
            await uow.nat_gateways.delete(nat.id)
            await self._record(uow, p, "vpc:delete", "nat_gateway", nat.id, {})
            await uow.commit()
        await self._fabric.sync()
