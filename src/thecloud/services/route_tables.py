"""Route tables: where traffic leaving a VPC goes. Every VPC has a main table (the local route
only, at first); a subnet uses the table it is associated with, else the main one. A route to
an attached internet gateway or to a NAT gateway of the VPC lets the subnet reach the world;
without one, its traffic beyond the VPC (and its peers) is dropped."""

from __future__ import annotations

import builtins
from dataclasses import replace

from thecloud.domain.common import ListQuery, Page, new_id, validate_name
from thecloud.domain.errors import Conflict, InvalidInput, not_found
from thecloud.domain.identity import Principal
from thecloud.domain.network import (
    Route,
    RouteAssociation,
    RouteTable,
    RouteTarget,
    Vpc,
    main_route_table,
    parse_cidr,
    validate_route,
)
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id, by_id_or_name
from thecloud.services.fabric import FabricSync
from thecloud.services.vpcs import find_subnet, find_vpc


class RouteTableService(Service):
    def __init__(self, kernel: Kernel, fabric: FabricSync) -> None:
        super().__init__(kernel)
        self._fabric = fabric

    async def create(
        self, p: Principal, vpc_ident: str, name: str, is_main: bool = False
    ) -> RouteTable:
        validate_name(name, "route table")
        async with self._uow() as uow:
            vpc = await find_vpc(uow, p.tenant_id, vpc_ident)
            self.allow(p, "vpc:update", "route_table", name=name)
            if await uow.route_tables.find_one(vpc_id=vpc.id, name=name):
                raise Conflict(f"VPC {vpc.name} already has a route table named {name!r}")
            now = self._clock.now()
            table = replace(main_route_table(vpc, now, p.id), name=name, is_main=is_main)
            if is_main:
                for old in await uow.route_tables.find(vpc_id=vpc.id, is_main=True):
                    await uow.route_tables.update(replace(old, is_main=False, updated_at=now))
            await uow.route_tables.add(table)
            await self._record(
                uow, p, "vpc:update", "route_table", table.id, {"name": name, "main": is_main}
            )
            await uow.commit()
        if is_main:
            await self._fabric.sync()
        return table

    async def list(self, p: Principal, query: ListQuery) -> Page[RouteTable]:
        self.allow(p, "vpc:read", "route_table")
        async with self._uow(read_only=True) as uow:
            return await uow.route_tables.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> tuple[RouteTable, builtins.list[str]]:
        """The table and the ids of the subnets associated with it."""
        async with self._uow(read_only=True) as uow:
            table = await self._find(uow, p, ident)
            subnets = [
                a.subnet_id for a in await uow.route_associations.find(route_table_id=table.id)
            ]
        self.allow(p, "vpc:read", "route_table", table.id, table.name)
        return table, sorted(subnets)

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> RouteTable:
        return await by_id(uow.route_tables, "route table", p.tenant_id, ident)

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            table = await self._find(uow, p, ident)
            self.allow(p, "vpc:delete", "route_table", table.id, table.name)
            if table.is_main:
                raise Conflict("the main route table goes only with its VPC")
            if await uow.route_associations.find(route_table_id=table.id):
                raise Conflict(f"route table {table.name} has subnets: disassociate them first")
            await uow.route_tables.delete(table.id)
            await self._record(uow, p, "vpc:delete", "route_table", table.id, {})
            await uow.commit()

    async def add_route(
        self, p: Principal, ident: str, destination: str, target_type: str, target_id: str | None
    ) -> RouteTable:
        async with self._uow() as uow:
            table = await self._find(uow, p, ident)
            self.allow(p, "vpc:update", "route_table", table.id, table.name)
            vpc = await find_vpc(uow, p.tenant_id, table.vpc_id)
            dest, target = validate_route(vpc, destination, target_type)
            target_id = await self._target(uow, p, vpc, target, target_id)
            if any(r.destination_cidr == dest for r in table.routes):
                raise Conflict(f"route table {table.name} already has a route to {dest}")
            changed = replace(
                table,
                routes=(*table.routes, Route(dest, target, target_id)),
                updated_at=self._clock.now(),
            )
            await uow.route_tables.update(changed)
            await self._record(
                uow, p, "vpc:update", "route_table", table.id,
                {"route_added": dest, "target": f"{target}:{target_id}"},
            )  # fmt: skip
            await uow.commit()
        await self._fabric.sync()
        return changed

    async def _target(
        self, uow: UnitOfWork, p: Principal, vpc: Vpc, target: RouteTarget, ident: str | None
    ) -> str:
        if not ident:
            raise InvalidInput(f"a route to a {target} needs its target_id")
        if target == RouteTarget.INTERNET_GATEWAY:
            igw = await by_id_or_name(uow.internet_gateways, "internet gateway", p.tenant_id, ident)
            if igw.vpc_id != vpc.id:
                raise InvalidInput(
                    f"internet gateway {igw.id} is not attached to VPC {vpc.name}: attach it first"
                )
            return igw.id
        nat = await by_id(uow.nat_gateways, "NAT gateway", p.tenant_id, ident)
        if nat.vpc_id != vpc.id:
            raise InvalidInput(f"NAT gateway {nat.id} is in another VPC")
        return nat.id

    async def remove_route(self, p: Principal, ident: str, destination: str) -> RouteTable:
        async with self._uow() as uow:
            table = await self._find(uow, p, ident)
            self.allow(p, "vpc:update", "route_table", table.id, table.name)
            destination = str(parse_cidr(destination, "destination_cidr"))
            kept = tuple(
                r
                for r in table.routes
                if r.destination_cidr != destination or r.target_type == RouteTarget.LOCAL
            )
            if len(kept) == len(table.routes):
                raise not_found("route", f"{destination} in route table {table.name}")
            changed = replace(table, routes=kept, updated_at=self._clock.now())
            await uow.route_tables.update(changed)
            await self._record(
                uow, p, "vpc:update", "route_table", table.id, {"route_removed": destination}
            )
            await uow.commit()
        await self._fabric.sync()
        return changed

    async def associate(self, p: Principal, ident: str, subnet_id: str) -> RouteTable:
        async with self._uow() as uow:
            table = await self._find(uow, p, ident)
            self.allow(p, "vpc:update", "route_table", table.id, table.name)
            subnet = await find_subnet(uow, p.tenant_id, subnet_id)
            if subnet.vpc_id != table.vpc_id:
                raise InvalidInput(f"subnet {subnet.name} is in another VPC")
            current = await uow.route_associations.find_one(subnet_id=subnet.id)
            if current is not None and current.route_table_id == table.id:
                return table
            if current is not None:
                await uow.route_associations.delete(current.id)
            await uow.route_associations.add(
                RouteAssociation(new_id(), p.tenant_id, table.id, subnet.id, self._clock.now())
            )
            await self._record(
                uow, p, "vpc:update", "route_table", table.id, {"associated": subnet.id}
            )
            await uow.commit()
        await self._fabric.sync()
        return table

    async def disassociate(self, p: Principal, ident: str, subnet_id: str) -> RouteTable:
        async with self._uow() as uow:
            table = await self._find(uow, p, ident)
            self.allow(p, "vpc:update", "route_table", table.id, table.name)
            current = await uow.route_associations.find_one(
                subnet_id=subnet_id, route_table_id=table.id
            )
            if current is None:
                raise Conflict(f"subnet {subnet_id} is not associated with {table.name}")
            await uow.route_associations.delete(current.id)
            await self._record(
                uow, p, "vpc:update", "route_table", table.id, {"disassociated": subnet_id}
            )
            await uow.commit()
        await self._fabric.sync()
        return table
