"""Multipart uploads: create, upload a part (or copy one from an object), list parts and
uploads, complete (the parts become the object's segments, in one transaction: no data is
copied) and abort."""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

import crc32c

from thecloud.domain.common import new_id
from thecloud.domain.identity import Principal
from thecloud.domain.objects import (
    MAX_PART_BYTES,
    MIN_PART_BYTES,
    Bucket,
    ByteRange,
    Conditions,
    CustomerKey,
    MultipartUpload,
    ObjectAttrs,
    ObjectVersion,
    Part,
    S3Invalid,
    S3NotFound,
    Segment,
    multipart_etag,
    validate_key,
    validate_metadata,
    validate_object_tags,
    validate_part_number,
)
from thecloud.ports.objects import Payload, PayloadDigest
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service
from thecloud.services.buckets import BucketService
from thecloud.services.object_data import Hashing, ObjectData
from thecloud.services.objects import ObjectService, check_customer_key

MAX_LIST = 1000


@dataclass(frozen=True, slots=True)
class PartListing:
    upload: MultipartUpload
    parts: list[Part]
    truncated: bool
    next_marker: int


@dataclass(frozen=True, slots=True)
class UploadListing:
    bucket: Bucket
    uploads: list[MultipartUpload]
    prefixes: list[str]
    truncated: bool
    next_key_marker: str = ""
    next_upload_marker: str = ""


def no_such_upload(upload_id: str) -> S3NotFound:
    return S3NotFound(
        "NoSuchUpload",
        "The specified multipart upload does not exist. The upload ID may be invalid, or the "
        "upload may have been aborted or completed.",
        upload_id=upload_id,
    )


def composite_checksum(algorithm: str, parts: Sequence[Part]) -> str | None:
    """S3's checksum of a multipart object: the checksum of the parts' checksums, '-N'."""
    values = [p.checksums.get(algorithm) for p in parts]
    if not values or any(v is None for v in values):
        return None
    joined = b"".join(base64.b64decode(v or "") for v in values)
    if algorithm == "CRC32":
        digest = struct.pack(">I", zlib.crc32(joined))
    elif algorithm in ("SHA1", "SHA256"):
        digest = hashlib.new(algorithm.lower(), joined).digest()
    elif algorithm == "CRC32C":
        digest = struct.pack(">I", crc32c.crc32c(joined))
    else:
        return None
    return f"{base64.b64encode(digest).decode()}-{len(parts)}"


