"""Repository contracts: how services read and write the metadata store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from thecloud.domain.audit import AuditRecord, Event
from thecloud.domain.common import ListQuery, Page
from thecloud.domain.compute import Image, Instance, MetricSample
from thecloud.domain.iam import Policy, PolicyAttachment
from thecloud.domain.idempotency import IdempotencyRecord
from thecloud.domain.identity import (
    ApiKey,
    LoginFailures,
    ServiceAccount,
    ServiceAccountSecret,
    Tenant,
    User,
)
from thecloud.domain.objects import (
    Bucket,
    MultipartUpload,
    ObjectVersion,
    Part,
    StorageCredential,
)
from thecloud.domain.quotas import QuotaLine
from thecloud.domain.rbac import Role, RoleBinding
from thecloud.domain.secrets import Secret

T = TypeVar("T")


class Repository(Protocol[T]):
    """Rows of one entity. `tenant_id`, when given, scopes every call to that tenant."""

    async def add(self, item: T) -> None:
        """Insert; raises Conflict if a unique field is taken."""
        ...

    async def get(self, ident: str, tenant_id: str | None = None) -> T | None: ...

    async def update(self, item: T) -> None:
        """Replace the stored row with this one; raises Conflict on a unique clash."""
        ...

    async def delete(self, ident: str, tenant_id: str | None = None) -> bool: ...

    async def find_one(self, **filters: object) -> T | None: ...

    async def find(self, **filters: object) -> list[T]: ...

    async def list(self, query: ListQuery, tenant_id: str | None = None) -> Page[T]: ...

    async def count(self, **filters: object) -> int: ...


class RoleRepository(Repository[Role], Protocol):
    async def visible(self, tenant_id: str, query: ListQuery) -> Page[Role]:
        """Built-in roles plus this tenant's custom roles."""
        ...

    async def by_name(self, tenant_id: str, name: str) -> Role | None:
        """The tenant's custom role of that name, else the built-in one."""
        ...

    async def by_ids(self, ids: Sequence[str]) -> list[Role]: ...


class TenantRepository(Repository[Tenant], Protocol):
    async def of_principal(self, principal_id: str, query: ListQuery) -> Page[Tenant]:
        """The tenants in which the principal holds any role."""
        ...


class PolicyRepository(Repository[Policy], Protocol):
    async def attached_to(self, tenant_id: str, principal_id: str) -> list[Policy]: ...


class EventRepository(Repository[Event], Protocol):
    async def after(self, tenant_id: str, seq: int, limit: int) -> list[Event]:
        """Events of the tenant with a sequence number above `seq`, oldest first."""
        ...

    async def last_seq(self, tenant_id: str) -> int: ...


class QuotaRepository(Protocol):
    async def lines(self, tenant_id: str) -> list[QuotaLine]: ...

    async def put(self, line: QuotaLine) -> None: ...

    async def adjust(
        self, tenant_id: str, changes: Mapping[str, int], defaults: Mapping[str, int]
    ) -> list[str]:
        """Add each change to its usage if every result stays within its limit.

        Returns the resources that would exceed their limit (nothing changed then).
        """
        ...


class SecretRepository(Repository[Secret], Protocol):
    async def touch(self, ident: str, when: datetime) -> None:
        """Set last_accessed_at only (a read must not rewrite the ciphertext)."""
        ...


class ImageRepository(Repository[Image], Protocol):
    async def visible(self, tenant_id: str, query: ListQuery) -> Page[Image]:
        """The platform catalog plus this tenant's own images."""
        ...

    async def by_name(self, tenant_id: str, name: str) -> Image | None:
        """The tenant's own image of that name, else the catalog's."""
        ...


class InstanceRepository(Repository[Instance], Protocol):
    async def swap(self, item: Instance, expected_version: int) -> bool:
        """Replace the row only if its stored version is `expected_version` (optimistic
        locking); False when another writer got there first."""
        ...

    async def live(self, statuses: Sequence[str] = ()) -> list[Instance]:
        """Every tenant's instances not yet DELETED, optionally only in these statuses."""
        ...


class MetricRepository(Repository[MetricSample], Protocol):
    async def prune(self, before: datetime) -> int:
        """Delete samples taken before `before`; how many went."""
        ...


class AuthStateRepository(Protocol):
    async def generation(self) -> int:
        """A counter bumped by every change to identity or access; caches compare it."""
        ...

    async def bump(self) -> None: ...


class ObjectVersionRepository(Repository[ObjectVersion], Protocol):
    async def lock_key(self, bucket_id: str, key: str) -> None:
        """Hold the writers of this key off until the transaction ends (PostgreSQL: an
        advisory lock; SQLite writers are serialised already)."""
        ...

    async def latest(self, bucket_id: str, key: str) -> ObjectVersion | None:
        """The current version of a key (maybe a delete marker), if any."""
        ...

    async def overwrite(self, old_id: str, item: ObjectVersion) -> None:
        """`item` in place of version `old_id` of the same key, which goes: what `delete`
        then `add` do, in one write (an unversioned put replacing the null version)."""
        ...

    async def newest(self, bucket_id: str, key: str) -> ObjectVersion | None:
        """The version of a key with the largest `seq` (to restore after a delete)."""
        ...

    async def listing(
        self, bucket_id: str, prefix: str, after: str, limit: int
    ) -> list[ObjectVersion]:
        """Current versions that are not delete markers, keys starting with `prefix` and
        above `after`, in key order (S3 orders keys by their UTF-8 bytes)."""
        ...

    async def versions(
        self, bucket_id: str, prefix: str, after_key: str, after_seq: int | None, limit: int
    ) -> list[ObjectVersion]:
        """Every version (and delete marker) under `prefix`, by key, then newest first,
        starting after (`after_key`, `after_seq`); `after_seq` None skips the whole key."""
        ...

    async def older_than(self, bucket_id: str, before: object, limit: int) -> list[ObjectVersion]:
        """Versions last modified before `before` (the lifecycle worker's candidates)."""
        ...

    async def blob_ids(self) -> set[str]:
        """Every blob any version refers to (the reconciler keeps these)."""
        ...


class PartRepository(Repository[Part], Protocol):
    async def of_upload(self, upload_id: str, after: int, limit: int) -> list[Part]:
        """The parts of an upload with numbers above `after`, in order."""
        ...

    async def blob_ids(self) -> set[str]: ...


class UploadRepository(Repository[MultipartUpload], Protocol):
    async def listing(
        self, bucket_id: str, prefix: str, after_key: str, after_id: str, limit: int
    ) -> list[MultipartUpload]:
        """In-progress uploads under `prefix`, by key then upload id, after the markers."""
        ...


UserRepository = Repository[User]
ApiKeyRepository = Repository[ApiKey]
BindingRepository = Repository[RoleBinding]
ServiceAccountRepository = Repository[ServiceAccount]
ServiceAccountSecretRepository = Repository[ServiceAccountSecret]
AttachmentRepository = Repository[PolicyAttachment]
AuditRepository = Repository[AuditRecord]
IdempotencyRepository = Repository[IdempotencyRecord]
LoginFailureRepository = Repository[LoginFailures]
BucketRepository = Repository[Bucket]
CredentialRepository = Repository[StorageCredential]
