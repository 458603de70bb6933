"""Instances answer by name: `<instance-name>.<zone>` in every private zone of their VPC.

The records are rows like the users' (with `instance_id` set, so users see them but cannot
change them) and follow the instance: written before its container starts (`prepare`),
removed once it is DELETED (`released`), and put right by `reconcile` after a crash (a live
instance without its record, a record of a gone instance, an address or name that changed).
A DNS server that is down never holds up an instance: its record waits for the reconciler.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from thecloud.domain.audit import Event
from thecloud.domain.common import new_id
from thecloud.domain.compute import Instance
from thecloud.domain.dns import DnsRecord, DnsZone, RecordType, record_fqdn
from thecloud.domain.errors import CloudError, InvalidInput, NotFound
from thecloud.ports.clock import Clock
from thecloud.ports.uow import UnitOfWork, UnitOfWorkFactory
from thecloud.services.dns_sync import DnsSync, RRKey
from thecloud.services.recording import system_event

log = logging.getLogger(__name__)
INSTANCE_TTL = 60  # short: an instance's address goes with it


def instance_fqdn(name: str, zone: str) -> str | None:
    """The name an instance answers to in `zone`; None if its name is no valid DNS name
    (instance names may hold characters a host name cannot)."""
    try:
        return record_fqdn(name, zone)
    except InvalidInput:
        return None


def _kind(ip: str) -> RecordType:
    return RecordType.AAAA if ipaddress.ip_address(ip).version == 6 else RecordType.A


@dataclass(frozen=True, slots=True)
class Plan:
    """How the zone's instance rows must change."""

    add: tuple[DnsRecord, ...] = ()
    change: tuple[DnsRecord, ...] = ()  # the new versions
    remove: tuple[DnsRecord, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.add or self.change or self.remove)


def plan(zone: DnsZone, rows: list[DnsRecord], live: list[Instance], now: datetime) -> Plan:
    """The changes that make the zone's instance rows those of the live instances."""
    users = [r for r in rows if r.instance_id is None]
    cnames = {r.name for r in users if r.type == RecordType.CNAME}
    held: dict[str, DnsRecord] = {}
    remove: list[DnsRecord] = []
    for r in rows:
        if r.instance_id is None:
            continue
        if r.instance_id in held:  # one row per instance and zone; a second is a leftover
            remove.append(r)
        else:
            held[r.instance_id] = r
    wanted = {}
    for i in live:
        fqdn = instance_fqdn(i.name, zone.name) if i.private_ip else None
        if fqdn is not None and fqdn not in cnames:  # a user's CNAME owns the name
            wanted[i.id] = (fqdn, _kind(i.private_ip), i.private_ip)
    remove += [r for ident, r in held.items() if ident not in wanted]
    kept = [r for r in rows if r not in remove]

    def ttl(name: str, kind: RecordType) -> int:  # one TTL per record set: its rows'
        return next((r.ttl for r in kept if r.name == name and r.type == kind), INSTANCE_TTL)

    add, change = [], []
    for ident, (fqdn, kind, ip) in sorted(wanted.items()):
        old = held.get(ident)
        if old is None:
            add.append(
                DnsRecord(
                    new_id(),
                    zone.tenant_id,
                    zone.id,
                    fqdn,
                    kind,
                    ip,
                    ttl(fqdn, kind),
                    None,
                    ident,
                    now,
                    now,
                )  # fmt: skip
            )
        elif (old.name, old.type, old.content) != (fqdn, kind, ip):
            t = old.ttl if (old.name, old.type) == (fqdn, kind) else ttl(fqdn, kind)
            new = replace(old, name=fqdn, type=kind, content=ip, ttl=t, updated_at=now)
            change.append(replace(new, version=old.version + 1))
    return Plan(tuple(add), tuple(change), tuple(remove))


