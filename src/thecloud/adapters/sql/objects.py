"""SQL repositories of object storage: access keys, buckets, object versions, uploads, parts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, null, or_, select, true

from thecloud.adapters.sql import tables as t
from thecloud.adapters.sql.base import SqlRepository
from thecloud.adapters.sql.statements import Statements, prebuilt
from thecloud.domain.objects import (
    Bucket,
    CredentialStatus,
    MultipartUpload,
    ObjectVersion,
    Part,
    Segment,
    StorageCredential,
    Versioning,
)


def segment_of(raw: Mapping[str, Any], data: bytes | None = None) -> Segment:
    """A segment from its JSON form; an inline one gets `data` (None: not loaded)."""
    inline = bool(raw.get("inline"))
    return Segment(
        blob_id=raw["blob_id"], size=raw["size"], sealed_key=raw["sealed_key"],
        inline=inline, data=data if inline else None,
    )  # fmt: skip


def segment_row(segment: Segment) -> dict[str, Any]:
    row = {"blob_id": segment.blob_id, "size": segment.size, "sealed_key": segment.sealed_key}
    return {**row, "inline": True} if segment.inline else row


INLINE_DATA = "inline_data"


def _prefixed(column: Any, prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix` (no LIKE: it ignores case on SQLite and needs escaping)."""
    if not prefix:
        return true()
    return and_(column >= prefix, func.substr(column, 1, len(prefix)) == prefix)


class SqlStorageCredentials(SqlRepository[StorageCredential]):
    entity, table, label = StorageCredential, t.storage_credentials, "storage credential"

    def decode(self, row: Mapping[str, Any]) -> StorageCredential:
        return super().decode({**row, "status": CredentialStatus(row["status"])})

    def encode(self, item: StorageCredential) -> dict[str, Any]:
        return {**super().encode(item), "status": str(item.status)}


class SqlBuckets(SqlRepository[Bucket]):
    entity, table, label = Bucket, t.buckets, "bucket"

    def decode(self, row: Mapping[str, Any]) -> Bucket:
        return super().decode(
            {
                **row,
                "versioning": Versioning(row["versioning"]),
                "cors": tuple(row["cors"]),
                "lifecycle": tuple(row["lifecycle"]),
            }
        )

    def encode(self, item: Bucket) -> dict[str, Any]:
        return {
            **super().encode(item),
            "versioning": str(item.versioning),
            "tags": dict(item.tags),
            "cors": [dict(r) for r in item.cors],
            "lifecycle": [dict(r) for r in item.lifecycle],
        }


