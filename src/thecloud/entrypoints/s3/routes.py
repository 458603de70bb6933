"""Which S3 operation a request is (method, bucket or key, sub-resource), and the
service-level and bucket-level operations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from thecloud.domain.objects import (
    S3Invalid,
    S3NotFound,
    Versioning,
)
from thecloud.entrypoints.s3 import bucket_ops, multipart_ops, object_ops, xml_in, xml_out
from thecloud.entrypoints.s3.responses import respond, respond_xml

if TYPE_CHECKING:
    from thecloud.entrypoints.s3.app import Call, Handler

# Sub-resources we do not implement: a clear 501 rather than a wrong answer.
_UNSUPPORTED = (
    "policy", "website", "logging", "notification", "replication", "object-lock",
    "retention", "legal-hold", "accelerate", "requestPayment", "analytics", "metrics",
    "inventory", "intelligent-tiering", "ownershipControls", "publicAccessBlock", "torrent",
    "restore", "select", "attributes",
)  # fmt: skip


# Object sub-resources S3 has and we do not (bucket-level ones of these names are handled).
_UNSUPPORTED_ON_OBJECTS = ("versioning", "cors", "lifecycle", "encryption",
                           "location", "versions", "delete")  # fmt: skip
_REFUSED = frozenset(_UNSUPPORTED)
_REFUSED_ON_OBJECTS = _REFUSED | frozenset(_UNSUPPORTED_ON_OBJECTS)


async def route(call: Call) -> None:
    if call.req.method == "OPTIONS":
        await bucket_ops.preflight(call)
        return
    if call.principal is None and call.req.method not in ("GET", "HEAD"):
        call.signed_in  # noqa: B018 - raises AccessDenied: only reads may be anonymous
    if call.names and (refused := call.names & (_REFUSED_ON_OBJECTS if call.key else _REFUSED)):
        name = next(n for n in _UNSUPPORTED + _UNSUPPORTED_ON_OBJECTS if n in refused)
        raise S3Invalid("NotImplemented", f"the ?{name} sub-resource is not implemented")
    if not call.bucket:
        if call.req.method != "GET":
            raise _not_allowed(call)
        await list_buckets(call)
        return
    handler = _object_handler(call) if call.key else _bucket_handler(call)
    await handler(call)


def _not_allowed(call: Call) -> S3Invalid:
    return S3Invalid(
        "MethodNotAllowed", f"The specified method ({call.req.method}) is not allowed against "
        "this resource."
    )  # fmt: skip


def _bucket_handler(call: Call) -> Handler:
    table = _BUCKET.get(call.req.method, {})
    for sub, handler in table.items():
        if sub and call.has(sub):
            return handler
    if "" in table:
        return table[""]
    raise _not_allowed(call)


def _object_handler(call: Call) -> Handler:
    table = _OBJECT.get(call.req.method, {})
    for sub, handler in table.items():
        if sub and call.has(sub):
            return handler
    if "" in table:
        return table[""]
    raise _not_allowed(call)


async def list_buckets(call: Call) -> None:
    p = call.signed_in
    buckets = await call.container.buckets.list(p)
    await respond_xml(call.send, xml_out.list_buckets(buckets, p.tenant_id, p.name),
                      call.base_headers())  # fmt: skip


async def get_versioning(call: Call) -> None:
    bucket = await call.container.buckets.get(call.principal, call.bucket, "s3:GetBucketVersioning")
    await respond_xml(call.send, xml_out.versioning(str(bucket.versioning)), call.base_headers())


async def put_versioning(call: Call) -> None:
    status = xml_in.versioning(await object_ops.small_body(call))
    await call.container.buckets.configure(
        call.signed_in, call.bucket, "s3:PutBucketVersioning", {"versioning": Versioning(status)}
    )
    await respond(call.send, 200, call.base_headers())


async def get_location(call: Call) -> None:
    bucket = await call.container.buckets.get(call.principal, call.bucket, "s3:GetBucketLocation")
    await respond_xml(call.send, xml_out.location(bucket.region), call.base_headers())


async def get_tagging(call: Call) -> None:
    bucket = await call.container.buckets.get(call.principal, call.bucket, "s3:GetBucketTagging")
    if not bucket.tags:
        raise S3NotFound("NoSuchTagSet", "The TagSet does not exist", bucket_name=call.bucket)
    await respond_xml(call.send, xml_out.tagging(bucket.tags), call.base_headers())


async def put_tagging(call: Call) -> None:
    tags = xml_in.tagging(await object_ops.small_body(call))
    await call.container.buckets.configure(
        call.signed_in, call.bucket, "s3:PutBucketTagging", {"tags": tags}
    )
    await respond(call.send, 204, call.base_headers())


async def delete_tagging(call: Call) -> None:
    await call.container.buckets.configure(
        call.signed_in, call.bucket, "s3:PutBucketTagging", {"tags": {}}
    )
    await respond(call.send, 204, call.base_headers())


_BUCKET: dict[str, dict[str, Handler]] = {
    "GET": {
        "versioning": get_versioning, "location": get_location, "tagging": get_tagging,
        "cors": bucket_ops.get_cors, "encryption": bucket_ops.get_encryption,
        "lifecycle": bucket_ops.get_lifecycle, "acl": bucket_ops.get_acl,
        "versions": bucket_ops.list_versions, "uploads": multipart_ops.list_uploads,
        "": bucket_ops.list_objects,
    },
    "PUT": {
        "versioning": put_versioning, "tagging": put_tagging, "cors": bucket_ops.put_cors,
        "encryption": bucket_ops.put_encryption, "lifecycle": bucket_ops.put_lifecycle,
        "acl": bucket_ops.put_acl, "": bucket_ops.create_bucket,
    },
    "DELETE": {
        "tagging": delete_tagging, "cors": bucket_ops.delete_cors,
        "encryption": bucket_ops.delete_encryption, "lifecycle": bucket_ops.delete_lifecycle,
        "": bucket_ops.delete_bucket,
    },
    "HEAD": {"": bucket_ops.head_bucket},
    "POST": {"delete": object_ops.delete_objects},
}  # fmt: skip

_OBJECT: dict[str, dict[str, Handler]] = {
    "GET": {
        "uploadId": multipart_ops.list_parts,
        "tagging": object_ops.get_tagging,
        "acl": bucket_ops.get_object_acl,
        "": object_ops.get_object,
    },
    "HEAD": {"": object_ops.head_object},
    "PUT": {
        "uploadId": multipart_ops.upload_part,
        "tagging": object_ops.put_tagging,
        "acl": bucket_ops.put_object_acl,
        "": object_ops.put_object,
    },
    "DELETE": {
        "uploadId": multipart_ops.abort,
        "tagging": object_ops.delete_tagging,
        "": object_ops.delete_object,
    },
    "POST": {"uploads": multipart_ops.create, "uploadId": multipart_ops.complete},
}
