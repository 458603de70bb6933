"""Security groups: rules enforced in the data path, attached to instances of their VPC.

Every change is committed, then pushed to the fabric before the call returns, so an attach,
detach or new rule is in force when the client gets its answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from thecloud.domain.common import ListQuery, Page, new_id, validate_name
from thecloud.domain.compute import Instance
from thecloud.domain.errors import Conflict, InvalidInput
from thecloud.domain.identity import Principal
from thecloud.domain.network import (
    GroupMembership,
    SecurityGroup,
    SecurityRule,
    VpcStatus,
    new_security_group,
    validate_rule,
)
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id
from thecloud.services.fabric import FabricSync
from thecloud.services.instances import find_instance
from thecloud.services.placement import find_group
from thecloud.services.vpcs import find_vpc


@dataclass(frozen=True, slots=True)
class GroupView:
    group: SecurityGroup
    rules: tuple[SecurityRule, ...]
    instance_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RuleRequest:
    direction: str
    protocol: str
    port_from: int | None = None
    port_to: int | None = None
    cidr: str | None = None
    group_id: str | None = None
    priority: int | None = None
    action: str | None = None
    description: str = ""


class SecurityGroupService(Service):
    def __init__(self, kernel: Kernel, fabric: FabricSync) -> None:
        super().__init__(kernel)
        self._fabric = fabric

    async def create(
        self, p: Principal, vpc_ident: str, name: str, description: str = ""
    ) -> GroupView:
        validate_name(name, "security group")
        self.allow(p, "sg:create", "sg", name=name)
        async with self._uow() as uow:
            vpc = await find_vpc(uow, p.tenant_id, vpc_ident)
            if vpc.status != VpcStatus.AVAILABLE:
                raise Conflict(f"VPC {vpc.name} is being deleted")
            if await uow.security_groups.find_one(vpc_id=vpc.id, name=name):
                raise Conflict(f"VPC {vpc.name} already has a security group named {name!r}")
            group, rules = new_security_group(
                p.tenant_id, vpc.id, name, description, False, p.id, self._clock.now()
            )
            await uow.security_groups.add(group)
            for rule in rules:
                await uow.security_rules.add(rule)
            await self._record(uow, p, "sg:create", "sg", group.id, {"name": name})
            await uow.commit()
        return GroupView(group, tuple(rules), ())

    async def list(self, p: Principal, query: ListQuery) -> Page[GroupView]:
        self.allow(p, "sg:read", "sg")
        async with self._uow(read_only=True) as uow:
            page = await uow.security_groups.list(query, p.tenant_id)
            rules_of: dict[str, list[SecurityRule]] = defaultdict(list)
            for rule in await uow.security_rules.find(tenant_id=p.tenant_id):
                rules_of[rule.group_id].append(rule)
            live = {i.id for i in await uow.instances.find(tenant_id=p.tenant_id, deleted_at=None)}
            members_of: dict[str, list[str]] = defaultdict(list)
            for m in await uow.group_members.find(tenant_id=p.tenant_id):
                if m.instance_id in live:
                    members_of[m.group_id].append(m.instance_id)
            views = [_make_view(g, rules_of[g.id], members_of[g.id]) for g in page.items]
        return Page(items=views, total=page.total, limit=page.limit, offset=page.offset)

    async def get(self, p: Principal, ident: str) -> GroupView:
        async with self._uow(read_only=True) as uow:
            group = await find_group(uow, p.tenant_id, ident)
            self.allow(p, "sg:read", "sg", group.id, group.name)
            return await _view(uow, group)

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            group = await find_group(uow, p.tenant_id, ident)
            self.allow(p, "sg:delete", "sg", group.id, group.name)
            if group.is_default:
                raise Conflict("a VPC's default security group goes only with the VPC")
            if await _live_members(uow, group):
                raise Conflict(
                    f"security group {group.name} is attached to instances: detach it first"
                )
            users = [
                r
                for r in await uow.security_rules.find(peer_group_id=group.id)
                if r.group_id != group.id
            ]
            if users:
                raise Conflict(
                    f"security group {group.name} is named by rules of other groups: "
                    "remove those rules first"
                )
            await uow.security_groups.delete(group.id)
            await self._record(uow, p, "sg:delete", "sg", group.id, {"name": group.name})
            await uow.commit()
        await self._fabric.sync()

    async def add_rule(self, p: Principal, ident: str, req: RuleRequest) -> SecurityRule:
        checked = validate_rule(
            req.direction,
            req.protocol,
            req.port_from,
            req.port_to,
            req.cidr,
            req.group_id,
            req.priority,
            req.action,
        )
        async with self._uow() as uow:
            group = await find_group(uow, p.tenant_id, ident)
            self.allow(p, "sg:update", "sg", group.id, group.name)
            if req.group_id is not None:
                peer = await find_group(uow, p.tenant_id, req.group_id, group.vpc_id)
                if peer.vpc_id != group.vpc_id:
                    raise InvalidInput("a rule can only name a security group of the same VPC")
                checked["peer_group_id"] = peer.id
            rule = SecurityRule(
                id=new_id(),
                tenant_id=p.tenant_id,
                group_id=group.id,
                description=req.description[:255],
                created_at=self._clock.now(),
                **checked,
            )
            await uow.security_rules.add(rule)
            await self._record(uow, p, "sg:update", "sg", group.id, {"rule_added": rule.id})
            await uow.commit()
        await self._fabric.sync()
        return rule

    async def remove_rule(self, p: Principal, rule_id: str) -> None:
        async with self._uow() as uow:
            rule = await by_id(uow.security_rules, "security group rule", p.tenant_id, rule_id)
            self.allow(p, "sg:update", "sg", rule.group_id)
            await uow.security_rules.delete(rule.id)
            await self._record(uow, p, "sg:update", "sg", rule.group_id, {"rule_removed": rule.id})
            await uow.commit()
        await self._fabric.sync()

    async def attach(self, p: Principal, instance_ident: str, group_ident: str) -> GroupView:
        async with self._uow() as uow:
            group, instance = await self._pair(uow, p, instance_ident, group_ident)
            found = await uow.group_members.find_one(group_id=group.id, instance_id=instance.id)
            if found is None:
                member = GroupMembership(
                    new_id(), p.tenant_id, group.id, instance.id, self._clock.now()
                )
                await uow.group_members.add(member)
                await self._record(uow, p, "sg:update", "sg", group.id, {"attached": instance.id})
            view = await _view(uow, group)
            if found is None:
                await uow.commit()
        if found is None:
            await self._fabric.sync()
        return view

    async def detach(self, p: Principal, instance_ident: str, group_ident: str) -> GroupView:
        async with self._uow() as uow:
            group, instance = await self._pair(uow, p, instance_ident, group_ident)
            member = await uow.group_members.find_one(group_id=group.id, instance_id=instance.id)
            if member is None:
                raise Conflict(f"instance {instance.name} is not in security group {group.name}")
            await uow.group_members.delete(member.id)
            await self._record(uow, p, "sg:update", "sg", group.id, {"detached": instance.id})
            view = await _view(uow, group)
            await uow.commit()
        await self._fabric.sync()
        return view

    async def _pair(
        self, uow: UnitOfWork, p: Principal, instance_ident: str, group_ident: str
    ) -> tuple[SecurityGroup, Instance]:
        instance = await find_instance(uow, p.tenant_id, instance_ident)
        group = await find_group(uow, p.tenant_id, group_ident, instance.vpc_id)
        self.allow(p, "sg:update", "sg", group.id, group.name)
        if instance.deleted_at is not None:
            raise Conflict(f"instance {instance.name} is terminated")
        if instance.vpc_id != group.vpc_id:
            raise InvalidInput(
                f"instance {instance.name} is not in the VPC of security group {group.name}"
            )
        return group, instance


async def _live_members(uow: UnitOfWork, group: SecurityGroup) -> list[str]:
    """Ids of the group's instances that are not terminated (all are in its VPC)."""
    live = {i.id for i in await uow.instances.find(vpc_id=group.vpc_id, deleted_at=None)}
    return [
        m.instance_id
        for m in await uow.group_members.find(group_id=group.id)
        if m.instance_id in live
    ]


async def _view(uow: UnitOfWork, group: SecurityGroup) -> GroupView:
    rules = await uow.security_rules.find(group_id=group.id)
    return _make_view(group, rules, await _live_members(uow, group))


def _make_view(
    group: SecurityGroup, rules: Iterable[SecurityRule], members: Iterable[str]
) -> GroupView:
    ordered = sorted(rules, key=lambda r: (r.priority, r.created_at, r.id))
    return GroupView(group, tuple(ordered), tuple(sorted(members)))
