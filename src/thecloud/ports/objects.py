"""Where object data lives: blobs of encrypted bytes behind the ObjectStore port.

A blob is written once, through a BlobWriter, and is invisible until `commit()` has made it
durable; it is never changed afterwards, only deleted. Which blobs make up which object is
metadata (the SQL store); the store knows nothing of buckets or keys. Every blob is
encrypted at rest with its own data key, which the caller supplies (sealed elsewhere).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredBlob:
    blob_id: str
    modified_at: datetime


class BlobWriter(Protocol):
    @property
    def blob_id(self) -> str: ...

    @property
    def size(self) -> int:
        """Plaintext bytes written so far."""
        ...

    async def write(self, data: bytes) -> None:
        """Append plaintext; it is encrypted before it reaches the disk."""
        ...

    async def commit(self) -> None:
        """Make the blob durable (fsynced unless the store was told not to) and readable."""
        ...

    async def abort(self) -> None:
        """Throw the partial blob away; safe to call after a failed write or twice."""
        ...


class ObjectStore(Protocol):
    def writer(self, data_key: bytes) -> BlobWriter:
        """A new blob, encrypted with `data_key` (32 bytes)."""
        ...

    def read(
        self, blob_id: str, data_key: bytes, size: int, start: int = 0, stop: int | None = None
    ) -> AsyncIterator[bytes]:
        """The plaintext bytes [start, stop) of a committed blob of `size` plaintext bytes,
        in pieces of at most about 1 MiB; raises if the data fails authentication."""
        ...

    async def delete(self, blob_ids: Sequence[str]) -> None:
        """Remove committed blobs; ids that do not exist are ignored."""
        ...

    async def stored(self) -> list[StoredBlob]:
        """Every committed blob (the reconciler removes those no metadata refers to)."""
        ...

    async def sweep_staging(self, older_than: datetime) -> int:
        """Remove uncommitted blobs last written before `older_than` (left by a crash);
        how many went."""
        ...


@dataclass(frozen=True, slots=True)
class PayloadDigest:
    """What was computed over a request body once it was all read."""

    md5: bytes
    checksums: dict[str, str]  # algorithm ("CRC32", "SHA256", ...) -> base64, as sent back


class Payload(Protocol):
    """A request body as the S3 endpoint decoded it (aws-chunked, signatures, checksums)."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The plaintext bytes, in the pieces they arrive in."""
        ...

    def digest(self) -> PayloadDigest:
        """After the body was read: its MD5 and checksums, once every checksum and signature
        the client sent has been verified (raises BadDigest and the like otherwise)."""
        ...
