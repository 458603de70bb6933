"""SQL repositories of networking: VPCs, subnets, security groups and their rules, peerings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thecloud.adapters.sql import tables as t
from thecloud.adapters.sql.base import SqlRepository
from thecloud.domain.network import (
    Direction,
    EipStatus,
    ElasticIp,
    GatewayStatus,
    GroupMembership,
    InternetGateway,
    NatGateway,
    PeeringStatus,
    Protocol,
    Route,
    RouteAssociation,
    RouteTable,
    RouteTarget,
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


class SqlElasticIps(SqlRepository[ElasticIp]):
    entity, table, label = ElasticIp, t.elastic_ips, "elastic IP"

    def decode(self, row: Mapping[str, Any]) -> ElasticIp:
        return super().decode({**row, "status": EipStatus(row["status"])})

    def encode(self, item: ElasticIp) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status)}


class SqlInternetGateways(SqlRepository[InternetGateway]):
    entity, table, label = InternetGateway, t.internet_gateways, "internet gateway"

    def decode(self, row: Mapping[str, Any]) -> InternetGateway:
        return super().decode({**row, "status": GatewayStatus(row["status"])})

    def encode(self, item: InternetGateway) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status)}


class SqlNatGateways(SqlRepository[NatGateway]):
    entity, table, label = NatGateway, t.nat_gateways, "NAT gateway"

    def decode(self, row: Mapping[str, Any]) -> NatGateway:
        return super().decode({**row, "status": GatewayStatus(row["status"])})

    def encode(self, item: NatGateway) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status)}


class SqlRouteTables(SqlRepository[RouteTable]):
    entity, table, label = RouteTable, t.route_tables, "route table"

    def decode(self, row: Mapping[str, Any]) -> RouteTable:
        routes = tuple(Route(d, RouteTarget(k), i) for d, k, i in row["routes"])
        return super().decode({**row, "routes": routes})

    def encode(self, item: RouteTable) -> dict[str, Any]:
        routes = [[r.destination_cidr, str(r.target_type), r.target_id] for r in item.routes]
        return {**super().encode(item), "routes": routes}


class SqlRouteAssociations(SqlRepository[RouteAssociation]):
    entity, table, label = RouteAssociation, t.route_associations, "route table association"
