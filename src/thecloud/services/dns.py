"""DNS zones and their records, answered by the platform's authoritative DNS server.

A zone is public, or private to a VPC (its instances are registered in it by name, see
dns_instances.py). Zone names are unique on the platform: the DNS server holds one zone per
name. The rows are the truth; every change recomputes the record set it touches and pushes it
to the server before the transaction commits, so a server that cannot be reached fails the
request (503) with nothing changed. A record set has one TTL: a record created or updated with
a `ttl` sets it for every record of its name and type; created without one, it takes the set's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.dns import (
    DEFAULT_TTL,
    PRIORITY_TYPES,
    DnsRecord,
    DnsZone,
    DnsZoneStatus,
    check_cname_exclusive,
    clamp_ttl,
    normalize_zone_name,
    parse_record_type,
    record_content,
    record_fqdn,
)
from thecloud.domain.errors import CloudError, Conflict, InvalidInput, QuotaExceeded, not_found
from thecloud.domain.identity import Principal
from thecloud.domain.network import VpcStatus
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id
from thecloud.services.dns_instances import DnsRegistrar
from thecloud.services.dns_sync import DnsSync
from thecloud.services.vpcs import find_vpc

MAX_ZONES_PER_TENANT = 100
MAX_RECORDS_PER_ZONE = 5000
MAX_DESCRIPTION = 1000


async def find_zone(uow: UnitOfWork, tenant_id: str, ident: str) -> DnsZone:
    """A tenant's zone by id, else by name ("corp.internal" or "corp.internal.")."""
    found = await uow.dns_zones.get(ident, tenant_id)
    if found is None:
        with contextlib.suppress(InvalidInput):
            name = normalize_zone_name(ident)
            found = await uow.dns_zones.find_one(tenant_id=tenant_id, name=name)
    if found is None:
        raise not_found("DNS zone", ident)
    return found


async def find_record(uow: UnitOfWork, tenant_id: str, ident: str) -> DnsRecord:
    return await by_id(uow.dns_records, "DNS record", tenant_id, ident)


def _taken(name: str) -> Conflict:
    return Conflict(
        f"the zone name {name} is already taken: zone names are unique on the platform (one "
        "DNS server answers for all of them), so choose another name"
    )


def _owned_by_platform(r: DnsRecord) -> None:
    if r.instance_id is not None:
        raise Conflict(
            f"DNS record {r.id} ({r.name} {r.type}) belongs to instance {r.instance_id}: the "
            "platform keeps it in line with the instance and removes it when the instance is "
            "terminated, so it cannot be changed or deleted; add a record of your own instead"
        )


def _not_duplicate(siblings: Sequence[DnsRecord], content: str) -> None:
    for r in siblings:
        if r.content == content:
            raise Conflict(
                f"the zone already has this record: {r.name} {r.type} {content} ({r.id})"
            )


def plain_content(r: DnsRecord) -> str:
    """The content as a request gives it: MX and SRV without their leading priority."""
    return r.content.split(" ", 1)[1] if r.type in PRIORITY_TYPES else r.content


