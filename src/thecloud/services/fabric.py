"""The desired data path, read from the metadata store and handed to the network fabric.

Every change of networking (a VPC, a peering, a security group rule, an instance that starts
or goes) ends with `FabricSync.sync()`: it reads the whole policy of the installation, turns
security groups into per-instance filters and lets the fabric install exactly that. Syncs
coalesce inside a process (a sync that starts after your change covers it) and are
serialised across the server's processes with a lock file, so the newest state always lands
last. The reconciler (`reconcile`) re-applies the policy, recreates a VPC network that went
missing and removes networks no VPC owns (a crash between creating one and recording it).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import logging
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from thecloud.domain.compute import Instance
from thecloud.domain.network import (
    EipStatus,
    PeeringStatus,
    RouteTarget,
    RuleAction,
    SecurityRule,
    Vpc,
    VpcStatus,
)
from thecloud.ports.clock import Clock
from thecloud.ports.compute import LABEL_MANAGED, LABEL_TENANT
from thecloud.ports.network import (
    LABEL_VPC,
    Egress,
    Endpoint,
    FabricState,
    Filter,
    NetworkFabric,
    NetworkSpec,
    PublicAddress,
    VpcNet,
)
from thecloud.ports.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)


def network_name(vpc_id: str) -> str:
    return f"thecloud-vpc-{vpc_id}"


def network_spec(vpc: Vpc, installation: str) -> NetworkSpec:
    labels = {LABEL_VPC: vpc.id, LABEL_TENANT: vpc.tenant_id, LABEL_MANAGED: installation}
    return NetworkSpec(vpc.network, vpc.bridge, vpc.cidr, vpc.gateway_ip, labels)


class FabricSync:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        fabric: NetworkFabric,
        clock: Clock,
        installation: str,
        lock_path: Path | None = None,
        orphan_grace: timedelta = timedelta(minutes=2),
    ) -> None:
        self._uow, self.fabric, self._clock = uow, fabric, clock
        self._grace = orphan_grace  # a network younger than this may be a create in flight
        self._installation, self._lock_path = installation, lock_path
        self._lock = asyncio.Lock()
        self._net_lock = asyncio.Lock()
        self._asked = self._done = 0

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Held while networks are made or removed together with their rows (VPC create and
        delete, the reconciler), so the reconciler never sees a half-done change."""
        path = self._lock_path.with_name("networks.lock") if self._lock_path else None
        async with self._net_lock, _FileLock(path):
            yield

    def bridge_name(self, vpc_id: str) -> str:
        """The host interface name a new VPC's network gets."""
        return self.fabric.bridge_name(vpc_id)

    async def ensure_network(self, vpc: Vpc) -> None:
        """The VPC's network exists (labelled as this installation's); idempotent."""
        await self.fabric.ensure_network(network_spec(vpc, self._installation))

    async def remove_network(self, vpc: Vpc) -> None:
        """The VPC's network is gone (a missing one is fine)."""
        await self.fabric.remove_network(vpc.network)

    async def sync(self) -> None:
        """Make the data path match the store (call after committing a networking change)."""
        self._asked += 1
        mine = self._asked
        async with self._lock:
            if self._done >= mine:
                return  # a sync that started after this request already covered it
            started = self._asked
            async with _FileLock(self._lock_path):
                async with self._uow(read_only=True) as uow:
                    state = await desired(uow)
                await self.fabric.sync(state)
            self._done = started

    async def prepare(self, i: Instance) -> None:
        """Before an instance's container starts: its VPC's network exists and the data path
        knows the instance (so its first packet meets its security groups)."""
        if i.vpc_id is None:
            return
        async with self._uow(read_only=True) as uow:
            vpc = await uow.vpcs.get(i.vpc_id)
        if vpc is not None:
            await self.ensure_network(vpc)
        await self.sync()

    async def released(self, i: Instance) -> None:
        """After an instance is gone: its elastic IP stays allocated but is free again, and
        the data path forgets the instance."""
        if i.vpc_id is None:
            return
        async with self._uow() as uow:
            eip = await uow.elastic_ips.find_one(instance_id=i.id)
            if eip is not None:
                free = replace(
                    eip, instance_id=None, status=EipStatus.ALLOCATED, updated_at=self._clock.now()
                )
                await uow.elastic_ips.update(free)
                await uow.commit()
        await self.sync()

    async def reconcile(self) -> int:
        """Heal: networks of live VPCs exist, none without a VPC remains, the policy is on."""
        async with self.exclusive():
            fixed = await self._fix_networks()
        await self.sync()
        return fixed

    async def _fix_networks(self) -> int:
        async with self._uow(read_only=True) as uow:
            vpcs = {v.id: v for v in await uow.vpcs.find()}
        found = await self.fabric.networks({LABEL_MANAGED: self._installation})
        names = {n.name for n in found}
        fixed = 0
        for vpc in vpcs.values():
            if vpc.network not in names and vpc.status == VpcStatus.AVAILABLE:
                log.warning("network of VPC %s is missing; recreating it", vpc.id)
                await self.ensure_network(vpc)
                fixed += 1
        now = self._clock.now()
        for n in found:
            young = n.created_at is not None and now - n.created_at < self._grace
            if n.labels.get(LABEL_VPC) not in vpcs and not young:
                log.warning("removing network %s: no VPC owns it", n.name)
                await self.fabric.remove_network(n.name)
                fixed += 1
        return fixed


