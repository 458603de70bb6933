"""VPC peering: two VPCs of one tenant, with ranges that do not overlap, reach each other by
private address once the peering is accepted; deleting it cuts them apart again."""

from __future__ import annotations

from dataclasses import replace

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.errors import Conflict, InvalidInput
from thecloud.domain.identity import Principal
from thecloud.domain.network import PeeringStatus, VpcPeering, VpcStatus, peers_overlap
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id
from thecloud.services.fabric import FabricSync
from thecloud.services.vpcs import find_vpc

PS = PeeringStatus


async def find_peering(uow: UnitOfWork, tenant_id: str, ident: str) -> VpcPeering:
    return await by_id(uow.peerings, "VPC peering", tenant_id, ident)


class PeeringService(Service):
    def __init__(self, kernel: Kernel, fabric: FabricSync) -> None:
        super().__init__(kernel)
        self._fabric = fabric

    async def create(self, p: Principal, requester: str, accepter: str) -> VpcPeering:
        self.allow(p, "vpc_peering:create", "vpc_peering")
        async with self._uow() as uow:
            a = await find_vpc(uow, p.tenant_id, requester)
            b = await find_vpc(uow, p.tenant_id, accepter)
            if a.id == b.id:
                raise InvalidInput("a VPC cannot peer with itself")
            if VpcStatus.DELETING in (a.status, b.status):
                raise Conflict("one of the VPCs is being deleted")
            if peers_overlap(a, b):
                raise Conflict(
                    f"the ranges of {a.name} ({a.cidr}) and {b.name} ({b.cidr}) overlap: "
                    "peered VPCs need distinct addresses"
                )
            either_way = await uow.peerings.find(requester_vpc_id=a.id, accepter_vpc_id=b.id)
            either_way += await uow.peerings.find(requester_vpc_id=b.id, accepter_vpc_id=a.id)
            for existing in either_way:
                if existing.status != PS.REJECTED:
                    raise Conflict(
                        f"VPCs {a.name} and {b.name} already have a peering ({existing.id})"
                    )
            now = self._clock.now()
            peering = VpcPeering(
                new_id(), p.tenant_id, a.id, b.id, PS.PENDING_ACCEPTANCE, p.id, now, now
            )
            await uow.peerings.add(peering)
            await self._record(
                uow, p, "vpc_peering:create", "vpc_peering", peering.id,
                {"requester_vpc_id": a.id, "accepter_vpc_id": b.id},
            )  # fmt: skip
            await uow.commit()
        return peering

    async def list(self, p: Principal, query: ListQuery) -> Page[VpcPeering]:
        self.allow(p, "vpc_peering:read", "vpc_peering")
        async with self._uow(read_only=True) as uow:
            return await uow.peerings.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> VpcPeering:
        async with self._uow(read_only=True) as uow:
            found = await find_peering(uow, p.tenant_id, ident)
        self.allow(p, "vpc_peering:read", "vpc_peering", found.id)
        return found

    async def accept(self, p: Principal, ident: str) -> VpcPeering:
        return await self._answer(p, ident, PS.ACTIVE)

    async def reject(self, p: Principal, ident: str) -> VpcPeering:
        return await self._answer(p, ident, PS.REJECTED)

    async def _answer(self, p: Principal, ident: str, status: PeeringStatus) -> VpcPeering:
        async with self._uow() as uow:
            found = await find_peering(uow, p.tenant_id, ident)
            self.allow(p, "vpc_peering:accept", "vpc_peering", found.id)
            if found.status == status:
                return found
            if found.status != PS.PENDING_ACCEPTANCE:
                raise Conflict(f"peering {found.id} is {found.status}, not pending acceptance")
            changed = replace(found, status=status, updated_at=self._clock.now())
            await uow.peerings.update(changed)
            verb = "accept" if status == PS.ACTIVE else "reject"
            await self._record(
                uow, p, f"vpc_peering:{verb}", "vpc_peering", found.id, {"status": str(status)}
            )
            await uow.commit()
        if status == PS.ACTIVE:
            await self._fabric.sync()
        return changed

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            found = await find_peering(uow, p.tenant_id, ident)
            self.allow(p, "vpc_peering:delete", "vpc_peering", found.id)
            await uow.peerings.delete(found.id)
            await self._record(uow, p, "vpc_peering:delete", "vpc_peering", found.id, {})
            await uow.commit()
        await self._fabric.sync()
