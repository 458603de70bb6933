"""SQL repositories of block storage: volumes and snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thecloud.adapters.sql import tables as t
from thecloud.adapters.sql.base import SqlRepository
from thecloud.domain.storage import Snapshot, SnapshotStatus, Volume, VolumeStatus


class SqlVolumes(SqlRepository[Volume]):
    entity, table, label = Volume, t.volumes, "volume"

    def decode(self, row: Mapping[str, Any]) -> Volume:
        return super().decode({**row, "status": VolumeStatus(row["status"])})

    def encode(self, item: Volume) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status), "labels": dict(item.labels)}


class SqlSnapshots(SqlRepository[Snapshot]):
    entity, table, label = Snapshot, t.snapshots, "snapshot"

    def decode(self, row: Mapping[str, Any]) -> Snapshot:
        return super().decode({**row, "status": SnapshotStatus(row["status"])})

    def encode(self, item: Snapshot) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status)}
