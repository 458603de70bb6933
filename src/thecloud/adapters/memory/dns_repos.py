"""In-memory repositories of DNS zones and records (unit tests)."""

from __future__ import annotations

from thecloud.adapters.memory.base import MemoryRepository
from thecloud.domain.dns import DnsRecord, DnsZone


class MemoryDnsZones(MemoryRepository[DnsZone]):
    entity, table, label = DnsZone, "dns_zones", "DNS zone"


class MemoryDnsRecords(MemoryRepository[DnsRecord]):
    entity, table, label = DnsRecord, "dns_records", "DNS record"
