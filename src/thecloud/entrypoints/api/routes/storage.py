"""Buckets over REST (`/storage/buckets`: settings, lifecycle rules) and the cluster status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field, model_validator

from thecloud.bootstrap import Container
from thecloud.domain.common import DEFAULT_LIMIT, Page
from thecloud.domain.objects import Bucket, ObjectVersion, Versioning
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services, idempotent
from thecloud.entrypoints.api.envelope import JSONResponse, Limit, Offset, listed, no_content, ok
from thecloud.entrypoints.api.errors import RESPONSES
from thecloud.entrypoints.api.schemas import Body

router = APIRouter(prefix="/storage", tags=["object storage"], responses=RESPONSES)
T = TypeVar("T")
MAX_RULE_DAYS = 100_000  # past ~739,000 days `now - days` is before year 1


class CreateBucketRequest(Body):
    name: str = Field(min_length=3, max_length=63, description="S3 rules: a-z 0-9 . -")
    region: str = Field(default="", max_length=64, description="default us-east-1")
    versioning: bool = Field(default=False, description="keep every version from the start")
    public_read: bool = Field(default=False, description="anyone may read objects and list")


class VersioningRequest(Body):
    """`{"status": "Enabled"|"Suspended"}`, or the original API's `{"enabled": bool}`."""

    status: Literal["Enabled", "Suspended"] | None = None
    enabled: bool | None = None

    @model_validator(mode="after")
    def _one(self) -> VersioningRequest:
        if (self.status is None) == (self.enabled is None):
            raise ValueError("send either status (Enabled or Suspended) or enabled (a boolean)")
        return self

    @property
    def state(self) -> Versioning:
        return Versioning(self.status or ("Enabled" if self.enabled else "Suspended"))


class UpdateBucketRequest(Body):
    public_read: bool | None = None
    tags: dict[str, str] | None = Field(default=None, description="replaces every tag")

    @model_validator(mode="after")
    def _something(self) -> UpdateBucketRequest:
        if self.public_read is None and self.tags is None:
            raise ValueError("send public_read, tags or both")
        return self


class LifecycleRuleRequest(Body):
    """A rule as S3's lifecycle configuration has it: objects under `prefix` expire (or their
    noncurrent versions, or incomplete multipart uploads) a number of days after they were
    written; the storage worker applies the rules."""

    id: str = Field(default="", max_length=255, description="default rule-<n>")
    prefix: str = Field(default="", max_length=1024)
    tags: dict[str, str] = Field(
        default_factory=dict, description="only objects with every one of these tags (<= 10)"
    )
    status: Literal["Enabled", "Disabled"]
    expiration_days: int | None = Field(default=None, ge=1, le=MAX_RULE_DAYS)
    noncurrent_days: int | None = Field(default=None, ge=1, le=MAX_RULE_DAYS)
    abort_days: int | None = Field(default=None, ge=1, le=MAX_RULE_DAYS)

    @model_validator(mode="after")
    def _an_action(self) -> LifecycleRuleRequest:
        if (self.expiration_days, self.noncurrent_days, self.abort_days) == (None, None, None):
            raise ValueError("a rule needs expiration_days, noncurrent_days or abort_days")
        return self


# --- shapes ---------------------------------------------------------------------------------


def bucket(b: Bucket) -> dict[str, Any]:
    return {
        "id": b.id, "name": b.name, "region": b.region,
        "versioning": b.versioning.value or "Disabled", "public_read": b.public_read,
        "tags": dict(b.tags), "encryption": b.encryption, "lifecycle": list(b.lifecycle),
        "created_by": b.created_by, "created_at": b.created_at, "updated_at": b.updated_at,
    }  # fmt: skip


def stored_object(v: ObjectVersion) -> dict[str, Any]:
    return {
        "key": v.key, "size": v.size, "etag": v.etag.strip('"'),
        "last_modified": v.last_modified, "content_type": v.content_type,
        "version_id": v.version_id, "is_latest": v.is_latest,
        "delete_marker": v.delete_marker, "metadata": dict(v.metadata), "tags": dict(v.tags),
    }  # fmt: skip


def sliced(items: Sequence[T], limit: int, offset: int) -> Page[T]:
    return Page(list(items[offset : offset + limit]), len(items), limit, offset)


