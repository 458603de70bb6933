"""SQL repositories of compute: the image catalog and instances."""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, update

from thecloud.adapters.sql import tables as t
from thecloud.adapters.sql.base import SqlRepository
from thecloud.domain.common import ListQuery, Page
from thecloud.domain.compute import (
    Deployment,
    DeploymentStatus,
    Image,
    ImageStatus,
    Instance,
    InstanceStatus,
    MetricSample,
    PortMapping,
    SshKey,
)


class SqlImages(SqlRepository[Image]):
    entity, table, label = Image, t.images, "image"

    def decode(self, row: Mapping[str, Any]) -> Image:
        return super().decode({**row, "status": ImageStatus(row["status"])})

    async def visible(self, tenant_id: str, query: ListQuery) -> Page[Image]:
        c = self.table.c
        mine_or_public = or_(c.tenant_id == tenant_id, c.tenant_id.is_(None))
        return await self.page(and_(mine_or_public, self._where(query.filters)), query)

    async def by_name(self, tenant_id: str, name: str) -> Image | None:
        own = await self.find_one(tenant_id=tenant_id, name=name)
        return own or await self.find_one(tenant_id=None, name=name)


def ports_out(ports: Sequence[PortMapping]) -> list[list[Any]]:
    return [[p.host, p.container, p.protocol] for p in ports]


def ports_in(rows: Sequence[Sequence[Any]]) -> tuple[PortMapping, ...]:
    return tuple(PortMapping(int(h), int(c), str(proto)) for h, c, proto in rows)


class SqlInstances(SqlRepository[Instance]):
    entity, table, label = Instance, t.instances, "instance"

    def decode(self, row: Mapping[str, Any]) -> Instance:
        return super().decode(
            {
                **row,
                "status": InstanceStatus(row["status"]),
                "ports": ports_in(row["ports"]),
                "host_ports": ports_in(row["host_ports"]),
                "env": tuple(row["env"]),
                "cmd": tuple(row["cmd"]),
            }
        )

    def encode(self, item: Instance) -> dict[str, Any]:
        return {
            **super().encode(item),
            "status": str(item.status),
            "ports": ports_out(item.ports),
            "host_ports": ports_out(item.host_ports),
            "env": list(item.env),
            "cmd": list(item.cmd),
            "labels": dict(item.labels),
            "metadata": dict(item.metadata),
        }

    async def list(self, query: ListQuery, tenant_id: str | None = None) -> Page[Instance]:
        """As every list, plus `query.labels`: instances carrying all of those labels."""
        if not query.labels:
            return await super().list(query, tenant_id)
        c = self.table.c
        filters = {**query.filters, **({"tenant_id": tenant_id} if tenant_id else {})}
        wanted = [c.labels[k].as_string() == v for k, v in query.labels.items()]
        return await self.page(and_(self._where(filters), *wanted), query)

    async def swap(self, item: Instance, expected_version: int) -> bool:
        values = self.encode(item)
        c = self.table.c
        stmt = (
            update(self.table)
            .where(c.id == values.pop("id"), c.version == expected_version)
            .values(**values)
        )
        return bool((await self._conn.execute(stmt)).rowcount)

    async def live(self, statuses: Sequence[str] = ()) -> builtins.list[Instance]:
        c = self.table.c
        stmt = self._select().where(c.status != str(InstanceStatus.DELETED))
        if statuses:
            stmt = stmt.where(c.status.in_([str(s) for s in statuses]))
        rows = await self._conn.execute(stmt.order_by(c.created_at, c.id))
        return [self._load(r) for r in rows]


class SqlMetrics(SqlRepository[MetricSample]):
    entity, table, label = MetricSample, t.instance_metrics, "metric sample"

    async def prune(self, before: datetime) -> int:
        stmt = delete(self.table).where(self.table.c.created_at < before)
        return int((await self._conn.execute(stmt)).rowcount)


class SqlSshKeys(SqlRepository[SshKey]):
    entity, table, label = SshKey, t.ssh_keys, "SSH key"


class SqlDeployments(SqlRepository[Deployment]):
    entity, table, label = Deployment, t.deployments, "deployment"

    def decode(self, row: Mapping[str, Any]) -> Deployment:
        return super().decode(
            {
                **row,
                "status": DeploymentStatus(row["status"]),
                "ports": ports_in(row["ports"]),
                "env": tuple(row["env"]),
                "cmd": tuple(row["cmd"]),
            }
        )

    def encode(self, item: Deployment) -> dict[str, Any]:
        return {
            **super().encode(item),
            "status": str(item.status),
            "ports": ports_out(item.ports),
            "env": list(item.env),
            "cmd": list(item.cmd),
        }