async def desired(uow: UnitOfWork) -> FabricState:
    """The installation's whole policy: VPC networks, active peerings, every live instance in
    a VPC with the filters of its security groups."""
    vpcs = await uow.vpcs.find()
    peerings = await uow.peerings.find(status=PeeringStatus.ACTIVE)
    live = [i for i in await uow.instances.find(deleted_at=None) if i.vpc_id and i.private_ip]
    members = await uow.group_members.find()
    rules = await uow.security_rules.find()
    ip_of = {i.id: i.private_ip for i in live}
    groups_of: dict[str, list[str]] = defaultdict(list)
    ips_in: dict[str, list[str]] = defaultdict(list)
    for m in members:
        if m.instance_id in ip_of:
            groups_of[m.instance_id].append(m.group_id)
            ips_in[m.group_id].append(ip_of[m.instance_id])
    rules_of: dict[str, list[SecurityRule]] = defaultdict(list)
    for r in rules:
        rules_of[r.group_id].append(r)
    endpoints = tuple(
        Endpoint(i.id, i.vpc_id or "", i.private_ip, filters(groups_of[i.id], rules_of, ips_in))
        for i in sorted(live, key=lambda x: x.id)
    )
    eips = await uow.elastic_ips.find()
    public_of = {e.instance_id: e.address for e in eips if e.instance_id and e.instance_id in ip_of}
    egress = await _egress(uow, live, public_of, {e.id: e.address for e in eips})
    return FabricState(
        vpcs=tuple(
            VpcNet(v.id, v.bridge, v.cidr, tuple(egress.get(v.id, ())), v.gateway_ip)
            for v in sorted(vpcs, key=lambda v: v.id)
        ),
        peerings=tuple(
            (p.requester_vpc_id, p.accepter_vpc_id) for p in sorted(peerings, key=lambda p: p.id)
        ),
        endpoints=endpoints,
        public=tuple(
            PublicAddress(address, ip_of[ident]) for ident, address in sorted(public_of.items())
        ),
    )


async def _egress(
    uow: UnitOfWork,
    live: Sequence[Instance],
    public_of: Mapping[str, str],
    eip_address: Mapping[str, str],
) -> dict[str, list[Egress]]:
    """Per VPC, what may leave the platform: each subnet's routes to an attached internet
    gateway (instances with an elastic IP leave from it) or to a NAT gateway of the VPC
    (leaving from the gateway's elastic IP). Longer prefixes first; a subnet uses its own
    route table, else its VPC's main one."""
    tables = await uow.route_tables.find()
    by_id = {t.id: t for t in tables}
    main = {t.vpc_id: t for t in tables if t.is_main}
    chosen = {a.subnet_id: by_id.get(a.route_table_id) for a in await uow.route_associations.find()}
    igws = {g.id: g.vpc_id for g in await uow.internet_gateways.find() if g.vpc_id}
    nats = {n.id: n for n in await uow.nat_gateways.find()}
    in_subnet: dict[str, list[Instance]] = defaultdict(list)
    for i in live:
        in_subnet[i.subnet_id or ""].append(i)
    out: dict[str, list[Egress]] = defaultdict(list)
    for s in sorted(await uow.subnets.find(), key=lambda x: x.id):
        table = chosen.get(s.id) or main.get(s.vpc_id)
        routes = sorted(
            table.routes if table else (),
            key=lambda r: -ipaddress.ip_network(r.destination_cidr).prefixlen,
        )
        for r in routes:
            if (
                r.target_type == RouteTarget.INTERNET_GATEWAY
                and igws.get(r.target_id or "") == s.vpc_id
            ):
                for i in sorted(in_subnet[s.id], key=lambda x: x.id):
                    if i.id in public_of:
                        out[s.vpc_id].append(
                            Egress(f"{i.private_ip}/32", r.destination_cidr, public_of[i.id])
                        )
                out[s.vpc_id].append(Egress(s.cidr, r.destination_cidr))
            elif r.target_type == RouteTarget.NAT_GATEWAY:
                nat = nats.get(r.target_id or "")
                if nat is not None and nat.vpc_id == s.vpc_id and nat.eip_id in eip_address:
                    out[s.vpc_id].append(
                        Egress(s.cidr, r.destination_cidr, eip_address[nat.eip_id])
                    )
    return out


def filters(
    groups: Iterable[str],
    rules_of: Mapping[str, Sequence[SecurityRule]],
    ips_in: Mapping[str, Sequence[str]],
) -> tuple[Filter, ...]:
    """The rules of all the instance's groups, by priority (deny first at equal priority);
    a rule naming a group stands for the addresses of that group's members."""
    chosen = sorted(
        {r.id: r for g in groups for r in rules_of.get(g, ())}.values(),
        key=lambda r: (r.priority, r.action != RuleAction.DENY, r.created_at, r.id),
    )
    out = []
    for r in chosen:
        if r.cidr is not None:
            peers: tuple[str, ...] = (r.cidr,)
        else:
            peers = tuple(f"{ip}/32" for ip in sorted(ips_in.get(r.peer_group_id or "", ())))
        out.append(
            Filter(
                str(r.direction),
                r.action == RuleAction.ALLOW,
                str(r.protocol),
                peers,
                r.port_from,
                r.port_to,
            )
        )
    return tuple(out)


class _FileLock:
    """An exclusive flock on `path` (none when path is None), taken off the event loop."""

    def __init__(self, path: Path | None) -> None:
        self._path, self._fd = path, -1

    async def __aenter__(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            await asyncio.to_thread(fcntl.flock, self._fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self._fd)
            raise

    async def __aexit__(self, *exc: object) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