def s3_endpoint(request: Request, c: Container) -> str:
    scheme = "https" if c.settings.s3_tls_cert else "http"
    return f"{scheme}://{request.url.hostname or 'localhost'}:{c.settings.s3_port}"


# --- routes ---------------------------------------------------------------------------------


@router.get("/cluster/status")
async def storage_cluster_status(request: Request, _: CurrentPrincipal, c: Services) -> Response:
    """Where objects live: one node (this server's data directory), and the S3 endpoint that
    boto3, the aws CLI and other S3 clients use."""
    status = {"mode": "single-node", "nodes": 1, "healthy": True}
    return ok(request, {**status, "s3_endpoint": s3_endpoint(request, c)})


@router.post("/buckets", status_code=201)
async def create_bucket(
    request: Request, body: CreateBucketRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Create a bucket (names are global, as in S3); optionally versioned or public-read."""

    async def run() -> Response:
        made = await c.buckets.create(p, body.name, body.region, body.public_read)
        if body.versioning:
            made = await c.buckets.configure(
                p, made.name, "s3:PutBucketVersioning", {"versioning": Versioning.ENABLED}
            )
        return ok(request, bucket(made), 201)

    return await idempotent(request, p, body.model_dump(), run)


@router.get("/buckets")
async def list_buckets(
    request: Request, p: CurrentPrincipal, c: Services, limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> JSONResponse:  # fmt: skip
    """The tenant's buckets, by name."""
    return listed(request, sliced(await c.buckets.list(p), limit, offset), bucket)


@router.get("/buckets/{name}")
async def get_bucket(request: Request, name: str, p: CurrentPrincipal, c: Services) -> Response:
    """A bucket and its settings."""
    return ok(request, bucket(await c.buckets.get(p, name)))


@router.delete("/buckets/{name}", status_code=204)
async def delete_bucket(name: str, p: CurrentPrincipal, c: Services) -> Response:
    """Delete an empty bucket (409 while any object, version or delete marker is left;
    unfinished multipart uploads go with it)."""
    await c.buckets.delete(p, name)
    return no_content()


@router.patch("/buckets/{name}/versioning")
async def set_bucket_versioning(
    request: Request, name: str, body: VersioningRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Enable versioning (every write keeps the previous version), or suspend it (versions
    kept so far stay)."""
    changes = {"versioning": body.state}
    return ok(
        request, bucket(await c.buckets.configure(p, name, "s3:PutBucketVersioning", changes))
    )


@router.patch("/buckets/{name}")
async def update_bucket(
    request: Request, name: str, body: UpdateBucketRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Make the bucket public-read (anyone may read and list it, signed in or not) or private;
    replace its tags."""
    changed = None
    if body.public_read is not None:
        acl = {"public_read": body.public_read}
        changed = await c.buckets.configure(p, name, "s3:PutBucketAcl", acl)
    if body.tags is not None:
        changed = await c.buckets.configure(p, name, "s3:PutBucketTagging", {"tags": body.tags})
    return ok(request, bucket(changed) if changed else None)


@router.post("/buckets/{name}/lifecycle", status_code=201)
async def add_lifecycle_rule(
    request: Request, name: str, body: LifecycleRuleRequest, p: CurrentPrincipal, c: Services
) -> Response:
    """Add a lifecycle rule (409 if its id is taken); the rule as stored, with its id."""

    async def run() -> Response:
        made = await c.buckets.add_lifecycle_rule(p, name, body.model_dump())
        return ok(request, dict(made.lifecycle[-1]), 201)

    return await idempotent(request, p, {"bucket": name, **body.model_dump()}, run)


@router.get("/buckets/{name}/lifecycle")
async def list_lifecycle_rules(
    request: Request, name: str, p: CurrentPrincipal, c: Services,
    limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
) -> JSONResponse:  # fmt: skip
    """The bucket's lifecycle rules, in the order they were added."""
    found = await c.buckets.get(p, name, "s3:GetLifecycleConfiguration")
    return listed(request, sliced(found.lifecycle, limit, offset), dict)


@router.delete("/buckets/{name}/lifecycle/{rule_id}", status_code=204)
async def delete_lifecycle_rule(
    name: str, rule_id: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Remove one lifecycle rule by id."""
    await c.buckets.remove_lifecycle_rule(p, name, rule_id)
    return no_content()
