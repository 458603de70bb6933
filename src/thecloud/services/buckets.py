"""Buckets: create, delete (only when empty), list, and their settings (versioning, tags,
CORS, public read, default encryption, lifecycle rules). Also the one way every object call
finds its bucket: by name, visible to its own tenant only (or anyone, read-only, if public)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from thecloud.domain.common import new_id
from thecloud.domain.errors import Forbidden, not_found
from thecloud.domain.iam import ResourceRef
from thecloud.domain.identity import Principal
from thecloud.domain.objects import (
    DEFAULT_REGION,
    Bucket,
    Part,
    S3Conflict,
    S3Forbidden,
    S3Invalid,
    Versioning,
    no_such_bucket,
    validate_bucket_name,
    validate_region,
    validate_rule_tags,
    validate_tags,
)
from thecloud.ports.uow import UnitOfWork
from thecloud.services.authz import authorize
from thecloud.services.base import Kernel, Service
from thecloud.services.object_data import ObjectData

# What anyone may do on a public-read bucket, signed in or not.
PUBLIC_ACTIONS = frozenset({"s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"})
MAX_LIFECYCLE_RULES = 1000
Rule = Mapping[str, object]
SETTINGS = frozenset({"versioning", "tags", "cors", "public_read", "encryption", "lifecycle"})


class BucketService(Service):
    def __init__(self, kernel: Kernel, data: ObjectData) -> None:
        super().__init__(kernel)
        self._data = data

    def check(self, p: Principal | None, action: str, bucket: Bucket, key: str = "") -> None:
        """Authorize `action` on the bucket (or on one of its keys); another tenant's bucket
        is answered NoSuchBucket, unless it is public and the action only reads."""
        public = bucket.public_read and action in PUBLIC_ACTIONS
        if p is None or p.tenant_id != bucket.tenant_id:
            if public:
                return
            if p is None:
                raise S3Forbidden("AccessDenied", "Access Denied: sign the request")
            raise no_such_bucket(bucket.name)
        kind, ident = ("object", f"{bucket.name}/{key}") if key else ("bucket", bucket.name)
        try:
            self._s3_allow(p, action, ResourceRef(kind, ident))
        except S3Forbidden:
            if not public:
                raise

    def _s3_allow(self, p: Principal, action: str, resource: ResourceRef) -> None:
        """authorize(), answering a refusal as S3 does (AccessDenied)."""
        try:
            authorize(p, action, resource, self._clock.now())
        except Forbidden as exc:
            raise S3Forbidden("AccessDenied", f"Access Denied: {exc.message}") from exc

    async def find(
        self, uow: UnitOfWork, p: Principal | None, name: str, action: str, key: str = ""
    ) -> Bucket:
        bucket = await uow.buckets.find_one(name=name)
        if bucket is None:
            raise no_such_bucket(name)
        self.check(p, action, bucket, key)
        return bucket

    async def lookup(self, name: str) -> Bucket:
        """A bucket by name without authorization: only for CORS, which browsers check
        before they send credentials."""
        async with self._uow(read_only=True) as uow:
            bucket = await uow.buckets.find_one(name=name)
        if bucket is None:
            raise no_such_bucket(name)
        return bucket

    async def get(
        self, p: Principal | None, name: str, action: str = "s3:ListBucket", key: str = ""
    ) -> Bucket:
        """The bucket, once `action` is allowed on it (or on its `key`)."""
        async with self._uow(read_only=True) as uow:
            return await self.find(uow, p, name, action, key)

    async def create(
        self, p: Principal, name: str, region: str = "", public_read: bool = False
    ) -> Bucket:
        validate_bucket_name(name)
        validate_region(region)
        self._s3_allow(p, "s3:CreateBucket", ResourceRef("bucket", name))
        now = self._clock.now()
        bucket = Bucket(
            id=new_id(), tenant_id=p.tenant_id, name=name, region=region or DEFAULT_REGION,
            versioning=Versioning.OFF, public_read=public_read, created_by=p.id,
            created_at=now, updated_at=now,
        )  # fmt: skip
        async with self._uow() as uow:
            taken = await uow.buckets.find_one(name=name)
            if taken is not None:
                raise _taken(taken, p)
            await uow.buckets.add(bucket)
            await self._record(uow, p, "s3:CreateBucket", "bucket", bucket.id, {"name": name})
            await uow.commit()
        return bucket

    async def list(self, p: Principal) -> list[Bucket]:
        self._s3_allow(p, "s3:ListAllMyBuckets", ResourceRef("bucket"))
        async with self._uow(read_only=True) as uow:
            found = await uow.buckets.find(tenant_id=p.tenant_id)
        return sorted(found, key=lambda b: b.name)

    async def delete(self, p: Principal, name: str) -> None:
        """Refused while any object, version or delete marker is left; in-progress multipart
        uploads go with the bucket (their data too)."""
        async with self._uow() as uow:
            bucket = await self.find(uow, p, name, "s3:DeleteBucket")
            if await uow.object_versions.find_one(bucket_id=bucket.id) is not None:
                raise S3Conflict("BucketNotEmpty", "The bucket you tried to delete is not empty")
            parts = await _uploads_parts(uow, bucket)
            await uow.buckets.delete(bucket.id)
            await self._record(uow, p, "s3:DeleteBucket", "bucket", bucket.id, {"name": name})
            await uow.commit()
        await self._data.discard([part.segment for part in parts])

    async def configure(
        self, p: Principal, name: str, action: str, changes: Mapping[str, object]
    ) -> Bucket:
        """Change settings of a bucket (fields of Bucket named in SETTINGS)."""
        unknown = set(changes) - SETTINGS
        if unknown:
            raise ValueError(f"not bucket settings: {sorted(unknown)}")
        if "tags" in changes:
            validate_tags(changes["tags"])  # type: ignore[arg-type]
        for rule in changes.get("lifecycle") or ():  # type: ignore[attr-defined]
            validate_rule_tags(rule)
        return await self._edit(p, name, action, lambda _: changes)

    async def add_lifecycle_rule(self, p: Principal, name: str, rule: Rule) -> Bucket:
        """Add one rule (a dict as the S3 parser makes it); an id is unique in the bucket, and
        a rule without one is named rule-<n>."""
        validate_rule_tags(rule)
        return await self._edit(
            p, name, "s3:PutLifecycleConfiguration",
            lambda b: {"lifecycle": with_rule(b.lifecycle, rule)},
        )  # fmt: skip

    async def remove_lifecycle_rule(self, p: Principal, name: str, rule_id: str) -> Bucket:
        return await self._edit(
            p, name, "s3:PutLifecycleConfiguration",
            lambda b: {"lifecycle": without_rule(b.lifecycle, rule_id)},
        )  # fmt: skip

    async def _edit(
        self, p: Principal, name: str, action: str, edit: Callable[[Bucket], Mapping[str, object]]
    ) -> Bucket:
        """Change settings computed from the bucket as it is, in one transaction."""
        async with self._uow() as uow:
            bucket = await self.find(uow, p, name, action)
            changes = edit(bucket)
            bucket = _changed(bucket, changes, self._clock.now())
            await uow.buckets.update(bucket)
            await self._record(
                uow, p, action, "bucket", bucket.id, {"name": name, "changed": sorted(changes)}
            )
            await uow.commit()
        return bucket


async def _uploads_parts(uow: UnitOfWork, bucket: Bucket) -> list[Part]:
    uploads = await uow.uploads.find(bucket_id=bucket.id)
    return [part for u in uploads for part in await uow.parts.find(upload_id=u.id)]


def _changed(bucket: Bucket, changes: Mapping[str, Any], now: Any) -> Bucket:
    versioning = changes.get("versioning")
    if versioning is not None:
        changes = {**changes, "versioning": Versioning(versioning)}
    for name in ("cors", "lifecycle"):
        if name in changes:
            changes = {**changes, name: tuple(changes[name])}
    return replace(bucket, **changes, updated_at=now, version=bucket.version + 1)


def with_rule(rules: Sequence[Rule], rule: Rule) -> list[Rule]:
    if len(rules) >= MAX_LIFECYCLE_RULES:
        raise S3Invalid("InvalidArgument", f"a bucket has at most {MAX_LIFECYCLE_RULES} rules")
    taken = {str(r.get("id")) for r in rules}
    rule_id = str(rule.get("id") or "")
    if rule_id in taken:
        raise S3Conflict("RuleExists", f"the bucket already has a lifecycle rule {rule_id!r}")
    counter = 1
    while not rule_id and f"rule-{counter}" in taken:
        counter += 1
    return [*rules, {**rule, "id": rule_id or f"rule-{counter}"}]


def without_rule(rules: Sequence[Rule], rule_id: str) -> list[Rule]:
    kept = [r for r in rules if r.get("id") != rule_id]
    if len(kept) == len(rules):
        raise not_found("lifecycle rule", rule_id)
    return kept


def _taken(bucket: Bucket, p: Principal) -> S3Conflict:
    if bucket.tenant_id == p.tenant_id:
        return S3Conflict(
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
        )
    return S3Conflict(
        "BucketAlreadyExists",
        "The requested bucket name is not available. The bucket namespace is shared by all "
        "users of the system. Please select a different name and try again.",
    )
