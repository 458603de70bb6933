"""The object storage worker: removes blobs no metadata refers to (left by a crash between a
blob's commit and its row's) and applies buckets' lifecycle rules (expire current objects
after N days, non-current versions N days after they were replaced, abort old uploads)."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from thecloud.domain.errors import CloudError
from thecloud.domain.objects import Bucket, ObjectVersion, rule_matches
from thecloud.ports.objects import ObjectStore
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service
from thecloud.services.object_data import ObjectData
from thecloud.services.objects import ObjectService
from thecloud.services.recording import SYSTEM, system_event

log = logging.getLogger(__name__)
BATCH = 500


class ObjectReaper(Service):
    def __init__(
        self,
        kernel: Kernel,
        store: ObjectStore,
        data: ObjectData,
        objects: ObjectService,
        grace: timedelta,
        sweep_every: float = 60.0,
        lifecycle_every: float = 3600.0,
    ) -> None:
        super().__init__(kernel)
        self._store, self._data, self._objects, self._grace = store, data, objects, grace
        self._every = {"sweep": sweep_every, "lifecycle": lifecycle_every}
        self._last: dict[str, float] = {}

    def _due(self, what: str) -> bool:
        now = time.monotonic()
        if now - self._last.get(what, float("-inf")) < self._every[what]:
            return False
        self._last[what] = now
        return True

    async def reconcile(self) -> int:
        """Called with every heal; does its work when each part is due."""
        done = 0
        if self._due("sweep"):
            done += await self.sweep()
        if self._due("lifecycle"):
            done += await self.apply_lifecycle()
        return done

    async def sweep(self) -> int:
        """Remove staging files and committed blobs older than the grace period that no
        object version or part refers to; how many blobs went."""
        cutoff = self._clock.now() - self._grace
        staged = await self._store.sweep_staging(cutoff)
        old = [b.blob_id for b in await self._store.stored() if b.modified_at < cutoff]
        if not old:
            return staged
        async with self._uow(read_only=True) as uow:
            kept = await uow.object_versions.blob_ids() | await uow.parts.blob_ids()
        orphans = [blob for blob in old if blob not in kept]
        if orphans:
            log.info("removing %d object blobs no metadata refers to", len(orphans))
            await self._store.delete(orphans)
        return staged + len(orphans)

    async def apply_lifecycle(self) -> int:
        """Apply every enabled rule of every bucket; how many versions and uploads went."""
        async with self._uow(read_only=True) as uow:
            buckets = [b for b in await uow.buckets.find() if b.lifecycle]
        done = 0
        for bucket in buckets:
            for rule in bucket.lifecycle:
                if rule.get("status") != "Enabled":
                    continue
                try:
                    done += await self._apply(bucket, rule)
                except (CloudError, OverflowError) as exc:  # one bad rule stops no other
                    log.warning("lifecycle rule %s of bucket %s: %s", rule.get("id"),
                                bucket.name, exc)  # fmt: skip
        return done

    async def _apply(self, bucket: Bucket, rule: Mapping[str, object]) -> int:
        """One rule: its filter (prefix, tags) selects the objects and versions it expires;
        uploads, which have no tags yet, by prefix (a rule with tags aborts none)."""
        now, prefix = self._clock.now(), str(rule.get("prefix") or "")
        done = 0
        if isinstance(days := rule.get("expiration_days"), int):
            done += await self._expire_current(bucket, rule, now - timedelta(days=days))
        if isinstance(days := rule.get("noncurrent_days"), int):
            done += await self._expire_noncurrent(bucket, rule, now - timedelta(days=days))
        if isinstance(days := rule.get("abort_days"), int) and not rule.get("tags"):
            done += await self._abort_uploads(bucket, prefix, now - timedelta(days=days))
        return done

    async def _expire_current(
        self, bucket: Bucket, rule: Mapping[str, object], before: datetime
    ) -> int:
        async with self._uow(read_only=True) as uow:
            candidates = [
                v
                for v in await uow.object_versions.older_than(bucket.id, before, 100_000)
                if v.is_latest and not v.delete_marker and rule_matches(rule, v.key, v.tags)
            ]
        done = 0
        for version in candidates:
            done += await self._expire(bucket, version, rule)
        return done

    async def _expire(
        self, bucket: Bucket, version: ObjectVersion, rule: Mapping[str, object]
    ) -> int:
        """As a DELETE without a version id would: remove, or hide behind a delete marker;
        only if the version is still current and still matches (its tags may have moved)."""
        async with self._uow() as uow:
            current = await uow.object_versions.latest(bucket.id, version.key)
            fresh = await uow.buckets.get(bucket.id)
            if current is None or current.id != version.id or fresh is None:
                return 0
            if not rule_matches(rule, current.key, current.tags):
                return 0
            _, gone = await self._objects.remove_current(uow, fresh, version.key, SYSTEM)
            await self._event(uow, bucket, "object.expired", version)
            await uow.commit()
        await self._data.discard(gone)
        return 1

    async def _expire_noncurrent(
        self, bucket: Bucket, rule: Mapping[str, object], before: datetime
    ) -> int:
        """Versions replaced (by a newer version or marker) before `before`."""
        prefix = str(rule.get("prefix") or "")
        async with self._uow(read_only=True) as uow:
            expired, after_key, after_seq = [], "", None
            newer: ObjectVersion | None = None  # the last version of the previous batch
            while True:
                batch = await uow.object_versions.versions(
                    bucket.id, prefix, after_key, after_seq, BATCH
                )
                expired += _replaced_before(([newer] if newer else []) + batch, before)
                if len(batch) < BATCH:
                    break
                newer = batch[-1]
                after_key, after_seq = newer.key, newer.seq
        done = 0
        for version in expired:
            if rule_matches(rule, version.key, version.tags):
                done += await self._drop(bucket, version, rule)
        return done

    async def _drop(
        self, bucket: Bucket, version: ObjectVersion, rule: Mapping[str, object]
    ) -> int:
        async with self._uow() as uow:
            if rule.get("tags"):  # its tags, as they are now
                now = await uow.object_versions.get(version.id)
                if now is None or not rule_matches(rule, now.key, now.tags):
                    return 0
            if not await uow.object_versions.delete(version.id):
                return 0
            await self._event(uow, bucket, "object.version_expired", version)
            await uow.commit()
        await self._data.discard(version.segments)
        return 1

    async def _abort_uploads(self, bucket: Bucket, prefix: str, before: datetime) -> int:
        async with self._uow() as uow:
            uploads = [
                u
                for u in await uow.uploads.find(bucket_id=bucket.id)
                if u.initiated_at < before and u.key.startswith(prefix)
            ]
            parts = [p for u in uploads for p in await uow.parts.find(upload_id=u.id)]
            for upload in uploads:
                await uow.uploads.delete(upload.id)
            await uow.commit()
        await self._data.discard([p.segment for p in parts])
        return len(uploads)

    async def _event(
        self, uow: UnitOfWork, bucket: Bucket, kind: str, version: ObjectVersion
    ) -> None:
        data = {"bucket": bucket.name, "key": version.key, "version_id": version.version_id}
        await uow.emit(
            system_event(bucket.tenant_id, kind, "object", version.id, self._clock.now(), data)
        )


def _replaced_before(versions: list[ObjectVersion], before: datetime) -> list[ObjectVersion]:
    """Non-current versions whose successor (the next newer version of the same key, in a
    list ordered by key then newest first) was made before `before`."""
    found, newer = [], None
    for version in versions:
        if newer is not None and newer.key == version.key and not version.is_latest:
            if newer.last_modified < before:
                found.append(version)
        newer = version
    return found
