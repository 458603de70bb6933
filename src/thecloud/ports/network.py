"""The network fabric: the host networks VPCs live on and the data path that enforces policy.

One network per VPC (a Docker bridge now, an Open vSwitch bridge later). `sync` is given the
whole desired policy of this installation (`FabricState`) and makes the data path enforce
exactly that, atomically, removing whatever it had installed before and nothing else. Every
network carries labels (LABEL_VPC, LABEL_MANAGED) so a reconciler finds leftovers after a
crash. Methods may raise BackendUnavailable; a network still in use is a Conflict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

LABEL_VPC = "thecloud.vpc"


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    name: str
    bridge: str  # host interface name (at most 15 characters)
    cidr: str
    gateway: str
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class NetworkState:
    id: str
    name: str
    cidr: str
    labels: Mapping[str, str]
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Filter:
    """One effective rule of an endpoint: who (CIDRs, already resolved from groups), what
    (protocol and port range; None = every port), and the verdict."""

    direction: str  # "ingress" | "egress"
    allow: bool
    protocol: str  # "tcp" | "udp" | "icmp" | "all"
    peers: tuple[str, ...]  # CIDRs; an empty tuple matches nothing
    port_from: int | None = None
    port_to: int | None = None


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An instance's address in a VPC and its filters, in evaluation order (then deny)."""

    instance_id: str
    vpc_id: str
    ip: str
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Egress:
    """Traffic from `source` to `destination` beyond the platform may leave (a route to a
    gateway), with its source address rewritten to `snat` when given (an elastic IP or a NAT
    gateway's), else to the host's."""

    source: str
    destination: str = "0.0.0.0/0"
    snat: str | None = None


@dataclass(frozen=True, slots=True)
class VpcNet:
    id: str
    bridge: str
    cidr: str
    egress: tuple[Egress, ...] = ()  # in order: the first that matches decides the snat
    gateway: str = ""  # the VPC router's address on the bridge ("": instances reach no host)


@dataclass(frozen=True, slots=True)
class PublicAddress:
    """An elastic IP: traffic to `public` goes to the instance at `private`."""

    public: str
    private: str


@dataclass(frozen=True, slots=True)
class FabricState:
    vpcs: tuple[VpcNet, ...] = ()
    peerings: tuple[tuple[str, str], ...] = ()  # active pairs of VPC ids
    endpoints: tuple[Endpoint, ...] = ()
    public: tuple[PublicAddress, ...] = ()


class NetworkFabric(Protocol):
    def bridge_name(self, vpc_id: str) -> str:
        """The host interface name the VPC's network gets."""
        ...

    async def ensure_network(self, spec: NetworkSpec) -> NetworkState:
        """Create the network unless one of that name exists; idempotent."""
        ...

    async def remove_network(self, name: str) -> None:
        """Remove it; a missing network is not an error, one with endpoints is a Conflict."""
        ...

    async def networks(self, labels: Mapping[str, str]) -> list[NetworkState]: ...

    async def sync(self, state: FabricState) -> None:
        """Make the data path enforce exactly `state` (one atomic change)."""
        ...

    async def clear(self) -> None:
        """Remove everything `sync` installed (an installation being torn down)."""
        ...
