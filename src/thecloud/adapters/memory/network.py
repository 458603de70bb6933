"""In-memory repositories of networking (unit tests)."""

from __future__ import annotations

from thecloud.adapters.memory.base import MemoryRepository
from thecloud.domain.network import (
    ElasticIp,
    GroupMembership,
    InternetGateway,
    NatGateway,
    RouteAssociation,
    RouteTable,
    SecurityGroup,
    SecurityRule,
    Subnet,
    Vpc,
    VpcPeering,
)


class MemoryVpcs(MemoryRepository[Vpc]):
    entity, table, label = Vpc, "vpcs", "VPC"


class MemorySubnets(MemoryRepository[Subnet]):
    entity, table, label = Subnet, "subnets", "subnet"


class MemorySecurityGroups(MemoryRepository[SecurityGroup]):
    entity, table, label = SecurityGroup, "security_groups", "security group"


class MemorySecurityRules(MemoryRepository[SecurityRule]):
    entity, table, label = SecurityRule, "security_rules", "security group rule"


class MemoryGroupMembers(MemoryRepository[GroupMembership]):
    entity, table, label = GroupMembership, "group_members", "security group attachment"


class MemoryPeerings(MemoryRepository[VpcPeering]):
    entity, table, label = VpcPeering, "vpc_peerings", "VPC peering"


class MemoryElasticIps(MemoryRepository[ElasticIp]):
    entity, table, label = ElasticIp, "elastic_ips", "elastic IP"

    def _clashes(self, item: ElasticIp, own_key: object) -> bool:
        if super()._clashes(item, own_key):
            return True
        return item.instance_id is not None and any(
            k != own_key and r.instance_id == item.instance_id for k, r in self._rows.items()
        )


class MemoryInternetGateways(MemoryRepository[InternetGateway]):
    entity, table, label = InternetGateway, "internet_gateways", "internet gateway"

    def _clashes(self, item: InternetGateway, own_key: object) -> bool:
        return item.vpc_id is not None and any(
            k != own_key and r.vpc_id == item.vpc_id for k, r in self._rows.items()
        )


class MemoryNatGateways(MemoryRepository[NatGateway]):
    entity, table, label = NatGateway, "nat_gateways", "NAT gateway"


class MemoryRouteTables(MemoryRepository[RouteTable]):
    entity, table, label = RouteTable, "route_tables", "route table"


class MemoryRouteAssociations(MemoryRepository[RouteAssociation]):
    entity, table, label = RouteAssociation, "route_associations", "route table association"
