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


class MemoryInternetGateways(MemoryRepository[InternetGateway]):
    entity, table, label = InternetGateway, "internet_gateways", "internet gateway"


class MemoryNatGateways(MemoryRepository[NatGateway]):
    entity, table, label = NatGateway, "nat_gateways", "NAT gateway"


class MemoryRouteTables(MemoryRepository[RouteTable]):
    entity, table, label = RouteTable, "route_tables", "route table"


class MemoryRouteAssociations(MemoryRepository[RouteAssociation]):
    entity, table, label = RouteAssociation, "route_associations", "route table association"
