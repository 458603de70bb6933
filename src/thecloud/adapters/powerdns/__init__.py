"""DNS on a PowerDNS authoritative server, configured through its HTTP API."""

from __future__ import annotations

from thecloud.adapters.powerdns.backend import PowerDnsBackend, zone_id

__all__ = ["PowerDnsBackend", "zone_id"]