class DnsRegistrar:
    """The DNS part of the compute worker's network hooks (see services/instance_hooks.py)."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, sync: DnsSync) -> None:
        self._uow, self._clock, self._sync = uow, clock, sync

    async def prepare(self, i: Instance) -> None:
        """Before the instance's container starts: its name answers in its VPC's zones."""
        await self._quietly(i, "registering")

    async def released(self, i: Instance) -> None:
        """The instance is DELETED: its names stop answering."""
        await self._quietly(i, "removing")

    async def _quietly(self, i: Instance, doing: str) -> None:
        if i.vpc_id is None or not self._sync.configured:
            return
        try:
            await self.sync_vpc(i.vpc_id)
        except CloudError as exc:  # the reconciler retries; the instance goes on
            log.warning("DNS: %s instance %s postponed: %s", doing, i.id, exc)

    async def sync_vpc(self, vpc_id: str) -> int:
        """Bring the instance records of every zone of the VPC in line; rows changed."""
        async with self._uow(read_only=True) as uow:
            zones = await uow.dns_zones.find(vpc_id=vpc_id)
        return sum([await self.sync_zone(z.id) for z in zones])

    async def sync_zone(self, zone_id: str) -> int:
        async with self._uow() as uow:
            try:
                zone = await self._sync.lock_zone(uow, zone_id)
            except NotFound:
                return 0
            done = await self.apply(uow, zone)
            if done:
                await uow.commit()
        return done

    async def apply(self, uow: UnitOfWork, zone: DnsZone, *, push: bool = True) -> int:
        """In the caller's transaction: write the zone's instance rows as the live instances
        of its VPC want them, push the record sets that changed (unless not `push`), record
        an event each; how many rows changed."""
        if zone.vpc_id is None:
            return 0
        rows = await uow.dns_records.find(zone_id=zone.id)
        live = await uow.instances.find(vpc_id=zone.vpc_id, deleted_at=None)
        todo = plan(zone, rows, live, self._clock.now())
        keys: set[RRKey] = set()
        for r in todo.remove:
            await uow.dns_records.delete(r.id)
            await uow.emit(self._event(r, "dns.instance_record_removed"))
            keys.add((r.name, str(r.type)))
        for r in todo.add:
            await uow.dns_records.add(r)
            await uow.emit(self._event(r, "dns.instance_record_added"))
            keys.add((r.name, str(r.type)))
        old = {r.id: r for r in rows}
        for r in todo.change:
            await uow.dns_records.update(r)
            await uow.emit(self._event(r, "dns.instance_record_changed"))
            keys |= {(r.name, str(r.type)), (old[r.id].name, str(old[r.id].type))}
        if push:
            await self._sync.push(uow, zone, keys)
        return len(todo.add) + len(todo.change) + len(todo.remove)

    def _event(self, r: DnsRecord, kind: str) -> Event:
        data: dict[str, object] = {
            "zone_id": r.zone_id, "name": r.name, "type": str(r.type), "content": r.content,
            "instance_id": r.instance_id,
        }  # fmt: skip
        return system_event(r.tenant_id, kind, "dns_record", r.id, self._clock.now(), data)

    async def reconcile(self) -> int:
        """Heal: every private zone's instance records match the live instances of its VPC
        (read first, the live instances once for every zone; a zone is written only where
        something differs)."""
        if not self._sync.configured:
            return 0
        async with self._uow(read_only=True) as uow:
            zones = [z for z in await uow.dns_zones.find() if z.vpc_id is not None]
            by_vpc: dict[str, list[Instance]] = defaultdict(list)
            if zones:
                for i in await uow.instances.live():
                    if i.vpc_id is not None and i.deleted_at is None:
                        by_vpc[i.vpc_id].append(i)
            stale = []
            for z in zones:
                rows = await uow.dns_records.find(zone_id=z.id)
                if plan(z, rows, by_vpc[z.vpc_id or ""], self._clock.now()):
                    stale.append(z)
        if not stale:  # nothing asked of the DNS server: says nothing of whether it is up
            return 0
        fixed = 0
        with self._sync.outage.watch("registering instances"):
            for z in stale:
                changed = await self.sync_zone(z.id)
                if changed:
                    log.warning("DNS zone %s: %d instance records were stale", z.name, changed)
                fixed += changed
        return fixed