class MultipartService(Service):
    def __init__(
        self, kernel: Kernel, buckets: BucketService, objects: ObjectService, data: ObjectData
    ) -> None:
        super().__init__(kernel)
        self._buckets, self._objects, self._data = buckets, objects, data

    async def create(
        self,
        p: Principal,
        bucket_name: str,
        key: str,
        attrs: ObjectAttrs,
        checksum_algorithm: str = "",
        customer: CustomerKey | None = None,
    ) -> MultipartUpload:
        validate_key(key)
        validate_metadata(attrs.metadata)
        validate_object_tags(attrs.tags)
        async with self._uow(batched=True) as uow:
            bucket = await self._buckets.find(uow, p, bucket_name, "s3:PutObject", key)
            upload = MultipartUpload(
                id=new_id(), tenant_id=bucket.tenant_id, bucket_id=bucket.id, key=key,
                initiated_at=self._clock.now(), created_by=p.id,
                content_type=attrs.content_type, headers=dict(attrs.headers),
                metadata=dict(attrs.metadata), checksum_algorithm=checksum_algorithm,
                sse_customer_key_md5=customer.md5 if customer else "", tags=dict(attrs.tags),
            )  # fmt: skip
            await uow.uploads.add(upload)
            await self._record(
                uow, p, "s3:PutObject", "multipart_upload", upload.id,
                {"bucket": bucket.name, "key": key},
            )  # fmt: skip
            await uow.commit()
        return upload

    async def _upload(
        self, uow: UnitOfWork, p: Principal, bucket_name: str, key: str, upload_id: str,
        action: str = "s3:PutObject",
    ) -> tuple[Bucket, MultipartUpload]:  # fmt: skip
        bucket = await self._buckets.find(uow, p, bucket_name, action, key)
        upload = await uow.uploads.get(upload_id) if _is_uuid(upload_id) else None
        if upload is None or upload.bucket_id != bucket.id or upload.key != key:
            raise no_such_upload(upload_id)
        return bucket, upload

    async def find_upload(
        self, p: Principal, upload_id: str, action: str = "s3:PutObject"
    ) -> tuple[Bucket, MultipartUpload]:
        """An upload by its id alone (the REST API names uploads so), authorized as the calls
        naming its bucket and key are; another tenant's upload is NoSuchUpload."""
        async with self._uow(read_only=True) as uow:
            upload = await uow.uploads.get(upload_id) if _is_uuid(upload_id) else None
            bucket = await uow.buckets.get(upload.bucket_id) if upload else None
        if upload is None or bucket is None or upload.tenant_id != p.tenant_id:
            raise no_such_upload(upload_id)
        self._buckets.check(p, action, bucket, upload.key)
        return bucket, upload

    async def upload_part(
        self,
        p: Principal,
        target: tuple[str, str, str, int],
        payload: Payload,
        customer: CustomerKey | None = None,
    ) -> Part:
        """UploadPart: (bucket, key, upload id, part number) <- the body."""
        bucket_name, key, upload_id, number = target
        validate_part_number(number)
        async with self._uow(read_only=True) as uow:
            bucket, upload = await self._upload(uow, p, bucket_name, key, upload_id)
        check_customer_key(upload.sse_customer_key_md5, customer)
        segment, digest = await self._data.write(
            bucket.tenant_id, payload.chunks(), payload.digest, customer, MAX_PART_BYTES,
            inline=False,  # a completed upload's version refers to its parts' blobs
        )  # fmt: skip
        return await self._keep(p, target, segment, digest)

    async def copy_part(
        self,
        p: Principal,
        target: tuple[str, str, str, int],
        source: tuple[str, str, str | None],
        byte_range: ByteRange | None = None,
        conditions: Conditions | None = None,
        keys: tuple[CustomerKey | None, CustomerKey | None] = (None, None),
    ) -> tuple[ObjectVersion, Part]:
        """UploadPartCopy: a part made of (a range of) an existing object."""
        bucket_name, key, upload_id, number = target
        validate_part_number(number)
        async with self._uow(read_only=True) as uow:
            bucket, upload = await self._upload(uow, p, bucket_name, key, upload_id)
        check_customer_key(upload.sse_customer_key_md5, keys[1])
        got = await self._objects.open(
            p, source[0], source[1], version_id=source[2], byte_range=byte_range,
            customer=keys[0],
        )  # fmt: skip
        if conditions is not None:
            conditions.check(got.version.etag, got.version.last_modified, copy=True)
        assert got.body is not None  # noqa: S101 - open() was asked for the body
        hashing = Hashing(got.body)
        segment, digest = await self._data.write(
            bucket.tenant_id, hashing.chunks(), hashing.digest, keys[1], MAX_PART_BYTES,
            inline=False,
        )  # fmt: skip
        return got.version, await self._keep(p, target, segment, digest)

    async def _keep(
        self,
        p: Principal,
        target: tuple[str, str, str, int],
        segment: Segment,
        digest: PayloadDigest,
    ) -> Part:
        """Record the part (replacing an earlier one of the same number), or drop its data."""
        bucket_name, key, upload_id, number = target
        part = Part(
            id=new_id(), tenant_id=p.tenant_id, upload_id=upload_id, number=number,
            size=segment.size, etag=f'"{digest.md5.hex()}"', last_modified=self._clock.now(),
            segment=segment, checksums=dict(digest.checksums),
        )  # fmt: skip
        try:
            async with self._uow(batched=True) as uow:
                _, upload = await self._upload(uow, p, bucket_name, key, upload_id)
                part = replace(part, tenant_id=upload.tenant_id)
                old = await uow.parts.find_one(upload_id=upload_id, number=number)
                if old is not None:
                    await uow.parts.delete(old.id)
                await uow.parts.add(part)
                await uow.commit()
        except BaseException:
            await self._data.discard([segment])
            raise
        await self._uow.sync()
        if old is not None:
            await self._data.discard([old.segment])
        return part

    async def list_parts(
        self, p: Principal, bucket_name: str, key: str, upload_id: str, after: int = 0,
        max_parts: int = MAX_LIST,
    ) -> PartListing:  # fmt: skip
        limit = max(0, min(max_parts, MAX_LIST))
        async with self._uow(read_only=True) as uow:
            _, upload = await self._upload(
                uow, p, bucket_name, key, upload_id, "s3:ListMultipartUploadParts"
            )
            parts = await uow.parts.of_upload(upload_id, after, limit + 1)
        more = len(parts) > limit
        parts = parts[:limit]
        return PartListing(upload, parts, more, parts[-1].number if parts and more else 0)

    async def list_uploads(
        self, p: Principal, bucket_name: str, prefix: str = "", delimiter: str = "",
        key_marker: str = "", upload_marker: str = "", max_uploads: int = MAX_LIST,
    ) -> UploadListing:  # fmt: skip
        """In-progress uploads by key then upload id, rolled up into common prefixes at the
        delimiter; a page of at most `max_uploads` entries (uploads and prefixes)."""
        page = _UploadPage(prefix, delimiter, max(0, min(max_uploads, MAX_LIST)))
        async with self._uow(read_only=True) as uow:
            bucket = await self._buckets.find(uow, p, bucket_name, "s3:ListBucketMultipartUploads")
            cursor: tuple[str, str] | None = page.start(key_marker, upload_marker)
            while cursor is not None and not page.done:
                batch = await uow.uploads.listing(bucket.id, prefix, *cursor, MAX_LIST)
                cursor = page.take(batch, MAX_LIST)
        return UploadListing(bucket, page.uploads, page.prefixes, page.more, *page.next_markers)

    async def complete(
        self,
        p: Principal,
        bucket_name: str,
        key: str,
        upload_id: str,
        requested: Sequence[tuple[int, str]],
    ) -> ObjectVersion:
        """The listed parts, in order, become the object; parts not listed are dropped."""
        if not requested:
            raise S3Invalid("MalformedXML", "You must specify at least one part")
        async with self._uow(read_only=True) as uow:
            bucket, upload = await self._upload(uow, p, bucket_name, key, upload_id)
            stored = {part.number: part for part in await uow.parts.find(upload_id=upload_id)}
        chosen = _choose(stored, requested)
        digest = PayloadDigest(b"", _checksums(upload, chosen))
        version = self._objects.new_version(
            p, bucket, key,
            ObjectAttrs(upload.content_type, upload.headers, upload.metadata, upload.tags),
            [part.segment for part in chosen], digest, None,
            etag=multipart_etag([bytes.fromhex(part.etag.strip('"')) for part in chosen]),
            parts_count=len(chosen),
        )  # fmt: skip
        if upload.sse_customer_key_md5:
            version = replace(version, sse_customer_key_md5=upload.sse_customer_key_md5)

        async def finish(uow: UnitOfWork, _bucket: Bucket) -> None:
            if await uow.uploads.get(upload_id) is None:
                raise no_such_upload(upload_id)
            now = {part.id for part in await uow.parts.find(upload_id=upload_id)}
            if any(part.id not in now for part in chosen):  # re-uploaded meanwhile
                raise S3Invalid("InvalidPart", "a part was uploaded again while the upload "
                                "was being completed: complete it with the new ETag")  # fmt: skip
            await uow.uploads.delete(upload_id)  # its parts go with it

        made = await self._objects.commit_version(p, bucket_name, version, "s3:PutObject", finish)
        kept = {part.number for part in chosen}
        await self._data.discard([s.segment for n, s in stored.items() if n not in kept])
        return made

    async def abort(self, p: Principal, bucket_name: str, key: str, upload_id: str) -> None:
        async with self._uow(batched=True) as uow:
            _, upload = await self._upload(
                uow, p, bucket_name, key, upload_id, "s3:AbortMultipartUpload"
            )
            parts = await uow.parts.find(upload_id=upload_id)
            await uow.uploads.delete(upload_id)
            await self._record(uow, p, "s3:AbortMultipartUpload", "multipart_upload", upload_id)
            await uow.commit()
        await self._data.discard([part.segment for part in parts])


