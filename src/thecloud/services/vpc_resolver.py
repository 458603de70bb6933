"""Name resolution inside VPCs: every VPC's router address runs a resolver (the
VpcResolverServer port) that answers the VPC's own private zones and the public zones, says
NXDOMAIN for every other zone of the platform (another VPC's, another tenant's) and passes
other names to the host's resolvers. Instances in a VPC get its router as their DNS server."""

from __future__ import annotations

import logging
from collections import defaultdict

from thecloud.domain.compute import Instance
from thecloud.domain.network import VpcStatus
from thecloud.ports.dns import VpcResolverServer, ZoneView
from thecloud.ports.uow import UnitOfWorkFactory

log = logging.getLogger(__name__)


class VpcResolver:
    def __init__(self, uow: UnitOfWorkFactory, server: VpcResolverServer) -> None:
        self._uow, self.server = uow, server
        self._gateways: dict[str, str] = {}
        server.use(self.view)

    async def view(self) -> ZoneView:
        """Which zones each VPC may see (read by the server, cached briefly)."""
        async with self._uow(read_only=True) as uow:
            zones = await uow.dns_zones.find()
            vpcs = [v.id for v in await uow.vpcs.find()]
        public = frozenset(z.name for z in zones if z.vpc_id is None)
        private: dict[str, set[str]] = defaultdict(set)
        for z in zones:
            if z.vpc_id is not None:
                private[z.vpc_id].add(z.name)
        return ZoneView(
            zones=frozenset(z.name for z in zones),
            visible={v: public | frozenset(private[v]) for v in vpcs},
        )

    async def prepare(self, i: Instance) -> None:
        """Before an instance of a VPC starts: its VPC's resolver listens."""
        if i.vpc_id is None:
            return
        async with self._uow(read_only=True) as uow:
            vpc = await uow.vpcs.get(i.vpc_id)
        if vpc is not None:
            self._gateways[vpc.id] = vpc.gateway_ip
            await self.server.serve(vpc.id, vpc.gateway_ip)

    async def released(self, i: Instance) -> None:  # noqa: ARG002 - nothing to undo
        return None

    def container_dns(self, i: Instance) -> tuple[str, ...]:
        """The DNS servers an instance's container gets: its VPC's router (known once
        `prepare` ran), none outside a VPC (the engine's default)."""
        gateway = self._gateways.get(i.vpc_id or "")
        return (gateway,) if gateway else ()

    async def reconcile(self) -> int:
        """A resolver on every live VPC's router, none for a VPC that is gone."""
        async with self._uow(read_only=True) as uow:
            vpcs = {v.id: v for v in await uow.vpcs.find() if v.status == VpcStatus.AVAILABLE}
        changed = 0
        for vpc in vpcs.values():
            self._gateways[vpc.id] = vpc.gateway_ip
            if self.server.serving().get(vpc.id) != vpc.gateway_ip:
                changed += await self.server.serve(vpc.id, vpc.gateway_ip)
        for gone in set(self.server.serving()) - set(vpcs):
            await self.server.stop(gone)
            self._gateways.pop(gone, None)
            changed += 1
        self.server.forget_view()
        return changed
