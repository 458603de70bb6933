"""Networking: VPCs, subnets, IP address management, security groups and VPC peering.

A VPC is a private IPv4 range (RFC 1918, /16 to /28); subnets are non-overlapping ranges inside
it; every instance in a VPC has one private address in one subnet. Security groups hold
ordered allow/deny rules; an instance's effective policy is the union of its groups' rules,
evaluated by priority (lower first, deny before allow at equal priority), then deny.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from thecloud.domain.common import new_id
from thecloud.domain.errors import Conflict, InvalidInput

IPv4Net = ipaddress.IPv4Network
DEFAULT_VPC_CIDR = "10.0.0.0/16"
PRIVATE_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
MIN_PREFIX, MAX_PREFIX = 16, 28


class VpcStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    DELETING = "DELETING"  # a forced delete waits for its instances to go


class PeeringStatus(StrEnum):
    PENDING_ACCEPTANCE = "PENDING_ACCEPTANCE"
    ACTIVE = "ACTIVE"
    REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class Vpc:
    id: str
    tenant_id: str
    name: str
    cidr: str
    status: VpcStatus
    network: str  # the engine's network name (one bridge per VPC)
    bridge: str  # the host interface of that bridge
    gateway_ip: str  # the VPC router: the first address of the CIDR, on the bridge
    description: str
    labels: dict[str, str]
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class Subnet:
    id: str
    tenant_id: str
    vpc_id: str
    name: str
    cidr: str
    availability_zone: str
    gateway_ip: str  # where instances of the subnet route: the VPC router
    created_by: str
    created_at: datetime
    updated_at: datetime


class Direction(StrEnum):
    INGRESS = "ingress"
    EGRESS = "egress"


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ICMP = "icmp"
    ALL = "all"


class RuleAction(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class SecurityGroup:
    id: str
    tenant_id: str
    vpc_id: str
    name: str
    description: str
    is_default: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SecurityRule:
    """One rule of a group. The peer is a CIDR or another group of the same VPC (its members'
    addresses); ports apply to tcp and udp only (None = every port)."""

    id: str
    tenant_id: str
    group_id: str
    direction: Direction
    protocol: Protocol
    port_from: int | None
    port_to: int | None
    cidr: str | None
    peer_group_id: str | None
    priority: int
    action: RuleAction
    description: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class GroupMembership:
    """An instance's attachment to a security group."""

    id: str
    tenant_id: str
    group_id: str
    instance_id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VpcPeering:
    id: str
    tenant_id: str
    requester_vpc_id: str
    accepter_vpc_id: str
    status: PeeringStatus
    created_by: str
    created_at: datetime
    updated_at: datetime


def parse_cidr(text: str, what: str = "cidr") -> IPv4Net:
    try:
        net = ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as exc:
        hint = ""
        try:
            hint = f" (did you mean {ipaddress.ip_network(text.strip(), strict=False)}?)"
        except ValueError:
            pass
        raise InvalidInput(f"{what} {text!r} is not an IPv4 network: {exc}{hint}") from None
    if not isinstance(net, IPv4Net):
        raise InvalidInput(f"{what} {text!r}: only IPv4 networks are supported")
    return net


def validate_vpc_cidr(text: str) -> IPv4Net:
    net = parse_cidr(text)
    if not any(net.subnet_of(r) for r in PRIVATE_RANGES):  # type: ignore[arg-type]
        raise InvalidInput(
            f"cidr {text!r} is not a private range: use one inside 10.0.0.0/8, "
            "172.16.0.0/12 or 192.168.0.0/16"
        )
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        raise InvalidInput(f"cidr {text!r}: a VPC is /{MIN_PREFIX} to /{MAX_PREFIX}")
    return net


def vpc_gateway(net: IPv4Net) -> str:
    return str(net.network_address + 1)


def validate_subnet_cidr(text: str, vpc: Vpc, siblings: Iterable[Subnet]) -> IPv4Net:
    net = parse_cidr(text)
    outer = parse_cidr(vpc.cidr)
    if not net.subnet_of(outer):
        raise InvalidInput(f"subnet cidr {text!r} is not inside the VPC's {vpc.cidr}")
    if net.prefixlen > MAX_PREFIX:
        raise InvalidInput(f"subnet cidr {text!r}: a subnet is at most /{MAX_PREFIX}")
    for other in siblings:
        if net.overlaps(parse_cidr(other.cidr)):
            raise Conflict(f"subnet cidr {text!r} overlaps subnet {other.name} ({other.cidr})")
    return net