def _choose(stored: dict[int, Part], requested: Sequence[tuple[int, str]]) -> list[Part]:
    numbers = [number for number, _ in requested]
    if any(b <= a for a, b in zip(numbers, numbers[1:], strict=False)):
        raise S3Invalid("InvalidPartOrder", "The list of parts was not in ascending order. "
                        "Parts must be ordered by part number.")  # fmt: skip
    chosen = []
    for index, (number, etag) in enumerate(requested):
        part = stored.get(number)
        if part is None or part.etag.strip('"') != etag.strip().strip('"'):
            raise S3Invalid(
                "InvalidPart",
                "One or more of the specified parts could not be found. The part may not have "
                "been uploaded, or the specified entity tag may not match the part's entity tag.",
                part_number=number,
            )
        if index < len(requested) - 1 and part.size < MIN_PART_BYTES:
            raise S3Invalid(
                "EntityTooSmall",
                f"Your proposed upload is smaller than the minimum allowed object size: part "
                f"{number} is {part.size} bytes; every part but the last must be at least 5 MiB",
            )
        chosen.append(part)
    return chosen


def _checksums(upload: MultipartUpload, parts: Sequence[Part]) -> dict[str, str]:
    algorithm = upload.checksum_algorithm
    value = composite_checksum(algorithm, parts) if algorithm else None
    return {algorithm: value} if algorithm and value else {}


