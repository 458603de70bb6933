"""The DNS backend: the authoritative server that answers for the platform's zones.

Names are absolute, lowercase and end with a dot ("web.corp.internal."). The platform keeps
its records in the metadata store and pushes whole record sets here: every record of one name
and type is one RecordSet, replaced as a unit. Zones the platform creates carry an account
label (`thecloud:<installation id>`) so a reconciler can tell them from anyone else's.

Every method may raise BackendUnavailable (the server cannot be reached) and InvalidInput
(the server refused what it was given, with its reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


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