def next_free_vpc_cidr(taken: Sequence[str]) -> str:
    """10.0.0.0/16 if free, else the first free 10.N.0.0/16."""
    used = [parse_cidr(c) for c in taken]
    for n in range(256):
        candidate = ipaddress.IPv4Network(f"10.{n}.0.0/16")
        if not any(candidate.overlaps(u) for u in used):
            return str(candidate)
    raise Conflict("no free /16 left in 10.0.0.0/8: give the VPC a cidr")


def reserved(subnet: IPv4Net, vpc_gateway_ip: str) -> set[ipaddress.IPv4Address]:
    """The addresses of a subnet no instance gets: its network and broadcast addresses, its
    first host (kept for a router of its own, as clouds do) and the VPC router."""
    out = {subnet.network_address, subnet.broadcast_address, subnet.network_address + 1}
    out.add(ipaddress.IPv4Address(vpc_gateway_ip))
    return out


def allocate_ip(subnet: Subnet, used: Iterable[str], requested: str | None = None) -> str:
    """The requested address if it is free and usable in the subnet, else the lowest free one."""
    net = parse_cidr(subnet.cidr)
    taken = {ipaddress.IPv4Address(u) for u in used}
    blocked = reserved(net, subnet.gateway_ip)
    if requested:
        try:
            addr = ipaddress.IPv4Address(requested.strip())
        except ValueError:
            raise InvalidInput(f"private_ip {requested!r} is not an IPv4 address") from None
        if addr not in net:
            raise InvalidInput(f"private_ip {requested} is not in subnet {subnet.cidr}")
        if addr in blocked:
            raise InvalidInput(
                f"private_ip {requested} is reserved in subnet {subnet.cidr} (network, "
                "broadcast, first host and the VPC router)"
            )
        if addr in taken:
            raise Conflict(f"private_ip {requested} is in use in subnet {subnet.cidr}")
        return str(addr)
    for addr in net.hosts():
        if addr not in blocked and addr not in taken:
            return str(addr)
    raise Conflict(f"subnet {subnet.name} ({subnet.cidr}) has no free address left")


MIN_PRIORITY, MAX_PRIORITY, DEFAULT_PRIORITY = 1, 4096, 100


def validate_rule(
    direction: str,
    protocol: str,
    port_from: int | None,
    port_to: int | None,
    cidr: str | None,
    peer_group_id: str | None,
    priority: int | None,
    action: str | None,
) -> dict[str, Any]:
    """The checked fields of a new rule (everything but ids and times)."""
    d = _choice(Direction, direction, "direction")
    proto = _choice(Protocol, protocol, "protocol")
    act = _choice(RuleAction, action or "allow", "action")
    if (cidr is None) == (peer_group_id is None):
        raise InvalidInput("a rule needs exactly one of cidr (e.g. 0.0.0.0/0) or source_group_id")
    net = str(parse_cidr(cidr)) if cidr is not None else None
    if proto in (Protocol.TCP, Protocol.UDP):
        port_from, port_to = _ports(port_from, port_to)
    elif port_from is not None or port_to is not None:
        raise InvalidInput(f"ports apply to tcp and udp only, not to {proto}")
    prio = DEFAULT_PRIORITY if priority is None else priority
    if not MIN_PRIORITY <= prio <= MAX_PRIORITY:
        raise InvalidInput(f"priority must be {MIN_PRIORITY}-{MAX_PRIORITY} (lower is first)")
    return {
        "direction": d,
        "protocol": proto,
        "port_from": port_from,
        "port_to": port_to,
        "cidr": net,
        "peer_group_id": peer_group_id,
        "priority": prio,
        "action": act,
    }


def _ports(port_from: int | None, port_to: int | None) -> tuple[int | None, int | None]:
    if port_from is None and port_to is None:
        return None, None
    low = port_from if port_from is not None else port_to
    high = port_to if port_to is not None else port_from
    assert low is not None and high is not None  # noqa: S101 - one of them is set
    if not 1 <= low <= high <= 65535:
        raise InvalidInput("ports must satisfy 1 <= port_from <= port_to <= 65535")
    return low, high


def _choice(kind: type[StrEnum], value: str, field: str) -> Any:
    try:
        return kind(value.lower())
    except ValueError:
        options = ", ".join(m.value for m in kind)
        raise InvalidInput(f"{field} {value!r} is invalid: one of {options}") from None


def new_security_group(
    tenant_id: str,
    vpc_id: str,
    name: str,
    description: str,
    is_default: bool,
    actor: str,
    now: datetime,
) -> tuple[SecurityGroup, list[SecurityRule]]:
    """A new security group and the rules it starts with (`default_rules`)."""
    group = SecurityGroup(
        new_id(), tenant_id, vpc_id, name, description, is_default, actor, now, now
    )
    return group, default_rules(group, now)