class SqlObjectVersions(SqlRepository[ObjectVersion]):
    """A small object's data is the row's `inline_data` (the ciphertext of its one inline
    segment): written by the insert and by an overwrite, never by an update, and loaded by
    the point lookups (latest, find_one: what GET and copy read through), not by listings,
    whose rows would otherwise carry every object's bytes."""

    entity, table, label = ObjectVersion, t.object_versions, "object version"

    def _prepare(self) -> Statements:
        stmts = Statements(self.table, self._names, self.label, self.key, fixed=(INLINE_DATA,))
        self._statements[type(self)] = stmts
        return stmts

    def _select(self) -> Select[Any]:
        """Listings: the entity's columns, and NULL for the inline data."""
        return select(*(self.table.c[name] for name in self._names), null().label(INLINE_DATA))

    def _load(self, row: Sequence[Any]) -> ObjectVersion:
        *fields, data = row
        return self.decode({**dict(zip(self._names, fields, strict=True)), INLINE_DATA: data})

    def decode(self, row: Mapping[str, Any]) -> ObjectVersion:
        data = row.get(INLINE_DATA)
        segments = tuple(segment_of(s, data) for s in row["segments"])
        fields = {k: v for k, v in row.items() if k != INLINE_DATA}
        return super().decode({**fields, "segments": segments})

    def encode(self, item: ObjectVersion) -> dict[str, Any]:
        inline = [s.data for s in item.segments if s.inline]
        if len(inline) > 1:
            raise ValueError("an object version keeps at most one segment inline")
        return {
            **super().encode(item),
            "headers": dict(item.headers),
            "metadata": dict(item.metadata),
            "checksums": dict(item.checksums),
            "segments": [segment_row(s) for s in item.segments],
            "tags": dict(item.tags),
            INLINE_DATA: inline[0] if inline else None,
        }

    async def _rows(self, where: ColumnElement[bool], *order: Any, limit: int) -> list[Any]:
        stmt = self._select().where(where).order_by(*order).limit(limit)
        return [self._load(r) for r in await self._conn.execute(stmt)]

    async def lock_key(self, bucket_id: str, key: str) -> None:
        if self._conn.dialect.name == "postgresql":
            lock = select(
                func.pg_advisory_xact_lock(func.hashtextextended(f"{bucket_id}/{key}", 0))
            )
            await self._conn.execute(lock)

    async def latest(self, bucket_id: str, key: str) -> ObjectVersion | None:
        # the repository's prebuilt lookup: every GET and PUT asks this
        return await self._first({"bucket_id": bucket_id, "key": key, "is_latest": True})

    async def overwrite(self, old_id: str, item: ObjectVersion) -> None:
        """One UPDATE of the old row, inline data and id included: of the table's five
        indexes it moves only the entries whose columns change (id, seq, last_modified),
        where a DELETE and an INSERT rewrite all of them (alone in a transaction on this
        table: 65 us against 106)."""
        values = self.encode(item)
        params = {f"v_{k}": v for k, v in values.items()}
        done = await self._write(self._overwrite(), {**params, "p_key": old_id})
        if not done.rowcount:  # gone already: the write is then an insert
            await self.add(item)

    def _overwrite(self) -> Any:
        def build() -> Any:
            columns = (*self._names, INLINE_DATA)
            where = self.table.c.id == bindparam("p_key")
            values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns}
            return prebuilt(self.table.update().where(where).values(values))

        return self._s.cached(("overwrite",), build)

    async def newest(self, bucket_id: str, key: str) -> ObjectVersion | None:
        c = t.object_versions.c
        found = await self._rows(
            and_(c.bucket_id == bucket_id, c.key == key), c.seq.desc(), limit=1
        )
        return found[0] if found else None

    async def listing(
        self, bucket_id: str, prefix: str, after: str, limit: int
    ) -> list[ObjectVersion]:
        c = t.object_versions.c
        where = and_(
            c.bucket_id == bucket_id,
            c.is_latest == true(),
            c.key > after,
            _prefixed(c.key, prefix),
            c.delete_marker == False,  # noqa: E712 - SQL, not Python
        )
        return await self._rows(where, c.key, limit=limit)

    async def versions(
        self, bucket_id: str, prefix: str, after_key: str, after_seq: int | None, limit: int
    ) -> list[ObjectVersion]:
        c = t.object_versions.c
        past = c.key > after_key
        if after_seq is not None:
            past = or_(past, and_(c.key == after_key, c.seq < after_seq))
        where = and_(c.bucket_id == bucket_id, _prefixed(c.key, prefix), past)
        return await self._rows(where, c.key, c.seq.desc(), limit=limit)

    async def older_than(self, bucket_id: str, before: object, limit: int) -> list[ObjectVersion]:
        c = t.object_versions.c
        where = and_(c.bucket_id == bucket_id, c.last_modified < before)
        return await self._rows(where, c.last_modified, limit=limit)

    async def blob_ids(self) -> set[str]:
        rows = await self._conn.execute(select(t.object_versions.c.segments))
        return {s["blob_id"] for (segments,) in rows for s in segments if not s.get("inline")}


class SqlUploads(SqlRepository[MultipartUpload]):
    entity, table, label = MultipartUpload, t.multipart_uploads, "multipart upload"

    def encode(self, item: MultipartUpload) -> dict[str, Any]:
        return {
            **super().encode(item),
            "headers": dict(item.headers),
            "metadata": dict(item.metadata),
            "tags": dict(item.tags),
        }

    async def listing(
        self, bucket_id: str, prefix: str, after_key: str, after_id: str, limit: int
    ) -> list[MultipartUpload]:
        c = t.multipart_uploads.c
        past = or_(c.key > after_key, and_(c.key == after_key, c.id > after_id))
        where = and_(c.bucket_id == bucket_id, _prefixed(c.key, prefix), past)
        stmt = self._select().where(where).order_by(c.key, c.id).limit(limit)
        return [self._load(r) for r in await self._conn.execute(stmt)]


class SqlParts(SqlRepository[Part]):
    entity, table, label = Part, t.multipart_parts, "part"

    def decode(self, row: Mapping[str, Any]) -> Part:
        return super().decode({**row, "segment": segment_of(row["segment"])})

    def encode(self, item: Part) -> dict[str, Any]:
        return {
            **super().encode(item),
            "segment": segment_row(item.segment),
            "checksums": dict(item.checksums),
        }

    async def of_upload(self, upload_id: str, after: int, limit: int) -> list[Part]:
        c = t.multipart_parts.c
        where = and_(c.upload_id == upload_id, c.number > after)
        stmt = self._select().where(where).order_by(c.number).limit(limit)
        return [self._load(r) for r in await self._conn.execute(stmt)]

    async def blob_ids(self) -> set[str]:
        rows = await self._conn.execute(select(t.multipart_parts.c.segment))
        return {segment["blob_id"] for (segment,) in rows}
