"""Per-tenant quotas: the limits and what is in use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class QuotaResource(StrEnum):
    INSTANCES = "instances"
    VCPUS = "vcpus"
    MEMORY_MB = "memory_mb"
    VPCS = "vpcs"
    STORAGE_GB = "storage_gb"


DEFAULT_LIMITS: dict[QuotaResource, int] = {
    QuotaResource.INSTANCES: 20,
    QuotaResource.VCPUS: 40,
    QuotaResource.MEMORY_MB: 81920,
    QuotaResource.VPCS: 10,
    QuotaResource.STORAGE_GB: 1000,
}


@dataclass(frozen=True, slots=True)
class QuotaLine:
    """One resource's limit and usage in one tenant."""

    tenant_id: str
    resource: QuotaResource
    limit: int
    used: int
    updated_at: datetime

    @property
    def available(self) -> int:
        return max(self.limit - self.used, 0)
