"""The data path of object storage: bodies into encrypted blobs, or for small ones into the
metadata row (one fresh data key each, sealed by the tenant's key or an SSE-C customer
key), and ranges of segments back out."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable, Sequence

from thecloud.domain.errors import CloudError
from thecloud.domain.objects import CustomerKey, Segment, too_large
from thecloud.ports.crypto import DataKeys
from thecloud.ports.objects import BlobWriter, ObjectStore, PayloadDigest


class ObjectData:
    """`inline_max`: bodies of at most this many bytes are kept (encrypted) in the object's
    metadata row rather than in a blob: no file, no fsyncs of their own, no thread trips,
    and the row's transaction makes them durable (as MinIO keeps small objects in its
    metadata). 0 keeps every body in a blob."""

    def __init__(self, store: ObjectStore, keys: DataKeys, inline_max: int = 0) -> None:
        self._store, self._keys, self._inline_max = store, keys, inline_max

    async def peek(self, chunks: AsyncIterator[bytes]) -> tuple[bytes | None, AsyncIterator[bytes]]:
        """Reads a body that may be kept inline: `(body, ...)` when it ended within
        `inline_max` bytes (all of it read), otherwise `(None, chunks)`, the whole body again
        (what was read, then the rest), for write()."""
        if self._inline_max <= 0:
            return None, chunks
        held: list[bytes] = []
        size = 0
        async for chunk in chunks:
            held.append(chunk)
            size += len(chunk)
            if size > self._inline_max:
                return None, _chained(held, chunks)
        return b"".join(held), chunks

    async def write(
        self,
        tenant_id: str,
        chunks: AsyncIterator[bytes],
        verify: Callable[[], PayloadDigest],
        customer: CustomerKey | None,
        limit: int,
        *,
        inline: bool = True,
    ) -> tuple[Segment, PayloadDigest]:
        """Stream `chunks` into a new blob, or keep them for the metadata row when they end
        within `inline_max` bytes (and `inline` allows it: not for multipart parts). A blob
        is committed only once `verify()` accepts what was read (checksums, signatures).
        Nothing is left behind on failure."""
        data_key = self._keys.new()
        held: list[bytes] = []  # the body so far, while it may still be kept inline
        size, room = 0, self._inline_max if inline else 0
        writer: BlobWriter | None = self._store.writer(data_key) if room <= 0 else None
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise too_large("the object or part", limit)
                if writer is None and size <= room:
                    held.append(chunk)
                    continue
                if writer is None:
                    writer = self._store.writer(data_key)
                    for piece in held:
                        await writer.write(piece)
                    held.clear()
                await writer.write(chunk)
            digest = verify()
            if writer is not None:
                await writer.commit()
        except BaseException:
            if writer is not None:
                await writer.abort()
            raise
        if writer is None:
            return self.inline(tenant_id, b"".join(held), customer, data_key), digest
        sealed = self._keys.seal(tenant_id, data_key, writer.blob_id.encode(), _key(customer))
        return Segment(writer.blob_id, writer.size, sealed), digest

    def inline(
        self,
        tenant_id: str,
        body: bytes,
        customer: CustomerKey | None,
        data_key: bytes | None = None,
    ) -> Segment:
        """A segment that keeps `body` (encrypted with a fresh data key) in its row."""
        data_key = data_key if data_key is not None else self._keys.new()
        blob_id = uuid.uuid4().hex
        aad = blob_id.encode()
        sealed = self._keys.seal(tenant_id, data_key, aad, _key(customer))
        data = self._keys.encrypt(data_key, body, aad)
        return Segment(blob_id, len(body), sealed, inline=True, data=data)

    def unseal(self, tenant_id: str, segment: Segment, customer: CustomerKey | None) -> bytes:
        return self._keys.open(
            tenant_id, segment.sealed_key, segment.blob_id.encode(), _key(customer)
        )

    async def read(
        self,
        tenant_id: str,
        segments: Sequence[Segment],
        start: int,
        stop: int,
        customer: CustomerKey | None,
    ) -> AsyncIterator[bytes]:
        """The plaintext bytes [start, stop) of the object the segments make up."""
        offset = 0
        for segment in segments:
            low, high = max(start, offset), min(stop, offset + segment.size)
            if low < high:
                key = self.unseal(tenant_id, segment, customer)
                if segment.inline:
                    yield self._opened(segment, key)[low - offset : high - offset]
                else:
                    pieces = self._store.read(
                        segment.blob_id, key, segment.size, low - offset, high - offset
                    )
                    async for piece in pieces:
                        yield piece
            offset += segment.size

    def _opened(self, segment: Segment, key: bytes) -> bytes:
        if segment.data is None:
            raise CloudError(f"the inline data of {segment.blob_id} was not loaded")
        plain = self._keys.decrypt(key, segment.data, segment.blob_id.encode())
        if len(plain) != segment.size:
            raise CloudError(f"stored object data is damaged: {segment.blob_id} has "
                             f"{len(plain)} bytes where {segment.size} belong")  # fmt: skip
        return plain

    async def discard(self, segments: Sequence[Segment]) -> None:
        """Remove the blobs of segments no version needs (inline data went with its row)."""
        blob_ids = [s.blob_id for s in segments if not s.inline]
        if blob_ids:
            await self._store.delete(blob_ids)


class Hashing:
    """Computes the MD5 of bytes passed through (a copy's body, read from the store)."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self._source, self._md5 = source, hashlib.md5()  # noqa: S324 - S3's ETag

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            self._md5.update(chunk)
            yield chunk

    def digest(self) -> PayloadDigest:
        return PayloadDigest(md5=self._md5.digest(), checksums={})


async def _chained(head: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    async for chunk in rest:
        yield chunk


def _key(customer: CustomerKey | None) -> bytes | None:
    return customer.key if customer is not None else None
