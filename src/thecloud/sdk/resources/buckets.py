"""Buckets (`client.buckets`) and S3 access keys (`client.storage_credentials`)."""

from __future__ import annotations

from collections.abc import Mapping

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream


class StorageCredentials(Resource[One, PageT, ListT, Done, Stream]):
    """`/storage/credentials`: S3 access key pairs (boto3, the aws CLI, any S3 client)."""

    def create(
        self,
        *,
        description: str | None = None,
        service_account_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> One:
        """A new key pair for you (or a service account): `access_key_id` and
        `secret_access_key`, the secret shown this once."""
        payload = body(description=description, service_account_id=service_account_id)
        call = Call("POST", "/storage/credentials", payload, idempotency_key=idempotency_key)
        return self._x.one(call)

    def list(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the tenant's access keys (never their secrets)."""
        return self._x.page(listing("/storage/credentials", limit, offset))

    def iterate(self, *, page_size: int = 100) -> Stream:
        """All the tenant's access keys."""
        return self._x.iterate(listing("/storage/credentials", page_size, 0), page_size)

    def get(self, credential: str) -> One:
        """An access key by id or access key id."""
        return self._x.one(Call("GET", f"/storage/credentials/{seg(credential)}"))

    def revoke(self, credential: str) -> One:
        """Revoke an access key (id or access key id): signatures made with it fail at once."""
        return self._x.one(Call("DELETE", f"/storage/credentials/{seg(credential)}"))


class Buckets(Resource[One, PageT, ListT, Done, Stream]):
    """`/storage/buckets`: the tenant's buckets and their settings."""

    def create(
        self,
        name: str,
        *,
        region: str | None = None,
        versioning: bool = False,
        public_read: bool = False,
        idempotency_key: str | None = None,
    ) -> One:
        """Create a bucket (names are global, S3's rules); optionally versioned from the
        start or public-read (anyone may read and list it)."""
        payload = body(name=name, region=region, versioning=versioning or None,
                       public_read=public_read or None)  # fmt: skip
        call = Call("POST", "/storage/buckets", payload, idempotency_key=idempotency_key)
        return self._x.one(call)

    def list(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the tenant's buckets, by name."""
        return self._x.page(listing("/storage/buckets", limit, offset))

    def iterate(self, *, page_size: int = 100) -> Stream:
        """All the tenant's buckets."""
        return self._x.iterate(listing("/storage/buckets", page_size, 0), page_size)

    def get(self, bucket: str) -> One:
        """A bucket and its settings (versioning, public_read, tags, lifecycle rules)."""
        return self._x.one(Call("GET", f"/storage/buckets/{seg(bucket)}"))

    def delete(self, bucket: str) -> Done:
        """Delete an empty bucket (ConflictError while objects or versions are left)."""
        return self._x.done(Call("DELETE", f"/storage/buckets/{seg(bucket)}"))

    def set_versioning(self, bucket: str, enabled: bool) -> One:
        """Enable versioning, or suspend it (`enabled=False`: the versions kept stay)."""
        status = "Enabled" if enabled else "Suspended"
        path = f"/storage/buckets/{seg(bucket)}/versioning"
        return self._x.one(Call("PATCH", path, {"status": status}))

    def set_public(self, bucket: str, public: bool = True) -> One:
        """Make the bucket public-read (anyone may read and list it) or private again."""
        path = f"/storage/buckets/{seg(bucket)}"
        return self._x.one(Call("PATCH", path, {"public_read": public}))

    def set_tags(self, bucket: str, tags: Mapping[str, str]) -> One:
        """Replace the bucket's tags."""
        return self._x.one(Call("PATCH", f"/storage/buckets/{seg(bucket)}", {"tags": dict(tags)}))

    def add_lifecycle_rule(
        self,
        bucket: str,
        *,
        prefix: str = "",
        expiration_days: int | None = None,
        noncurrent_days: int | None = None,
        abort_days: int | None = None,
        rule_id: str | None = None,
        enabled: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> One:
        """Expire objects under `prefix` (and, given `tags`, with every one of them)
        `expiration_days` after they were written (and/or noncurrent versions, or
        unfinished multipart uploads); the rule, with its id."""
        payload = body(
            id=rule_id, prefix=prefix, status="Enabled" if enabled else "Disabled",
            expiration_days=expiration_days, noncurrent_days=noncurrent_days,
            abort_days=abort_days, tags=dict(tags) if tags else None,
        )  # fmt: skip
        return self._x.one(Call("POST", f"/storage/buckets/{seg(bucket)}/lifecycle", payload))

    def lifecycle_rules(
        self, bucket: str, *, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """The bucket's lifecycle rules."""
        return self._x.page(listing(f"/storage/buckets/{seg(bucket)}/lifecycle", limit, offset))

    def delete_lifecycle_rule(self, bucket: str, rule_id: str) -> Done:
        """Remove one lifecycle rule by id."""
        path = f"/storage/buckets/{seg(bucket)}/lifecycle/{seg(rule_id)}"
        return self._x.done(Call("DELETE", path))

    def cluster_status(self) -> One:
        """Where objects are stored and the S3 endpoint's URL (`s3_endpoint`)."""
        return self._x.one(Call("GET", "/storage/cluster/status"))
