"""In-memory repositories of block storage (unit tests)."""

from __future__ import annotations

from thecloud.adapters.memory.base import MemoryRepository
from thecloud.domain.storage import Snapshot, Volume


class MemoryVolumes(MemoryRepository[Volume]):
    entity, table, label = Volume, "volumes", "volume"


class MemorySnapshots(MemoryRepository[Snapshot]):
    entity, table, label = Snapshot, "snapshots", "snapshot"
