"""DNS: zones (public, or private to a VPC) and their records, answered by the platform's DNS
server (each zone's `server` says where: `dig @host -p port name`)."""

from __future__ import annotations

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream


class Dns(Resource[One, PageT, ListT, Done, Stream]):
    """`/dns/zones` and `/dns/records`."""

    def create_zone(
        self,
        name: str,
        *,
        description: str | None = None,
        vpc_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Create a zone: public, or with `vpc_id` (id or name) private to that VPC, whose
        instances then answer as `<instance-name>.<zone>`. Names are unique on the platform."""
        payload = body(name=name, description=description, vpc_id=vpc_id)
        return self._x.one(Call("POST", "/dns/zones", payload, idempotency_key=idempotency_key))

    def list_zones(
        self,
        *,
        name: str | None = None,
        vpc_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of the tenant's zones, optionally of one name or one VPC."""
        return self._x.page(listing("/dns/zones", limit, offset, name=name, vpc_id=vpc_id))

    def iterate_zones(self, *, vpc_id: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's zones."""
        return self._x.iterate(listing("/dns/zones", page_size, 0, vpc_id=vpc_id), page_size)

    def get_zone(self, zone: str) -> One:
        """A zone by id or name."""
        return self._x.one(Call("GET", f"/dns/zones/{seg(zone)}"))

    def delete_zone(self, zone: str) -> Done:
        """Delete a zone with all its records."""
        return self._x.done(Call("DELETE", f"/dns/zones/{seg(zone)}"))

    def create_record(
        self,
        zone: str,
        name: str,
        type: str,
        content: str,
        *,
        ttl: int | None = None,
        priority: int | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """Add a record to a zone (id or name): `name` relative ("www", "@") or absolute;
        `type` A, AAAA, CNAME, MX, TXT or SRV; `priority` for MX and SRV; `ttl` (clamped to
        60-86400 s) applies to every record of the same name and type."""
        payload = body(name=name, type=type, content=content, ttl=ttl, priority=priority)
        path = f"/dns/zones/{seg(zone)}/records"
        return self._x.one(Call("POST", path, payload, idempotency_key=idempotency_key))

    def list_records(
        self,
        zone: str,
        *,
        name: str | None = None,
        type: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of a zone's records (those of instances included), optionally of one
        name or type."""
        path = f"/dns/zones/{seg(zone)}/records"
        return self._x.page(listing(path, limit, offset, name=name, type=type))

    def iterate_records(
        self, zone: str, *, name: str | None = None, type: str | None = None, page_size: int = 100
    ) -> Stream:
        """All of a zone's records."""
        call = listing(f"/dns/zones/{seg(zone)}/records", page_size, 0, name=name, type=type)
        return self._x.iterate(call, page_size)

    def get_record(self, record: str) -> One:
        """A record by id."""
        return self._x.one(Call("GET", f"/dns/records/{seg(record)}"))

    def update_record(
        self,
        record: str,
        *,
        content: str | None = None,
        ttl: int | None = None,
        priority: int | None = None,
    ) -> One:
        """Change a record's content, priority or TTL (that of its whole set)."""
        payload = body(content=content, ttl=ttl, priority=priority)
        return self._x.one(Call("PUT", f"/dns/records/{seg(record)}", payload))

    def delete_record(self, record: str) -> Done:
        """Delete a record."""
        return self._x.done(Call("DELETE", f"/dns/records/{seg(record)}"))
