"""Objects: put (streamed into an encrypted blob, then made current in one transaction),
get and head (ranges, conditions, versions), delete (versions and delete markers), copy."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from thecloud.domain.common import new_id
from thecloud.domain.identity import Principal
from thecloud.domain.objects import (
    MAX_PUT_BYTES,
    NULL_VERSION,
    Bucket,
    ByteRange,
    Conditions,
    CustomerKey,
    ObjectAttrs,
    ObjectVersion,
    PreconditionFailed,
    S3Forbidden,
    S3Invalid,
    S3NotFound,
    Segment,
    Versioning,
    etag_in,
    no_such_key,
    too_large,
    validate_key,
    validate_metadata,
    validate_object_tags,
)
from thecloud.ports.objects import Payload, PayloadDigest
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service
from thecloud.services.buckets import BucketService
from thecloud.services.object_data import Hashing, ObjectData
from thecloud.services.recent import UntilCommit

Also = Callable[[UnitOfWork, Bucket], Awaitable[None]]

# versions GET and HEAD read, kept until the next commit: small inline objects carry their
# (encrypted) data, so the bytes are bounded too; an entry costs about a KiB besides
RECENT_ENTRIES, RECENT_BYTES, RECENT_OVERHEAD = 4096, 8 << 20, 1024


def _weight(found: tuple[Bucket, ObjectVersion]) -> int:
    return sum(len(s.data or b"") for s in found[1].segments) + RECENT_OVERHEAD


@dataclass(frozen=True, slots=True)
class Download:
    version: ObjectVersion
    start: int
    stop: int
    partial: bool  # a Range was honoured (206)
    body: AsyncIterator[bytes] | None  # None for HEAD


@dataclass(frozen=True, slots=True)
class Removal:
    key: str
    version_id: str  # the version removed, or the delete marker made ("" when unversioned)
    delete_marker: bool


def new_version_id() -> str:
    return uuid.uuid4().hex


def _md5_etag(md5: bytes) -> str:
    return f'"{md5.hex()}"'


class ObjectService(Service):
    def __init__(self, kernel: Kernel, buckets: BucketService, data: ObjectData) -> None:
        super().__init__(kernel)
        self._buckets, self._data = buckets, data
        self._recent: UntilCommit[tuple[str, str, str], tuple[Bucket, ObjectVersion]]
        self._recent = UntilCommit(RECENT_ENTRIES, RECENT_BYTES)

    async def put(
        self,
        p: Principal,
        bucket_name: str,
        key: str,
        payload: Payload,
        attrs: ObjectAttrs,
        customer: CustomerKey | None = None,
        expect: Conditions | None = None,
    ) -> ObjectVersion:
        """Store the body, then make it the key's current version; a reader sees the old or
        the new object, never a part of one. `expect` (If-Match, If-None-Match) is checked
        against the current version in the same transaction."""
        validate_key(key)
        validate_metadata(attrs.metadata)
        validate_object_tags(attrs.tags)
        small, chunks = await self._data.peek(payload.chunks())
        if small is not None:
            # a body kept in its row: no data of its own to write first, so the bucket is
            # looked up (and the put authorized) once, in the transaction that makes it
            digest = payload.digest()
            # sealed before the transaction, for the caller's tenant: the only one whose
            # buckets it may write to (BucketService.check refuses the others')
            segment = self._data.inline(p.tenant_id, small, customer)

            def build(bucket: Bucket) -> ObjectVersion:
                return self.new_version(p, bucket, key, attrs, [segment], digest, customer)

            made, replaced = await self._commit(
                p, bucket_name, key, build, "s3:PutObject", None, expect
            )
            return await self._committed(made, replaced)
        # a blob: authorized before a byte of it is written
        bucket = await self._buckets.get(p, bucket_name, "s3:PutObject", key)
        segment, digest = await self._data.write(
            bucket.tenant_id, chunks, payload.digest, customer, MAX_PUT_BYTES
        )
        version = self.new_version(p, bucket, key, attrs, [segment], digest, customer)
        return await self.commit_version(p, bucket_name, version, "s3:PutObject", expect=expect)

    def new_version(
        self,
        p: Principal,
        bucket: Bucket,
        key: str,
        attrs: ObjectAttrs,
        segments: Sequence[Segment],
        digest: PayloadDigest,
        customer: CustomerKey | None,
        *,
        etag: str = "",
        parts_count: int = 0,
    ) -> ObjectVersion:
        return ObjectVersion(
            id=new_id(), tenant_id=bucket.tenant_id, bucket_id=bucket.id, key=key,
            version_id="", seq=0, is_latest=True, delete_marker=False,
            size=sum(s.size for s in segments), etag=etag or _md5_etag(digest.md5),
            last_modified=self._clock.now(), created_by=p.id, content_type=attrs.content_type,
            headers=dict(attrs.headers), metadata=dict(attrs.metadata),
            checksums=dict(digest.checksums), segments=tuple(segments),
            sse_customer_key_md5=customer.md5 if customer else "", parts_count=parts_count,
            tags=dict(attrs.tags),
        )  # fmt: skip

    async def commit_version(
        self,
        p: Principal,
        bucket_name: str,
        version: ObjectVersion,
        action: str,
        also: Also | None = None,
        expect: Conditions | None = None,
    ) -> ObjectVersion:
        """Make `version` current (its data is durable already), with `also(uow, bucket)` in
        the same transaction (a multipart upload's rows go there). Without `also`, a failure
        discards the version's data; what it replaced is deleted once it is committed."""
        try:
            made, replaced = await self._commit(
                p, bucket_name, version.key, lambda _: version, action, also, expect
            )
        except BaseException:
            if also is None:
                await self._data.discard(version.segments)
            raise
        return await self._committed(made, replaced)

    async def _committed(self, made: ObjectVersion, replaced: list[Segment]) -> ObjectVersion:
        await self._uow.sync()  # acknowledged only once durable
        await self._data.discard(replaced)
        return made

    async def _commit(
        self,
        p: Principal,
        bucket_name: str,
        key: str,
        build: Callable[[Bucket], ObjectVersion],
        action: str,
        also: Also | None,
        expect: Conditions | None = None,
    ) -> tuple[ObjectVersion, list[Segment]]:
        """In one transaction: the bucket (`action` authorized on `key`), `also`, and the
        version `build` makes for that bucket becomes the key's current one."""
        async with self._uow(batched=True) as uow:
            bucket = await self._buckets.find(uow, p, bucket_name, action, key)
            if also is not None:
                await also(uow, bucket)
            made, replaced = await self._make_current(uow, bucket, build(bucket), expect)
            await self._record(
                uow, p, action, "object", made.id,
                {"bucket": bucket.name, "key": made.key, "version_id": made.version_id},
            )  # fmt: skip
            await uow.commit()
        return made, replaced

    async def _make_current(
        self,
        uow: UnitOfWork,
        bucket: Bucket,
        version: ObjectVersion,
        expect: Conditions | None = None,
    ) -> tuple[ObjectVersion, list[Segment]]:
        repo, replaced = uow.object_versions, []
        await repo.lock_key(bucket.id, version.key)
        latest = await repo.latest(bucket.id, version.key)
        if expect is not None:
            _check_write(expect, latest, version.key)
        versioned = bucket.versioning is Versioning.ENABLED
        old_null = None
        if not versioned:
            # the null version, which this one replaces: mostly the current one already
            old_null = (
                latest
                if latest is not None and latest.version_id == NULL_VERSION
                else await repo.find_one(
                    bucket_id=bucket.id, key=version.key, version_id=NULL_VERSION
                )
            )
            if old_null is not None:
                replaced = list(old_null.segments)
                latest = None if latest and latest.id == old_null.id else latest
        if latest is not None:
            await repo.update(replace(latest, is_latest=False))
        seq = max(time.time_ns(), (latest.seq + 1) if latest else 0)
        made = replace(
            version, bucket_id=bucket.id, seq=seq, is_latest=True,
            version_id=new_version_id() if versioned else NULL_VERSION,
        )  # fmt: skip
        if old_null is not None:
            await repo.overwrite(old_null.id, made)  # after `latest` stopped being current
        else:
            await repo.add(made)
        return made, replaced

    async def open(
        self,
        p: Principal | None,
        bucket_name: str,
        key: str,
        *,
        version_id: str | None = None,
        byte_range: ByteRange | None = None,
        conditions: Conditions | None = None,
        customer: CustomerKey | None = None,
        body: bool = True,
    ) -> Download:
        """GET (body) or HEAD of the current version or of `version_id`."""
        action = "s3:GetObjectVersion" if version_id else "s3:GetObject"
        bucket, version = await self._lookup(p, bucket_name, key, version_id, action)
        if conditions is not None:
            conditions.check(version.etag, version.last_modified)
        check_customer_key(version.sse_customer_key_md5, customer)
        start, stop = byte_range.resolve(version.size) if byte_range else (0, version.size)
        stream = None
        if body:
            stream = self._data.read(version.tenant_id, version.segments, start, stop, customer)
        return Download(version, start, stop, byte_range is not None, stream)

    async def _lookup(
        self, p: Principal | None, bucket_name: str, key: str, version_id: str | None, action: str
    ) -> tuple[Bucket, ObjectVersion]:
        """The bucket and the version a GET or HEAD reads, authorized. Kept until the store's
        next commit (by any process), so repeated reads of an unchanged store skip it."""

        async def load() -> tuple[Bucket, ObjectVersion]:
            async with self._uow(read_only=True) as uow:
                bucket = await self._buckets.find(uow, p, bucket_name, action, key)
                return bucket, await self._pick(uow, bucket, key, version_id)

        wanted = (bucket_name, key, version_id or "")
        found, kept = await self._recent.read(await self._uow.version(), wanted, load, _weight)
        if kept:  # authorized for whoever read it first: now for this caller
            self._buckets.check(p, action, found[0], key)
        return found

    async def _pick(
        self, uow: UnitOfWork, bucket: Bucket, key: str, version_id: str | None
    ) -> ObjectVersion:
        if version_id:
            found = await uow.object_versions.find_one(
                bucket_id=bucket.id, key=key, version_id=version_id
            )
            if found is None:
                raise _no_such_version(key, version_id)
            if found.delete_marker:
                raise S3Invalid("MethodNotAllowed", "The specified method is not allowed "
                                "against a delete marker.", delete_marker=True)  # fmt: skip
            return found
        found = await uow.object_versions.latest(bucket.id, key)
        if found is None or found.delete_marker:
            marker = found is not None
            raise no_such_key(key, marker, found.version_id if found else "")
        return found

    async def delete(
        self, p: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> Removal:
        """Without a version: remove the object (unversioned) or add a delete marker.
        With one: remove exactly that version; S3 answers 204 even when it did not exist."""
        validate_key(key)
        action = "s3:DeleteObjectVersion" if version_id else "s3:DeleteObject"
        async with self._uow(batched=True) as uow:
            bucket = await self._buckets.find(uow, p, bucket_name, action, key)
            if version_id:
                removal, gone = await self._remove_version(uow, bucket, key, version_id)
            else:
                removal, gone = await self.remove_current(uow, bucket, key, p.id)
            await self._record(
                uow, p, action, "object", removal.version_id or key,
                {"bucket": bucket.name, "key": key, "delete_marker": removal.delete_marker},
            )  # fmt: skip
            await uow.commit()
        await self._uow.sync()
        await self._data.discard(gone)
        return removal

    async def _remove_version(
        self, uow: UnitOfWork, bucket: Bucket, key: str, version_id: str
    ) -> tuple[Removal, list[Segment]]:
        repo = uow.object_versions
        await repo.lock_key(bucket.id, key)
        found = await repo.find_one(bucket_id=bucket.id, key=key, version_id=version_id)
        if found is None:
            if version_id != NULL_VERSION and not _looks_like_version(version_id):
                raise S3Invalid("InvalidArgument", f"Invalid version id specified: {version_id}")
            return Removal(key, version_id, False), []
        await repo.delete(found.id)
        if found.is_latest:
            successor = await repo.newest(bucket.id, key)
            if successor is not None:
                await repo.update(replace(successor, is_latest=True))
        return Removal(key, version_id, found.delete_marker), list(found.segments)

    async def remove_current(
        self, uow: UnitOfWork, bucket: Bucket, key: str, actor: str
    ) -> tuple[Removal, list[Segment]]:
        """A DELETE without a version id, in `uow`: remove the object (unversioned) or make
        a delete marker current; the segments that are no longer referred to."""
        repo = uow.object_versions
        await repo.lock_key(bucket.id, key)
        if bucket.versioning is Versioning.OFF:
            found = await repo.latest(bucket.id, key)
            if found is not None:
                await repo.delete(found.id)
            return Removal(key, "", False), list(found.segments) if found else []
        marker = ObjectVersion(
            id=new_id(), tenant_id=bucket.tenant_id, bucket_id=bucket.id, key=key,
            version_id="", seq=0, is_latest=True, delete_marker=True, size=0, etag="",
            last_modified=self._clock.now(), created_by=actor,
        )  # fmt: skip
        made, replaced = await self._make_current(uow, bucket, marker)
        return Removal(key, made.version_id, True), replaced

    async def delete_many(
        self, p: Principal, bucket_name: str, entries: Sequence[tuple[str, str | None]]
    ) -> list[Removal | tuple[str, str | None, str, str]]:
        """DeleteObjects: each entry is removed on its own; failures are reported per key as
        (key, version id, code, message)."""
        await self._buckets.get(p, bucket_name, "s3:DeleteObject")  # NoSuchBucket first
        results: list[Removal | tuple[str, str | None, str, str]] = []
        for key, version_id in entries:
            try:
                results.append(await self.delete(p, bucket_name, key, version_id))
            except S3Forbidden as exc:
                results.append((key, version_id, "AccessDenied", exc.message))
            except S3Invalid as exc:
                code = str(exc.details.get("s3_code", "InvalidArgument"))
                results.append((key, version_id, code, exc.message))
        return results

    async def tags(
        self, p: Principal, bucket_name: str, key: str, version_id: str | None = None
    ) -> ObjectVersion:
        """GetObjectTagging: the version (current, or `version_id`) whose tags are asked."""
        action = "s3:GetObjectVersionTagging" if version_id else "s3:GetObjectTagging"
        return (await self.describe(p, bucket_name, key, version_id, action))[1]

    async def describe(
        self, p: Principal, bucket_name: str, key: str, version_id: str | None, action: str
    ) -> tuple[Bucket, ObjectVersion]:
        """The bucket and the version (current, or `version_id`) that a call about the
        object rather than its data asks about (tags, ACL), `action` authorized."""
        async with self._uow(read_only=True) as uow:
            bucket = await self._buckets.find(uow, p, bucket_name, action, key)
            return bucket, await self._pick(uow, bucket, key, version_id)

    async def set_tags(
        self,
        p: Principal,
        bucket_name: str,
        key: str,
        tags: Mapping[str, str],
        version_id: str | None = None,
        *,
        delete: bool = False,
    ) -> ObjectVersion:
        """PutObjectTagging (or DeleteObjectTagging, `delete`): replace the tag set of the
        current version or of `version_id`, in place: tags are not a new version."""
        validate_key(key)
        validate_object_tags(tags)
        verb = "Delete" if delete else "Put"
        action = f"s3:{verb}ObjectVersionTagging" if version_id else f"s3:{verb}ObjectTagging"
        async with self._uow(batched=True) as uow:
            bucket = await self._buckets.find(uow, p, bucket_name, action, key)
            await uow.object_versions.lock_key(bucket.id, key)
            found = await self._pick(uow, bucket, key, version_id)
            tagged = replace(found, tags=dict(tags))
            await uow.object_versions.update(tagged)
            await self._record(
                uow, p, action, "object", found.id,
                {"bucket": bucket.name, "key": key, "version_id": found.version_id,
                 "tags": sorted(tags)},
            )  # fmt: skip
            await uow.commit()
        await self._uow.sync()
        return tagged

    async def copy(
        self,
        p: Principal,
        source: tuple[str, str, str | None],
        target: tuple[str, str],
        attrs: ObjectAttrs | None,
        conditions: Conditions | None = None,
        keys: tuple[CustomerKey | None, CustomerKey | None] = (None, None),
        tags: Mapping[str, str] | None = None,
    ) -> tuple[ObjectVersion, ObjectVersion]:
        """CopyObject: (bucket, key, version) -> (bucket, key). `attrs` None copies the
        source's metadata (MetadataDirective COPY), `tags` None its tags (TaggingDirective
        COPY). Returns (source, new version)."""
        if tags is not None:
            validate_object_tags(tags)
        src_bucket, src_key, src_version = source
        got = await self.open(
            p, src_bucket, src_key, version_id=src_version, conditions=None, customer=keys[0]
        )
        if conditions is not None:
            conditions.check(got.version.etag, got.version.last_modified, copy=True)
        made = await self._copy_into(p, got, target, attrs, keys[1], tags)
        return got.version, made

    async def _copy_into(
        self,
        p: Principal,
        got: Download,
        target: tuple[str, str],
        attrs: ObjectAttrs | None,
        customer: CustomerKey | None,
        tags: Mapping[str, str] | None,
    ) -> ObjectVersion:
        bucket_name, key = target
        validate_key(key)
        src = got.version
        if attrs is None:
            attrs = ObjectAttrs(src.content_type, src.headers, src.metadata)
        attrs = replace(attrs, tags=src.tags if tags is None else tags)
        if src.size > MAX_PUT_BYTES:
            raise too_large(
                "the source object (use UploadPartCopy for large copies)", MAX_PUT_BYTES
            )
        bucket = await self._buckets.get(p, bucket_name, "s3:PutObject", key)
        assert got.body is not None  # noqa: S101 - open() was asked for the body
        hashing = Hashing(got.body)
        segment, digest = await self._data.write(
            bucket.tenant_id, hashing.chunks(), hashing.digest, customer, MAX_PUT_BYTES
        )
        # same bytes, same checksums (not a multipart object's composite "...-N" ones)
        kept = {a: v for a, v in src.checksums.items() if "-" not in v}
        digest = PayloadDigest(digest.md5, kept)
        version = self.new_version(p, bucket, key, attrs, [segment], digest, customer)
        return await self.commit_version(p, bucket_name, version, "s3:PutObject")


def _check_write(expect: Conditions, latest: ObjectVersion | None, key: str) -> None:
    """Conditional writes: If-None-Match (`*`: only if absent) and If-Match."""
    current = latest if latest is not None and not latest.delete_marker else None
    if expect.if_none_match is not None and current is not None:
        if expect.if_none_match.strip() == "*" or etag_in(current.etag, expect.if_none_match):
            raise PreconditionFailed
    if expect.if_match is not None:
        if current is None:
            raise no_such_key(key)
        if not etag_in(current.etag, expect.if_match):
            raise PreconditionFailed


def check_customer_key(stored_md5: str, customer: CustomerKey | None) -> None:
    """SSE-C data (its key's MD5 stored) is read with the key it was written with, and only
    with it; other data with no customer key."""
    if stored_md5 and customer is None:
        raise S3Invalid(
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct "
            "parameters must be provided to retrieve the object.",
        )
    if customer is not None and customer.md5 != stored_md5:
        raise S3Forbidden(
            "AccessDenied",
            "The SSE-C key you provided does not match the key the object was stored with"
            if stored_md5
            else "The object was not stored with SSE-C; do not send a customer key",
        )


def _no_such_version(key: str, version_id: str) -> S3Invalid | S3NotFound:
    if version_id != NULL_VERSION and not _looks_like_version(version_id):
        return S3Invalid("InvalidArgument", f"Invalid version id specified: {version_id}")
    return S3NotFound(
        "NoSuchVersion", "The specified version does not exist.", key=key, version_id=version_id
    )


def _looks_like_version(version_id: str) -> bool:
    return len(version_id) == 32 and all(c in "0123456789abcdef" for c in version_id)