class _UploadPage:
    """Fills one page of ListMultipartUploads from batches of uploads in (key, id) order."""

    def __init__(self, prefix: str, delimiter: str, limit: int) -> None:
        self.prefix, self.delimiter, self.limit = prefix, delimiter, limit
        self.uploads: list[MultipartUpload] = []
        self.prefixes: list[str] = []
        self.more, self.done = False, limit == 0
        self._last: tuple[str, str] = ("", "")

    def _rolled(self, key: str) -> str | None:
        at = key.find(self.delimiter, len(self.prefix)) if self.delimiter else -1
        return key[: at + len(self.delimiter)] if at >= 0 else None

    def start(self, key_marker: str, upload_marker: str) -> tuple[str, str]:
        rolled = self._rolled(key_marker) if key_marker.startswith(self.prefix) else None
        if rolled is not None:
            return rolled + "\U0010ffff", ""
        return key_marker, upload_marker or ("~" if key_marker else "")  # "~" > any id

    def take(self, batch: Sequence[MultipartUpload], size: int) -> tuple[str, str] | None:
        """Take from a batch; the cursor to fetch the next batch from (None: no more)."""
        for upload in batch:
            if len(self.uploads) + len(self.prefixes) >= self.limit:
                self.more = self.done = True
                return None
            rolled = self._rolled(upload.key)
            if rolled is not None:
                self.prefixes.append(rolled)
                self._last = (rolled, "")
                return rolled + "\U0010ffff", ""
            self.uploads.append(upload)
            self._last = (upload.key, upload.id)
        return (batch[-1].key, batch[-1].id) if len(batch) == size else None

    @property
    def next_markers(self) -> tuple[str, str]:
        return self._last if self.more else ("", "")


def _is_uuid(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4
