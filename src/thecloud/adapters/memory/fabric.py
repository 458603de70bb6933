"""An in-memory NetworkFabric: networks in a dict, the last synced policy, and `allows()`,
a reference evaluation of that policy (what the iptables chains enforce) for unit tests."""

from __future__ import annotations

import builtins
import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime

from thecloud.adapters.docker.firewall import bridge_of, tag_of
from thecloud.domain.errors import BackendUnavailable, Conflict, RangeInUse
from thecloud.ports.network import Endpoint, FabricState, Filter, NetworkSpec, NetworkState


class MemoryFabric:
    def __init__(self, installation: str = "test") -> None:
        self.tag = tag_of(installation)
        self.nets: dict[str, NetworkState] = {}
        self.state = FabricState()
        self.syncs = 0
        self.down = False
        self.attached: dict[str, int] = {}  # network name -> containers (tests set it)

    def bridge_name(self, vpc_id: str) -> str:
        return bridge_of(self.tag, vpc_id)

    def _up(self) -> None:
        if self.down:
            raise BackendUnavailable("the network fabric is down (test)")

    async def ensure_network(self, spec: NetworkSpec) -> NetworkState:
        self._up()
        if spec.name in self.nets:
            return self.nets[spec.name]
        new = ipaddress.ip_network(spec.cidr)
        for other in self.nets.values():
            if new.overlaps(ipaddress.ip_network(other.cidr)):
                raise RangeInUse(f"cidr {spec.cidr} overlaps a network already on this host")
        state = NetworkState(
            f"net-{len(self.nets)}", spec.name, spec.cidr, dict(spec.labels), datetime.now(UTC)
        )
        self.nets[spec.name] = state
        return state

    async def remove_network(self, name: str) -> None:
        self._up()
        if self.attached.get(name):
            raise Conflict(f"network {name} still has containers attached")
        self.nets.pop(name, None)

    async def networks(self, labels: Mapping[str, str]) -> builtins.list[NetworkState]:
        self._up()
        return [n for n in self.nets.values() if labels.items() <= n.labels.items()]

    async def sync(self, state: FabricState) -> None:
        self._up()
        self.state = state
        self.syncs += 1

    async def clear(self) -> None:
        self.state = FabricState()

    def allows(self, src: str, dst: str, protocol: str = "tcp", port: int | None = None) -> bool:
        """Would a new connection from instance address `src` to `dst` pass? (Both are
        instance addresses; the path rules and both endpoints' filters apply.)"""
        by_ip = {e.ip: e for e in self.state.endpoints}
        a, b = by_ip.get(src), by_ip.get(dst)
        if a is None or b is None:
            return False
        if a.vpc_id != b.vpc_id and not any(
            {a.vpc_id, b.vpc_id} == {x, y} for x, y in self.state.peerings
        ):
            return False
        return _passes(a, "egress", dst, protocol, port) and _passes(
            b, "ingress", src, protocol, port
        )


def _passes(e: Endpoint, direction: str, peer: str, protocol: str, port: int | None) -> bool:
    for f in e.filters:
        if f.direction == direction and _matches(f, peer, protocol, port):
            return f.allow
    return False


def _matches(f: Filter, peer: str, protocol: str, port: int | None) -> bool:
    if f.protocol != "all" and f.protocol != protocol:
        return False
    if f.protocol in ("tcp", "udp") and f.port_from is not None:
        if port is None or not f.port_from <= port <= (f.port_to or f.port_from):
            return False
    addr = ipaddress.ip_address(peer)
    return any(addr in ipaddress.ip_network(c) for c in f.peers)
