"""The DNS server follows the metadata store: rows are the truth, pushed as whole record sets.

Every change of records recomputes the record set it touches (all records of one name and
type) from the rows and hands it to the DNS backend. Writers of one zone queue on its row
(`lock_zone`), so a set is always pushed from what the previous writer committed. The
reconciler removes the server zones of this installation that no zone row owns (a crash
between creating one and recording it, a zone whose VPC was deleted) and, every
`full_seconds`, re-creates missing zones and makes every record set match the rows.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

from thecloud.domain.dns import DnsRecord, DnsZone
from thecloud.domain.errors import BackendUnavailable, CloudError, NotFound, not_found
from thecloud.ports.dns import DnsBackend, RecordSet
from thecloud.ports.uow import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
RRKey = tuple[str, str]  # (absolute name, type) of one record set
SERVER_TYPES = frozenset({"SOA", "NS"})  # written by the server itself, never from rows
SET_UP = (
    "run scripts/powerdns.sh start, and give the server THECLOUD_DNS_API_URL and "
    "THECLOUD_DNS_API_KEY (scripts/powerdns.sh env prints them)"
)


def account_label(installation: str) -> str:
    """The account label of this installation's zones on the DNS server."""
    return f"thecloud:{installation}"


def rrsets_of(rows: Iterable[DnsRecord]) -> dict[RRKey, RecordSet]:
    """The record sets the rows make. A set has one TTL: that of its most recently changed
    row (the services keep the rows of a set at one TTL; this only decides if they differ)."""
    grouped: dict[RRKey, list[DnsRecord]] = defaultdict(list)
    for r in rows:
        grouped[(r.name, str(r.type))].append(r)
    out = {}
    for key, group in grouped.items():
        newest = max(group, key=lambda r: (r.updated_at, r.id))
        out[key] = RecordSet(key[0], key[1], newest.ttl, tuple(sorted({r.content for r in group})))
    return out


def _same(actual: RecordSet | None, wanted: RecordSet) -> bool:
    return (
        actual is not None
        and actual.ttl == wanted.ttl
        and sorted(actual.contents) == sorted(wanted.contents)
    )


class Outage:
    """Logs that the DNS server is unreachable once per outage, not on every heal."""

    def __init__(self) -> None:
        self.down = False

    @contextlib.contextmanager
    def watch(self, doing: str) -> Iterator[None]:
        """Swallow BackendUnavailable inside (logging it the first time); note recovery."""
        try:
            yield
        except BackendUnavailable as exc:
            if not self.down:
                log.warning("DNS server unreachable while %s; retrying: %s", doing, exc)
            self.down = True
            return
        if self.down:
            log.warning("DNS server reachable again")
        self.down = False


class DnsSync:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        backend: DnsBackend | None,
        installation: str,
        *,
        full_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow, self._backend = uow, backend
        self.account = account_label(installation)
        self._full_seconds, self._monotonic = full_seconds, monotonic
        self._next_full = 0.0
        self._suspects: set[str] = set()  # orphans seen once: removed when seen again
        self.creating: set[str] = set()  # zone names this process is creating right now
        self.outage = Outage()

    @property
    def configured(self) -> bool:
        return self._backend is not None

    @property
    def backend(self) -> DnsBackend:
        if self._backend is None:
            raise BackendUnavailable(f"DNS is not configured on this server: {SET_UP}")
        return self._backend

    async def lock_zone(self, uow: UnitOfWork, zone_id: str) -> DnsZone:
        """The zone's row, locked until the transaction ends (writers of one zone queue here),
        as it is once the lock is held; NotFound if it is gone."""
        zone = await uow.dns_zones.get(zone_id)
        if zone is not None:
            await uow.dns_zones.update(zone)  # the same values: takes the row's lock only
            zone = await uow.dns_zones.get(zone_id)
        if zone is None:
            raise not_found("DNS zone", zone_id)
        return zone

    async def push(self, uow: UnitOfWork, zone: DnsZone, keys: Iterable[RRKey]) -> None:
        """Make each record set (name, type) of the zone on the server what its rows say."""
        for name, kind in sorted(set(keys)):
            rows = await uow.dns_records.find(zone_id=zone.id, name=name, type=kind)
            wanted = rrsets_of(rows).get((name, kind))
            if wanted is None:
                await self.backend.remove(zone.name, name, kind)
                continue
            try:
                await self.backend.replace(zone.name, wanted)
            except NotFound:  # the zone went missing on the server: put it back first
                log.warning("DNS zone %s was missing on the DNS server; recreating it", zone.name)
                await self.backend.ensure_zone(zone.name, self.account)
                await self.backend.replace(zone.name, wanted)
                self._next_full = 0.0  # its other record sets return with the next full pass

    async def converge(self, zone: DnsZone, rows: Iterable[DnsRecord]) -> int:
        """Make every record set of the zone on the server match `rows` (creating the zone if
        it is missing); how many sets changed (a zone created counts as one)."""
        backend = self.backend
        changed = 0
        try:
            listed = await backend.records(zone.name)
        except NotFound:
            await backend.ensure_zone(zone.name, self.account)
            listed, changed = [], 1
        actual = {(r.name, r.type): r for r in listed if r.type not in SERVER_TYPES}
        wanted = rrsets_of(rows)
        for name, kind in sorted(actual.keys() - wanted.keys()):  # first: a CNAME may replace
            await backend.remove(zone.name, name, kind)
            changed += 1
        for key, rrset in sorted(wanted.items()):
            if not _same(actual.get(key), rrset):
                await backend.replace(zone.name, rrset)
                changed += 1
        return changed

    async def reconcile(self, *, full: bool | None = None) -> int:
        """Heal (the compute worker's healers call it): remove orphan zones from the server;
        every `full_seconds` (or when `full`), make every zone there match its rows."""
        if self._backend is None:
            return 0
        with self.outage.watch("reconciling zones"):
            fixed = await self._remove_orphans()
            now = self._monotonic()
            if full or (full is None and now >= self._next_full):
                fixed += await self._converge_all()
                self._next_full = now + self._full_seconds
            return fixed
        return 0

    async def _remove_orphans(self) -> int:
        """Zones of this installation on the server that no row owns, seen on two passes in
        a row (one pass could fall between a create's server call and its commit)."""
        listed = await self.backend.zones(self.account)
        async with self._uow(read_only=True) as uow:
            owned = {z.name for z in await uow.dns_zones.find()}
        orphans = {n for n in listed if n not in owned and n not in self.creating}
        removed = 0
        for name in sorted(orphans & self._suspects):
            log.warning("removing DNS zone %s from the DNS server: no zone row owns it", name)
            await self.backend.delete_zone(name)
            removed += 1
        self._suspects = orphans - self._suspects
        return removed

    async def _converge_all(self) -> int:
        async with self._uow(read_only=True) as uow:
            zones = await uow.dns_zones.find()
        fixed = 0
        for z in zones:
            try:
                fixed += await self._converge_one(z.id)
            except BackendUnavailable:
                raise
            except CloudError as exc:  # e.g. the name is held by someone else's zone
                log.warning("DNS zone %s could not be put in line: %s", z.name, exc)
        return fixed

    async def _converge_one(self, zone_id: str) -> int:
        async with self._uow() as uow:
            try:
                zone = await self.lock_zone(uow, zone_id)
            except NotFound:
                return 0
            changed = await self.converge(zone, await uow.dns_records.find(zone_id=zone.id))
            await uow.commit()
        if changed:
            log.warning("DNS zone %s: %d differences from the store fixed", zone.name, changed)
        return changed
