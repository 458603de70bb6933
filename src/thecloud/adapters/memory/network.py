"""In-memory repositories of networking (unit tests)."""

from __future__ import annotations

from thecloud.adapters.memory.base import MemoryRepository
from thecloud.domain.network import (
    GroupMembership,
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