def default_rules(group: SecurityGroup, now: datetime) -> list[SecurityRule]:
    """A default group lets its members talk to each other and everything out; a new group
    lets everything out (its ingress is closed until a rule opens it)."""
    out = [
        SecurityRule(
            new_id(), group.tenant_id, group.id, Direction.EGRESS, Protocol.ALL, None, None,
            "0.0.0.0/0", None, DEFAULT_PRIORITY, RuleAction.ALLOW, "all traffic out", now,
        )
    ]  # fmt: skip
    if group.is_default:
        out.append(
            SecurityRule(
                new_id(), group.tenant_id, group.id, Direction.INGRESS, Protocol.ALL, None,
                None, None, group.id, DEFAULT_PRIORITY, RuleAction.ALLOW,
                "members of this group", now,
            )
        )  # fmt: skip
    return out


def peers_overlap(a: Vpc, b: Vpc) -> bool:
    return parse_cidr(a.cidr).overlaps(parse_cidr(b.cidr))


def touched(vpc: Vpc, now: datetime, **changes: Any) -> Vpc:
    return replace(vpc, **changes, updated_at=now, version=vpc.version + 1)


DEFAULT_EIP_POOL = "100.64.0.0/10"


class EipStatus(StrEnum):
    ALLOCATED = "ALLOCATED"
    ASSOCIATED = "ASSOCIATED"


@dataclass(frozen=True, slots=True)
class ElasticIp:
    """A stable public address from the platform's pool; associated, it is NATed to one
    instance's private address (and that instance's traffic out leaves from it)."""

    id: str
    tenant_id: str
    address: str
    status: EipStatus
    instance_id: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


def free_address(pool: str, taken: Iterable[str]) -> str:
    net = parse_cidr(pool, "elastic IP pool")
    used = {ipaddress.IPv4Address(a) for a in taken}
    for addr in net.hosts():
        if addr not in used:
            return str(addr)
    raise Conflict(f"the elastic IP pool {pool} is exhausted: release unused addresses")


class GatewayStatus(StrEnum):
    DETACHED = "DETACHED"
    ATTACHED = "ATTACHED"
    AVAILABLE = "AVAILABLE"  # a NAT gateway


@dataclass(frozen=True, slots=True)
class InternetGateway:
    id: str
    tenant_id: str
    name: str
    vpc_id: str | None
    status: GatewayStatus
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NatGateway:
    """Lets the subnets that route through it reach the world, their traffic leaving from its
    elastic IP; nothing from outside can open a connection back through it."""

    id: str
    tenant_id: str
    vpc_id: str
    subnet_id: str
    eip_id: str
    status: GatewayStatus
    created_by: str
    created_at: datetime
    updated_at: datetime


class RouteTarget(StrEnum):
    LOCAL = "local"
    INTERNET_GATEWAY = "igw"
    NAT_GATEWAY = "nat"


@dataclass(frozen=True, slots=True)
class Route:
    destination_cidr: str
    target_type: RouteTarget
    target_id: str | None


@dataclass(frozen=True, slots=True)
class RouteTable:
    """Routes for traffic leaving the VPC. A subnet uses the table it is associated with,
    else its VPC's main table; the local route (the VPC's own range) is always there."""

    id: str
    tenant_id: str
    vpc_id: str
    name: str
    is_main: bool
    routes: tuple[Route, ...]
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RouteAssociation:
    id: str
    tenant_id: str
    route_table_id: str
    subnet_id: str
    created_at: datetime


def validate_route(vpc: Vpc, destination: str, target_type: str) -> tuple[str, RouteTarget]:
    dest = str(parse_cidr(destination, "destination_cidr"))
    target = _choice(RouteTarget, target_type, "target_type")
    if target == RouteTarget.LOCAL:
        raise InvalidInput("the local route is the VPC's own and cannot be added or removed")
    if parse_cidr(dest).subnet_of(parse_cidr(vpc.cidr)):
        raise InvalidInput(
            f"destination_cidr {dest} is inside the VPC's own range {vpc.cidr}: the local "
            "route takes that traffic"
        )
    return dest, target


def main_route_table(vpc: Vpc, now: datetime, actor: str) -> RouteTable:
    """A VPC's first table: the local route only (nothing leaves the VPC)."""
    local = Route(vpc.cidr, RouteTarget.LOCAL, None)
    return RouteTable(new_id(), vpc.tenant_id, vpc.id, "main", True, (local,), actor, now, now)
