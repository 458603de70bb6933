"""SQL repositories of networking: VPCs, subnets, security groups and their rules, peerings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thecloud.adapters.sql import tables as t
from thecloud.adapters.sql.base import SqlRepository
from thecloud.domain.network import (
    Direction,
    GroupMembership,
    PeeringStatus,
    Protocol,
    RuleAction,
    SecurityGroup,
    SecurityRule,
    Subnet,
    Vpc,
    VpcPeering,
    VpcStatus,
)


class SqlVpcs(SqlRepository[Vpc]):
    entity, table, label = Vpc, t.vpcs, "VPC"

    def decode(self, row: Mapping[str, Any]) -> Vpc:
        return super().decode({**row, "status": VpcStatus(row["status"])})

    def encode(self, item: Vpc) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status), "labels": dict(item.labels)}


class SqlSubnets(SqlRepository[Subnet]):
    entity, table, label = Subnet, t.subnets, "subnet"


class SqlSecurityGroups(SqlRepository[SecurityGroup]):
    entity, table, label = SecurityGroup, t.security_groups, "security group"


class SqlSecurityRules(SqlRepository[SecurityRule]):
    entity, table, label = SecurityRule, t.security_rules, "security group rule"

    def decode(self, row: Mapping[str, Any]) -> SecurityRule:
        return super().decode(
            {
                **row,
                "direction": Direction(row["direction"]),
                "protocol": Protocol(row["protocol"]),
                "action": RuleAction(row["action"]),
            }
        )

    def encode(self, item: SecurityRule) -> dict[str, Any]:
        return {
            **super().encode(item),
            "direction": str(item.direction),
            "protocol": str(item.protocol),
            "action": str(item.action),
        }


class SqlGroupMembers(SqlRepository[GroupMembership]):
    entity, table, label = GroupMembership, t.group_members, "security group attachment"


class SqlPeerings(SqlRepository[VpcPeering]):
    entity, table, label = VpcPeering, t.vpc_peerings, "VPC peering"

    def decode(self, row: Mapping[str, Any]) -> VpcPeering:
        return super().decode({**row, "status": PeeringStatus(row["status"])})

    def encode(self, item: VpcPeering) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status)}