class DnsService(Service):
    def __init__(self, kernel: Kernel, sync: DnsSync, registrar: DnsRegistrar, server: str) -> None:
        super().__init__(kernel)
        self._sync, self._registrar = sync, registrar
        self.server = server  # host:port where the zones answer (`dig @host -p port`)

    # Zones

    async def create_zone(
        self, p: Principal, name: str, description: str = "", vpc_id: str | None = None
    ) -> DnsZone:
        """A public zone, or with `vpc_id` a private zone of that VPC (its instances are
        registered in it at once)."""
        zone_name = normalize_zone_name(name)
        if len(description) > MAX_DESCRIPTION:
            raise InvalidInput(f"description must be at most {MAX_DESCRIPTION} characters")
        self.allow(p, "dns:create", "dns_zone", name=zone_name)
        async with self._uow(read_only=True) as uow:
            vpc = await find_vpc(uow, p.tenant_id, vpc_id) if vpc_id is not None else None
            if vpc is not None and vpc.status != VpcStatus.AVAILABLE:
                raise Conflict(f"VPC {vpc.name} is being deleted")
            if await uow.dns_zones.find_one(name=zone_name) is not None:
                raise _taken(zone_name)
            if await uow.dns_zones.count(tenant_id=p.tenant_id) >= MAX_ZONES_PER_TENANT:
                raise QuotaExceeded(
                    f"a tenant can have at most {MAX_ZONES_PER_TENANT} DNS zones: delete one first"
                )
        now = self._clock.now()
        zone = DnsZone(
            new_id(), p.tenant_id, zone_name, description, vpc.id if vpc else None,
            DnsZoneStatus.ACTIVE, p.id, now, now,
        )  # fmt: skip
        # The server's zone first: a crash before the row commits leaves a labelled zone that
        # the reconciler removes; the other way round would leave a zone that answers nothing.
        self._sync.creating.add(zone_name)
        try:
            try:
                await self._sync.backend.ensure_zone(zone_name, self._sync.account)
            except Conflict:  # held on the server by something that is not this platform's
                raise _taken(zone_name) from None
            try:
                await self._record_zone(p, zone)
            except BaseException:
                await asyncio.shield(self._undo_create(zone_name))
                raise
        finally:
            self._sync.creating.discard(zone_name)
        return zone

    async def _record_zone(self, p: Principal, zone: DnsZone) -> None:
        async with self._uow() as uow:
            if zone.vpc_id is not None and await uow.vpcs.get(zone.vpc_id) is None:
                raise not_found("VPC", zone.vpc_id)
            try:
                await uow.dns_zones.add(zone)
            except Conflict:
                raise _taken(zone.name) from None
            registered = await self._registrar.apply(uow, zone, push=False)
            # Whatever a removed zone of the same name left on the server goes too.
            await self._sync.converge(zone, await uow.dns_records.find(zone_id=zone.id))
            details = {"name": zone.name, "vpc_id": zone.vpc_id, "instances": registered}
            await self._record(uow, p, "dns:create", "dns_zone", zone.id, details)
            await uow.commit()

    async def _undo_create(self, name: str) -> None:
        """Remove the server's zone unless another zone row (a concurrent create) owns it; if
        the server cannot be reached, the reconciler does it later."""
        with contextlib.suppress(CloudError):
            async with self._uow(read_only=True) as uow:
                if await uow.dns_zones.find_one(name=name) is not None:
                    return
            await self._sync.backend.delete_zone(name)

    async def list_zones(
        self, p: Principal, query: ListQuery, name: str | None = None
    ) -> Page[DnsZone]:
        self.allow(p, "dns:read", "dns_zone")
        if name is not None:
            query = replace(query, filters={**query.filters, "name": normalize_zone_name(name)})
        async with self._uow(read_only=True) as uow:
            return await uow.dns_zones.list(query, p.tenant_id)

    async def get_zone(self, p: Principal, ident: str) -> DnsZone:
        async with self._uow(read_only=True) as uow:
            zone = await find_zone(uow, p.tenant_id, ident)
        self.allow(p, "dns:read", "dns_zone", zone.id, zone.name)
        return zone

    async def delete_zone(self, p: Principal, ident: str) -> None:
        """Delete the zone with all its records; it stops answering at once."""
        async with self._uow() as uow:
            zone = await find_zone(uow, p.tenant_id, ident)
            self.allow(p, "dns:delete", "dns_zone", zone.id, zone.name)
            zone = await self._sync.lock_zone(uow, zone.id)
            await self._sync.backend.delete_zone(zone.name)
            await uow.dns_zones.delete(zone.id)  # its records go with it
            await self._record(uow, p, "dns:delete", "dns_zone", zone.id, {"name": zone.name})
            await uow.commit()

    # Records

    async def create_record(
        self,
        p: Principal,
        zone_ident: str,
        name: str,
        type: str,
        content: str,
        ttl: int | None = None,
        priority: int | None = None,
    ) -> DnsRecord:
        kind = parse_record_type(type)
        async with self._uow() as uow:
            zone = await find_zone(uow, p.tenant_id, zone_ident)
            fqdn = record_fqdn(name, zone.name)
            self.allow(p, "dns:create", "dns_record", name=fqdn)
            rendered = record_content(kind, content, priority)
            zone = await self._sync.lock_zone(uow, zone.id)
            at_name = await uow.dns_records.find(zone_id=zone.id, name=fqdn)
            check_cname_exclusive({str(r.type) for r in at_name}, kind, at_apex=fqdn == zone.name)
            siblings = [r for r in at_name if r.type == kind]
            _not_duplicate(siblings, rendered)
            if await uow.dns_records.count(zone_id=zone.id) >= MAX_RECORDS_PER_ZONE:
                raise QuotaExceeded(f"a zone can hold at most {MAX_RECORDS_PER_ZONE} records")
            chosen = clamp_ttl(ttl) if ttl is not None else _ttl_of(siblings)
            now = self._clock.now()
            record = DnsRecord(
                new_id(), p.tenant_id, zone.id, fqdn, kind, rendered, chosen, priority, None,
                now, now,
            )  # fmt: skip
            await uow.dns_records.add(record)
            await self._align_ttl(uow, siblings, chosen, now)
            await self._sync.push(uow, zone, [(fqdn, str(kind))])
            await self._record(uow, p, "dns:create", "dns_record", record.id, _details(record))
            await uow.commit()
        return record

    async def _align_ttl(
        self, uow: UnitOfWork, siblings: Sequence[DnsRecord], ttl: int, now: datetime
    ) -> None:
        """One TTL per record set: the other records of the set take `ttl`."""
        for r in siblings:
            if r.ttl != ttl:
                await uow.dns_records.update(
                    replace(r, ttl=ttl, updated_at=now, version=r.version + 1)
                )

    async def list_records(
        self,
        p: Principal,
        zone_ident: str,
        query: ListQuery,
        name: str | None = None,
        type: str | None = None,
    ) -> Page[DnsRecord]:
        """The zone's records (the instances' included), optionally of one name or type."""
        async with self._uow(read_only=True) as uow:
            zone = await find_zone(uow, p.tenant_id, zone_ident)
            self.allow(p, "dns:read", "dns_zone", zone.id, zone.name)
            filters = {**query.filters, "zone_id": zone.id}
            if name is not None:
                filters["name"] = record_fqdn(name, zone.name)
            if type is not None:
                filters["type"] = type.strip().upper()
            return await uow.dns_records.list(replace(query, filters=filters), p.tenant_id)

    async def get_record(self, p: Principal, ident: str) -> DnsRecord:
        async with self._uow(read_only=True) as uow:
            record = await find_record(uow, p.tenant_id, ident)
        self.allow(p, "dns:read", "dns_record", record.id, record.name)
        return record

    async def update_record(
        self,
        p: Principal,
        ident: str,
        content: str | None = None,
        ttl: int | None = None,
        priority: int | None = None,
    ) -> DnsRecord:
        """Change a record's content, priority (MX, SRV) or TTL (that of its whole set)."""
        async with self._uow() as uow:
            record = await find_record(uow, p.tenant_id, ident)
            self.allow(p, "dns:update", "dns_record", record.id, record.name)
            _owned_by_platform(record)
            zone = await self._sync.lock_zone(uow, record.zone_id)
            record = await find_record(uow, p.tenant_id, ident)  # as it is under the lock
            prio = priority if priority is not None else record.priority
            rendered = record.content
            if content is not None or priority is not None:
                base = content if content is not None else plain_content(record)
                rendered = record_content(record.type, base, prio)
            chosen = clamp_ttl(ttl) if ttl is not None else record.ttl
            if (rendered, chosen, prio) == (record.content, record.ttl, record.priority):
                return record
            at_name = await uow.dns_records.find(zone_id=zone.id, name=record.name)
            siblings = [r for r in at_name if r.type == record.type and r.id != record.id]
            _not_duplicate(siblings, rendered)
            now = self._clock.now()
            updated = replace(
                record, content=rendered, ttl=chosen, priority=prio, updated_at=now,
                version=record.version + 1,
            )  # fmt: skip
            await uow.dns_records.update(updated)
            await self._align_ttl(uow, siblings, chosen, now)
            await self._sync.push(uow, zone, [(record.name, str(record.type))])
            await self._record(uow, p, "dns:update", "dns_record", record.id, _details(updated))
            await uow.commit()
        return updated

    async def delete_record(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            record = await find_record(uow, p.tenant_id, ident)
            self.allow(p, "dns:delete", "dns_record", record.id, record.name)
            _owned_by_platform(record)
            zone = await self._sync.lock_zone(uow, record.zone_id)
            if not await uow.dns_records.delete(record.id, p.tenant_id):
                raise not_found("DNS record", ident)
            await self._sync.push(uow, zone, [(record.name, str(record.type))])
            await self._record(uow, p, "dns:delete", "dns_record", record.id, _details(record))
            await uow.commit()


def _ttl_of(siblings: Sequence[DnsRecord]) -> int:
    return siblings[0].ttl if siblings else DEFAULT_TTL


def _details(r: DnsRecord) -> dict[str, object]:
    return {
        "zone_id": r.zone_id, "name": r.name, "type": str(r.type), "content": r.content[:500],
        "ttl": r.ttl,
    }  # fmt: skip
