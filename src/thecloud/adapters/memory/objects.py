"""In-memory ObjectStore (unit tests): blobs are plaintext in dicts, with the real contract.

A blob is staged while written and visible only once committed; abort drops it; reads take
ranges in pieces of at most 1 MiB and fail, as the real store does, for a wrong data key, a
size the metadata got wrong, or a blob a test has `corrupt()`ed; sweeps follow the clock.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from thecloud.domain.errors import CloudError, InvalidInput, not_found
from thecloud.ports.clock import Clock
from thecloud.ports.objects import StoredBlob

PIECE = 1024 * 1024


@dataclass(slots=True)
class MemoryBlob:
    key: bytes
    modified_at: datetime
    data: bytearray = field(default_factory=bytearray)


class MemoryObjectStore:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock
        self.blobs: dict[str, MemoryBlob] = {}
        self.staging: dict[str, MemoryBlob] = {}
        self.corrupted: set[str] = set()
        self.reads = 0  # read() calls that got as far as the data (tests count them)

    def now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)

    def writer(self, data_key: bytes) -> MemoryBlobWriter:
        if len(data_key) != 32:
            raise InvalidInput("an object data key must be 32 bytes (AES-256)")
        return MemoryBlobWriter(self, uuid.uuid4().hex, data_key)

    def corrupt(self, blob_id: str) -> None:
        """From now on, reading the blob fails authentication (a test's bit rot)."""
        self.corrupted.add(blob_id)

    async def read(
        self, blob_id: str, data_key: bytes, size: int, start: int = 0, stop: int | None = None
    ) -> AsyncIterator[bytes]:
        stop = size if stop is None else stop
        if not 0 <= start <= stop <= size:
            raise InvalidInput(f"range [{start}, {stop}) is not within the blob's {size} bytes")
        data = self._readable(blob_id, data_key, size)
        self.reads += 1
        for offset in range(start, stop, PIECE):
            yield bytes(data[offset : min(offset + PIECE, stop)])

    def _readable(self, blob_id: str, data_key: bytes, size: int) -> bytearray:
        blob = self.blobs.get(blob_id)
        if blob is None:
            raise not_found("blob", blob_id)
        if len(blob.data) != size:
            raise CloudError(
                f"stored object data is damaged: blob {blob_id} has {len(blob.data)} bytes "
                f"where {size} belong"
            )
        if blob.key != data_key or blob_id in self.corrupted:
            raise CloudError(
                f"stored object data failed authentication: blob {blob_id} "
                "(wrong data key, or the file was altered)"
            )
        return blob.data

    async def delete(self, blob_ids: Sequence[str]) -> None:
        for blob_id in blob_ids:
            self.blobs.pop(blob_id, None)

    async def stored(self) -> list[StoredBlob]:
        return [StoredBlob(i, b.modified_at) for i, b in self.blobs.items()]

    async def sweep_staging(self, older_than: datetime) -> int:
        stale = [i for i, b in self.staging.items() if b.modified_at < older_than]
        for blob_id in stale:
            del self.staging[blob_id]
        return len(stale)


class MemoryBlobWriter:
    def __init__(self, store: MemoryObjectStore, blob_id: str, data_key: bytes) -> None:
        self._store, self._id = store, blob_id
        self._blob = MemoryBlob(data_key, store.now())
        self._state = "open"
        store.staging[blob_id] = self._blob

    @property
    def blob_id(self) -> str:
        return self._id

    @property
    def size(self) -> int:
        return len(self._blob.data)

    async def write(self, data: bytes) -> None:
        self._usable()
        self._blob.data += data
        self._blob.modified_at = self._store.now()

    async def commit(self) -> None:
        self._usable()
        if self._store.staging.pop(self._id, None) is None:
            self._state = "failed"
            raise CloudError(f"blob {self._id} was swept from staging before its commit")
        self._blob.modified_at = self._store.now()
        self._store.blobs[self._id] = self._blob
        self._state = "committed"

    async def abort(self) -> None:
        if self._state in ("open", "failed"):
            self._store.staging.pop(self._id, None)
            self._state = "aborted"

    def _usable(self) -> None:
        if self._state != "open":
            raise CloudError(f"blob writer {self._id} is {self._state}; it takes no more data")
