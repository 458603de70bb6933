"""SQL repositories of DNS: zones and their records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thecloud.adapters.sql import tables as t
from thecloud.adapters.sql.base import SqlRepository
from thecloud.domain.dns import DnsRecord, DnsZone, DnsZoneStatus, RecordType


class SqlDnsZones(SqlRepository[DnsZone]):
    entity, table, label = DnsZone, t.dns_zones, "DNS zone"

    def decode(self, row: Mapping[str, Any]) -> DnsZone:
        return super().decode({**row, "status": DnsZoneStatus(row["status"])})

    def encode(self, item: DnsZone) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status)}


class SqlDnsRecords(SqlRepository[DnsRecord]):
    entity, table, label = DnsRecord, t.dns_records, "DNS record"

    def decode(self, row: Mapping[str, Any]) -> DnsRecord:
        return super().decode({**row, "type": RecordType(row["type"])})

    def encode(self, item: DnsRecord) -> dict[str, Any]:
        return {**super().encode(item), "type": str(item.type)}
