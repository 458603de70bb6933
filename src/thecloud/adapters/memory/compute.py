"""In-memory repositories of compute: the image catalog and instances."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from thecloud.adapters.memory.base import MemoryRepository
from thecloud.domain.common import ListQuery, Page, PageRequest
from thecloud.domain.compute import (
    Deployment,
    Image,
    Instance,
    InstanceStatus,
    MetricSample,
    SshKey,
)


class MemoryImages(MemoryRepository[Image]):
    entity, table, label = Image, "images", "image"

    async def visible(self, tenant_id: str, query: ListQuery) -> Page[Image]:
        rows = self._select(query.filters)
        return self.page([i for i in rows if i.tenant_id in (tenant_id, None)], query)

    async def by_name(self, tenant_id: str, name: str) -> Image | None:
        own = await self.find_one(tenant_id=tenant_id, name=name)
        return own or await self.find_one(tenant_id=None, name=name)


class MemoryInstances(MemoryRepository[Instance]):
    """Names are unique among a tenant's live instances, like the SQL partial index."""

    entity, table, label = Instance, "instances", "instance"

    def _clashes(self, item: Instance, own_key: object) -> bool:
        if item.deleted_at is not None:
            return False
        return any(
            k != own_key
            and r.tenant_id == item.tenant_id
            and r.name == item.name
            and r.deleted_at is None
            for k, r in self._rows.items()
        )

    async def list(self, query: ListQuery, tenant_id: str | None = None) -> Page[Instance]:
        page = await super().list(replace(query, page=PageRequest(10**9, 0)), tenant_id)
        rows = [i for i in page.items if query.labels.items() <= i.labels.items()]
        return self.page(rows, query)

    async def swap(self, item: Instance, expected_version: int) -> bool:
        old = self._rows.get(item.id)
        if old is None or old.version != expected_version:
            return False
        await self.update(item)
        return True

    async def live(self, statuses: Sequence[str] = ()) -> builtins.list[Instance]:
        wanted = {str(s) for s in statuses}
        rows = [
            i
            for i in self._rows.values()
            if i.status != InstanceStatus.DELETED and (not wanted or i.status in wanted)
        ]
        return sorted(rows, key=lambda i: (i.created_at, i.id))


class MemoryMetrics(MemoryRepository[MetricSample]):
    entity, table, label = MetricSample, "instance_metrics", "metric sample"

    async def prune(self, before: datetime) -> int:
        old = [k for k, m in self._rows.items() if m.created_at < before]
        for key in old:
            self._state.remove(self.table, key)
        return len(old)


class MemorySshKeys(MemoryRepository[SshKey]):
    entity, table, label = SshKey, "ssh_keys", "SSH key"


class MemoryDeployments(MemoryRepository[Deployment]):
    entity, table, label = Deployment, "deployments", "deployment"
