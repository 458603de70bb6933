"""The data path of object storage: bodies into encrypted blobs (one fresh data key each,
sealed by the tenant's key or an SSE-C customer key) and ranges of segments back out."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable, Sequence

from thecloud.domain.objects import CustomerKey, Segment, too_large
from thecloud.ports.crypto import DataKeys
from thecloud.ports.objects import ObjectStore, PayloadDigest


class ObjectData:
    def __init__(self, store: ObjectStore, keys: DataKeys) -> None:
        self._store, self._keys = store, keys

    async def write(
        self,
        tenant_id: str,
        chunks: AsyncIterator[bytes],
        verify: Callable[[], PayloadDigest],
        customer: CustomerKey | None,
        limit: int,
    ) -> tuple[Segment, PayloadDigest]:
        """Stream `chunks` into a new blob; it is committed only once `verify()` accepts
        what was read (checksums, signatures). Nothing is left behind on failure."""
        data_key = self._keys.new()
        writer = self._store.writer(data_key)
        try:
            async for chunk in chunks:
                if writer.size + len(chunk) > limit:
                    raise too_large("the object or part", limit)
                await writer.write(chunk)
            digest = verify()
            await writer.commit()
        except BaseException:
            await writer.abort()
            raise
        sealed = self._keys.seal(tenant_id, data_key, writer.blob_id.encode(), _key(customer))
        return Segment(writer.blob_id, writer.size, sealed), digest

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
                pieces = self._store.read(
                    segment.blob_id, key, segment.size, low - offset, high - offset
                )
                async for piece in pieces:
                    yield piece
            offset += segment.size

    async def discard(self, segments: Sequence[Segment]) -> None:
        if segments:
            await self._store.delete([s.blob_id for s in segments])


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


def _key(customer: CustomerKey | None) -> bytes | None:
    return customer.key if customer is not None else None
