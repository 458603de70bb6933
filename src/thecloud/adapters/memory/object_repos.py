"""In-memory repositories of object storage (unit tests), with the SQL ones' ordering, and
as there, small objects' inline data is loaded by point lookups only (not by listings) and
written once (an update leaves it as it is)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from thecloud.adapters.memory.base import MemoryRepository
from thecloud.domain.objects import (
    Bucket,
    MultipartUpload,
    ObjectVersion,
    Part,
    Segment,
    StorageCredential,
)


class MemoryStorageCredentials(MemoryRepository[StorageCredential]):
    entity, table, label = StorageCredential, "storage_credentials", "storage credential"


class MemoryBuckets(MemoryRepository[Bucket]):
    entity, table, label = Bucket, "buckets", "bucket"


class MemoryObjectVersions(MemoryRepository[ObjectVersion]):
    entity, table, label = ObjectVersion, "object_versions", "object version"

    def _of(self, bucket_id: str) -> list[ObjectVersion]:
        return [v for v in self._rows.values() if v.bucket_id == bucket_id]

    async def add(self, item: ObjectVersion) -> None:
        if item.is_latest and await self.latest(item.bucket_id, item.key) is not None:
            raise self._conflict()
        await super().add(item)

    async def update(self, item: ObjectVersion) -> None:
        current = await self.latest(item.bucket_id, item.key) if item.is_latest else None
        if current is not None and current.id != item.id:
            raise self._conflict()  # as the partial unique index of the SQL table
        stored = self._rows.get(item.id)
        if stored is not None:
            item = replace(item, segments=_kept(item.segments, stored.segments))
        await super().update(item)

    async def overwrite(self, old_id: str, item: ObjectVersion) -> None:
        await self.delete(old_id)
        await self.add(item)

    async def lock_key(self, bucket_id: str, key: str) -> None:
        """Writers hold the store's lock already."""

    async def latest(self, bucket_id: str, key: str) -> ObjectVersion | None:
        found = [v for v in self._of(bucket_id) if v.key == key and v.is_latest]
        return found[0] if found else None

    async def newest(self, bucket_id: str, key: str) -> ObjectVersion | None:
        found = sorted((v for v in self._of(bucket_id) if v.key == key), key=lambda v: -v.seq)
        return _unloaded(found[0]) if found else None

    async def listing(
        self, bucket_id: str, prefix: str, after: str, limit: int
    ) -> list[ObjectVersion]:
        found = [
            v
            for v in self._of(bucket_id)
            if v.is_latest and not v.delete_marker and v.key > after and v.key.startswith(prefix)
        ]
        return [_unloaded(v) for v in sorted(found, key=lambda v: v.key)[:limit]]

    async def versions(
        self, bucket_id: str, prefix: str, after_key: str, after_seq: int | None, limit: int
    ) -> list[ObjectVersion]:
        def past(v: ObjectVersion) -> bool:
            if v.key == after_key and after_seq is not None:
                return v.seq < after_seq
            return v.key > after_key

        found = [v for v in self._of(bucket_id) if v.key.startswith(prefix) and past(v)]
        return [_unloaded(v) for v in sorted(found, key=lambda v: (v.key, -v.seq))[:limit]]

    async def older_than(self, bucket_id: str, before: object, limit: int) -> list[ObjectVersion]:
        assert isinstance(before, datetime)  # noqa: S101 - the contract's type
        found = [v for v in self._of(bucket_id) if v.last_modified < before]
        return [_unloaded(v) for v in sorted(found, key=lambda v: v.last_modified)[:limit]]

    async def blob_ids(self) -> set[str]:
        return {s.blob_id for v in self._rows.values() for s in v.segments if not s.inline}


def _unloaded(version: ObjectVersion) -> ObjectVersion:
    """As a listing query returns it: without inline data."""
    return replace(version, segments=tuple(replace(s, data=None) for s in version.segments))


def _kept(new: Sequence[Segment], stored: Sequence[Segment]) -> tuple[Segment, ...]:
    data = {s.blob_id: s.data for s in stored}
    return tuple(replace(s, data=data.get(s.blob_id)) if s.inline else s for s in new)


class MemoryUploads(MemoryRepository[MultipartUpload]):
    entity, table, label = MultipartUpload, "multipart_uploads", "multipart upload"

    async def listing(
        self, bucket_id: str, prefix: str, after_key: str, after_id: str, limit: int
    ) -> list[MultipartUpload]:
        found = [
            u
            for u in self._rows.values()
            if u.bucket_id == bucket_id
            and u.key.startswith(prefix)
            and (u.key, u.id) > (after_key, after_id)
        ]
        return sorted(found, key=lambda u: (u.key, u.id))[:limit]


class MemoryParts(MemoryRepository[Part]):
    entity, table, label = Part, "multipart_parts", "part"

    async def of_upload(self, upload_id: str, after: int, limit: int) -> list[Part]:
        found = [p for p in self._rows.values() if p.upload_id == upload_id and p.number > after]
        return sorted(found, key=lambda p: p.number)[:limit]

    async def blob_ids(self) -> set[str]:
        return {p.segment.blob_id for p in self._rows.values()}
