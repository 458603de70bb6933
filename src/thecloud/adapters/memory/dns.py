"""An in-memory DNS backend with the PowerDNS adapter's semantics (unit tests only)."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from thecloud.ports.dns import NAMESERVER, RecordSet, ZoneView, absolute

_TARGET_FIELD = {"CNAME": 0, "MX": 1, "SRV": 3}  # the field that must be an absolute name


@dataclass
class _Zone:
    account: str
    serial: int = 1
    rrsets: dict[tuple[str, str], RecordSet] = field(default_factory=dict)


class MemoryDnsBackend:
    """Zones in a dict. `down = True` makes every call fail as an unreachable server would;
    `calls` records (method, zone) of every call that reached the "server"."""

    def __init__(self, nameserver: str = NAMESERVER) -> None:
        self.nameserver = nameserver
        self.down = False
        self.calls: list[tuple[str, str]] = []
        self._zones: dict[str, _Zone] = {}

    def _up(self, call: str, zone: str = "") -> None:
        if self.down:
            raise BackendUnavailable(
                "the DNS server (PowerDNS) is unreachable at memory://: the memory backend "
                "is down — run scripts/powerdns.sh start"
            )
        self.calls.append((call, zone))

    def _zone(self, zone: str) -> _Zone:
        found = self._zones.get(absolute(zone))
        if found is None:
            raise NotFound(f"DNS zone {absolute(zone)} not found on the DNS server")
        return found

    async def ping(self) -> None:
        self._up("ping")

    async def ensure_zone(self, zone: str, account: str) -> None:
        self._up("ensure_zone", zone)
        name = absolute(zone)
        existing = self._zones.get(name)
        if existing is not None:
            if existing.account != account:
                raise Conflict(
                    f"DNS zone {name} already exists on the DNS server for another account "
                    f"('{existing.account}')"
                )
            return
        created = _Zone(account)
        self._zones[name] = created
        _put(created, RecordSet(name, "NS", 300, (self.nameserver,)))
        self._touch(name, created)

    def _touch(self, name: str, zone: _Zone) -> None:
        """Bump the serial and rewrite the SOA, as SOA-EDIT-API does."""
        zone.serial += 1
        soa = f"{self.nameserver} hostmaster.{name} {zone.serial} 10800 3600 604800 60"
        _put(zone, RecordSet(name, "SOA", 300, (soa,)))

    async def delete_zone(self, zone: str) -> None:
        self._up("delete_zone", zone)
        self._zones.pop(absolute(zone), None)

    async def zones(self, account: str) -> list[str]:
        self._up("zones")
        return sorted(name for name, zone in self._zones.items() if zone.account == account)

    async def replace(self, zone: str, rrset: RecordSet) -> None:
        self._up("replace", zone)
        name = absolute(zone)
        found = self._zone(name)
        rrset = RecordSet(absolute(rrset.name), rrset.type.upper(), rrset.ttl, rrset.contents)
        _check(name, found, rrset)
        if rrset.contents:
            _put(found, rrset)
        else:
            found.rrsets.pop((rrset.name, rrset.type), None)
        self._touch(name, found)

    async def remove(self, zone: str, name: str, type: str) -> None:
        self._up("remove", zone)
        apex, kind = absolute(zone), type.upper()
        found = self._zones.get(apex)
        if found is None:
            return
        if kind == "SOA" and absolute(name) == apex:
            raise InvalidInput(f"the SOA record of zone {apex} cannot be removed")
        if found.rrsets.pop((absolute(name), kind), None) is not None:
            self._touch(apex, found)

    async def records(self, zone: str) -> list[RecordSet]:
        self._up("records", zone)
        return list(self._zone(zone).rrsets.values())

    # Helpers for tests: what a resolver asking this server would get.

    def lookup(self, name: str, type: str) -> tuple[str, ...]:
        """The contents of the record set `name`/`type` in the zone holding it, else ()."""
        fqdn = absolute(name)
        for apex in sorted(self._zones, key=len, reverse=True):
            if fqdn == apex or fqdn.endswith("." + apex):
                rrset = self._zones[apex].rrsets.get((fqdn, type.upper()))
                return rrset.contents if rrset else ()
        return ()

    def account_of(self, zone: str) -> str | None:
        found = self._zones.get(absolute(zone))
        return found.account if found else None


def _put(zone: _Zone, rrset: RecordSet) -> None:
    zone.rrsets[(rrset.name, rrset.type)] = rrset


def _check(apex: str, zone: _Zone, rrset: RecordSet) -> None:
    """Refuse what PowerDNS refuses with 422, with its wording."""
    where = f"RRset {rrset.name} IN {rrset.type}"
    if rrset.name != apex and not rrset.name.endswith("." + apex):
        raise InvalidInput(f"{where}: Name is out of zone")
    if len(set(rrset.contents)) != len(rrset.contents):
        raise InvalidInput(f"Duplicate record in {where}")
    if rrset.type == "CNAME" and len(rrset.contents) > 1:
        raise InvalidInput(f"{where} has more than one record")
    others = {t for (n, t) in zone.rrsets if n == rrset.name and t != rrset.type}
    if rrset.contents and (
        (rrset.type == "CNAME" and others) or (rrset.type != "CNAME" and "CNAME" in others)
    ):
        raise InvalidInput(f"{where}: Conflicts with pre-existing RRset")
    for content in rrset.contents:
        if not _parses(rrset.type, content):
            raise InvalidInput(
                f"Record {rrset.name}/{rrset.type} '{content}': Not in expected format"
            )


def _parses(kind: str, content: str) -> bool:
    try:
        if kind == "A":
            return str(ipaddress.IPv4Address(content)) == content
        if kind == "AAAA":
            return ipaddress.IPv6Address(content).compressed == content
    except ValueError:
        return False
    if kind == "TXT":
        return content.startswith('"') and content.endswith('"') and len(content) >= 2
    fields = content.split()
    if kind in _TARGET_FIELD:
        expected = _TARGET_FIELD[kind] + 1
        numbers = fields[: expected - 1]
        return (
            len(fields) == expected
            and all(f.isascii() and f.isdigit() and int(f) <= 65535 for f in numbers)
            and fields[-1].endswith(".")
        )
    return bool(content)


class MemoryVpcResolverServer:
    """VpcResolverServer fake: which VPC listens where (no sockets)."""

    def __init__(self) -> None:
        self.listening: dict[str, str] = {}
        self.refused: set[str] = set()  # addresses that cannot be bound (tests set them)
        self.forgotten = 0
        self.view: Callable[[], Awaitable[ZoneView]] | None = None

    def use(self, view: Callable[[], Awaitable[ZoneView]]) -> None:
        self.view = view

    def serving(self) -> dict[str, str]:
        return dict(self.listening)

    async def serve(self, vpc_id: str, address: str) -> bool:
        if address in self.refused:
            return False
        self.listening[vpc_id] = address
        return True

    async def stop(self, vpc_id: str) -> None:
        self.listening.pop(vpc_id, None)

    def forget_view(self) -> None:
        self.forgotten += 1

    async def close(self) -> None:
        self.listening.clear()
