"""The DNS backend: the authoritative server that answers for the platform's zones.

Names are absolute, lowercase and end with a dot ("web.corp.internal."). The platform keeps
its records in the metadata store and pushes whole record sets here: every record of one name
and type is one RecordSet, replaced as a unit. Zones the platform creates carry an account
label (`thecloud:<installation id>`) so a reconciler can tell them from anyone else's.

Every method may raise BackendUnavailable (the server cannot be reached) and InvalidInput
(the server refused what it was given, with its reason).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

NAMESERVER = "ns1.thecloud.internal."  # the NS (and SOA primary) of every zone, by default


def absolute(name: str) -> str:
    """A DNS name as backends store it: lowercase, with the trailing dot."""
    text = name.strip().lower()
    return text if text.endswith(".") else text + "."


@dataclass(frozen=True, slots=True)
class RecordSet:
    name: str  # absolute, lowercase, trailing dot
    type: str  # "A", "AAAA", "CNAME", "MX", "TXT", "SRV", ...
    ttl: int
    contents: tuple[str, ...]  # in the server's presentation form: MX "10 mail.example.com."


class DnsBackend(Protocol):
    async def ping(self) -> None:
        """Return when the server answers its API, else raise BackendUnavailable."""
        ...

    async def ensure_zone(self, zone: str, account: str) -> None:
        """Create the zone (native, with SOA and NS) unless it exists; idempotent.

        Raises Conflict if the zone exists with another account label (not ours to manage).
        """
        ...

    async def delete_zone(self, zone: str) -> None:
        """Remove the zone and all its records; a missing zone is not an error."""
        ...

    async def zones(self, account: str) -> list[str]:
        """The names of the zones that carry this account label."""
        ...

    async def replace(self, zone: str, rrset: RecordSet) -> None:
        """Make `rrset` the only record set of its name and type in the zone.

        Empty `contents` remove the set. Raises NotFound if the zone does not exist.
        """
        ...

    async def remove(self, zone: str, name: str, type: str) -> None:
        """Delete the record set of that name and type; a missing one (or zone) is not an
        error. The zone's own SOA cannot be removed (InvalidInput)."""
        ...

    async def records(self, zone: str) -> list[RecordSet]:
        """Every record set of the zone (SOA and NS included); NotFound if it is missing."""
        ...


@dataclass(frozen=True, slots=True)
class ZoneView:
    """Every zone of the platform (absolute names), and which of them each VPC may see."""

    zones: frozenset[str] = frozenset()
    visible: Mapping[str, frozenset[str]] = field(default_factory=dict)


class VpcResolverServer(Protocol):
    """The DNS server instances of a VPC ask, listening on the VPC's router address: it answers
    names of the zones the VPC may see, NXDOMAIN for the platform's other zones, and passes
    every other name to the host's resolvers."""

    def use(self, view: Callable[[], Awaitable[ZoneView]]) -> None:
        """Where the server reads which zones each VPC may see."""
        ...

    def serving(self) -> dict[str, str]:
        """VPC id -> the address its resolver listens on."""
        ...

    async def serve(self, vpc_id: str, address: str) -> bool:
        """Listen for the VPC on `address` (idempotent); False if it cannot (yet)."""
        ...

    async def stop(self, vpc_id: str) -> None: ...

    def forget_view(self) -> None:
        """Zones changed: read the view again before the next answer."""
        ...

    async def close(self) -> None: ...
