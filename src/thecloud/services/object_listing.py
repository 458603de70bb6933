"""Listing a bucket as S3 does: keys in UTF-8 byte order under a prefix, rolled up into
common prefixes at a delimiter, a page of at most max-keys entries; and its versions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from thecloud.domain.identity import Principal
from thecloud.domain.objects import MAX_LIST_KEYS, Bucket, ObjectVersion, S3Invalid
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service
from thecloud.services.buckets import BucketService

BATCH = 1000
PAST = "\U0010ffff"  # sorts after every character: skips the rest of a common prefix


@dataclass(frozen=True, slots=True)
class Listing:
    bucket: Bucket
    entries: list[ObjectVersion] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    truncated: bool = False
    next_marker: str = ""  # the last key or common prefix returned (when truncated)
    next_version: str = ""  # versions listing: the version id to continue after


def check_max_keys(max_keys: int) -> int:
    if max_keys < 0:
        raise S3Invalid("InvalidArgument", "max-keys must be a non-negative integer")
    return min(max_keys, MAX_LIST_KEYS)


def _rolled(key: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix `key` rolls up into, if the delimiter occurs past the prefix."""
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return key[: at + len(delimiter)] if at >= 0 else None


def _past_rolled(marker: str, prefix: str, delimiter: str) -> str:
    """Where a page starts: after the marker, or after the whole common prefix the marker
    rolls up into (the previous page ended on that prefix)."""
    rolled = _rolled(marker, prefix, delimiter) if marker.startswith(prefix) else None
    return rolled + PAST if rolled is not None else marker


class _Walk:
    """Collects entries and common prefixes until the page is full."""

    def __init__(self, prefix: str, delimiter: str, max_keys: int) -> None:
        self.prefix, self.delimiter, self.max_keys = prefix, delimiter, max_keys
        self.entries: list[ObjectVersion] = []
        self.prefixes: list[str] = []
        self.last = ""

    @property
    def full(self) -> bool:
        return len(self.entries) + len(self.prefixes) >= self.max_keys

    def take(self, entry: ObjectVersion) -> str | None:
        """Add an entry (or its common prefix); returns a cursor to jump to, if any."""
        rolled = _rolled(entry.key, self.prefix, self.delimiter)
        if rolled is None:
            self.entries.append(entry)
            self.last = entry.key
            return None
        self.prefixes.append(rolled)
        self.last = rolled
        return rolled + PAST


Fetch = Callable[[str, int | None, int], Awaitable[Sequence[ObjectVersion]]]


async def _walk(fetch: Fetch, walk: _Walk, key: str, seq: int | None = None) -> bool:
    """Fill the page from `fetch(key, seq, limit)` (entries after that cursor); whether more
    entries follow the page."""
    while True:
        batch = await fetch(key, seq, BATCH)
        for entry in batch:
            if walk.full:
                return True
            jump = walk.take(entry)
            if jump is not None:
                key, seq = jump, None
                break
            key, seq = entry.key, entry.seq
        else:
            if len(batch) < BATCH:
                return False


class ObjectListing(Service):
    def __init__(self, kernel: Kernel, buckets: BucketService) -> None:
        super().__init__(kernel)
        self._buckets = buckets

    async def objects(
        self,
        p: Principal | None,
        bucket_name: str,
        prefix: str = "",
        delimiter: str = "",
        after: str = "",
        max_keys: int = MAX_LIST_KEYS,
    ) -> Listing:
        """Current objects (no delete markers) with keys above `after`."""
        walk = _Walk(prefix, delimiter, check_max_keys(max_keys))
        async with self._uow(read_only=True) as uow:
            bucket = await self._buckets.find(uow, p, bucket_name, "s3:ListBucket")
            if walk.max_keys == 0:
                return Listing(bucket)

            async def fetch(key: str, _seq: int | None, limit: int) -> Sequence[ObjectVersion]:
                return await uow.object_versions.listing(bucket.id, prefix, key, limit)

            more = await _walk(fetch, walk, _past_rolled(after, prefix, delimiter))
        return Listing(bucket, walk.entries, walk.prefixes, more, walk.last if more else "")

    async def versions(
        self,
        p: Principal,
        bucket_name: str,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        version_marker: str = "",
        max_keys: int = MAX_LIST_KEYS,
    ) -> Listing:
        """Every version and delete marker, by key then newest first."""
        walk = _Walk(prefix, delimiter, check_max_keys(max_keys))
        async with self._uow(read_only=True) as uow:
            bucket = await self._buckets.find(uow, p, bucket_name, "s3:ListBucketVersions")
            if walk.max_keys == 0:
                return Listing(bucket)
            after_seq = await self._seq(uow, bucket, key_marker, version_marker)

            async def fetch(key: str, seq: int | None, limit: int) -> Sequence[ObjectVersion]:
                return await uow.object_versions.versions(bucket.id, prefix, key, seq, limit)

            start = _past_rolled(key_marker, prefix, delimiter)
            more = await _walk(fetch, walk, start, after_seq if start == key_marker else None)
        last = walk.entries[-1] if walk.entries and walk.last == walk.entries[-1].key else None
        return Listing(
            bucket, walk.entries, walk.prefixes, more,
            walk.last if more else "", last.version_id if more and last else "",
        )  # fmt: skip

    @staticmethod
    async def _seq(uow: UnitOfWork, bucket: Bucket, key: str, version_id: str) -> int | None:
        if not version_id:
            return None
        found = await uow.object_versions.find_one(
            bucket_id=bucket.id, key=key, version_id=version_id
        )
        if found is None:
            raise S3Invalid("InvalidArgument", f"version-id-marker {version_id} is not a "
                            f"version of key-marker {key!r}")  # fmt: skip
        seq: int = found.seq
        return seq
