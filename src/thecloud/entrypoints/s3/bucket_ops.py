"""Bucket-level S3 operations: create, head, delete, list objects (v1, v2) and versions,
CORS (and preflight), default encryption, lifecycle, ACL (private or public-read)."""

from __future__ import annotations

import base64
import binascii
import fnmatch
from collections.abc import Mapping
from typing import TYPE_CHECKING

from thecloud.domain.errors import CloudError
from thecloud.domain.objects import Bucket, S3Invalid, S3NotFound
from thecloud.entrypoints.s3 import xml_in, xml_out
from thecloud.entrypoints.s3.object_ops import object_acl, small_body
from thecloud.entrypoints.s3.responses import respond, respond_xml

if TYPE_CHECKING:
    from thecloud.entrypoints.s3.app import Call

_ACL = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<AccessControlPolicy '
    'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>{owner}</ID></Owner>'
    "<AccessControlList><Grant><Grantee "
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">'
    "<ID>{owner}</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>{public}"
    "</AccessControlList></AccessControlPolicy>"
)
_PUBLIC_GRANT = (
    '<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group">'
    "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>"
    "<Permission>READ</Permission></Grant>"
)


async def create_bucket(call: Call) -> None:
    p = call.signed_in
    region = xml_in.create_bucket(await small_body(call))
    public = _public(call.header("x-amz-acl") or "private")
    await call.container.buckets.create(p, call.bucket, region, public)
    await respond(call.send, 200, {**call.base_headers(), "location": f"/{call.bucket}"})


async def head_bucket(call: Call) -> None:
    bucket = await call.container.buckets.get(call.principal, call.bucket, "s3:ListBucket")
    headers = {**call.base_headers(), "x-amz-bucket-region": bucket.region}
    await respond(call.send, 200, headers, head=True)


async def delete_bucket(call: Call) -> None:
    await call.container.buckets.delete(call.signed_in, call.bucket)
    await respond(call.send, 204, call.base_headers())


def _token(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text.encode() + b"==").decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise S3Invalid("InvalidArgument", "The continuation token provided is incorrect") from exc


def _make_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


async def list_objects(call: Call) -> None:
    prefix, delimiter = call.q("prefix") or "", call.q("delimiter") or ""
    encoding = call.q("encoding-type") or ""
    if encoding not in ("", "url"):
        raise S3Invalid("InvalidArgument", "Invalid Encoding Method specified in Request")
    max_keys = call.integer("max-keys", 1000, 1000)
    v2 = call.q("list-type") == "2"
    token, start_after = call.q("continuation-token"), call.q("start-after") or ""
    after = (_token(token) if token else start_after) if v2 else (call.q("marker") or "")
    found = await call.container.listing.objects(
        call.principal, call.bucket, prefix, delimiter, after, max_keys
    )
    owner, shown = found.bucket.tenant_id, max(0, min(max_keys, 1000))
    if v2:
        body = xml_out.list_objects_v2(
            call.bucket, found.entries, found.prefixes, prefix=prefix, delimiter=delimiter,
            max_keys=shown, is_truncated=found.truncated, encoding_type=encoding,
            owner_id=owner, continuation_token=token or "", start_after=start_after,
            next_continuation_token=_make_token(found.next_marker) if found.truncated else "",
            fetch_owner=call.q("fetch-owner") == "true",
        )  # fmt: skip
    else:
        body = xml_out.list_objects_v1(
            call.bucket, found.entries, found.prefixes, prefix=prefix, delimiter=delimiter,
            max_keys=shown, is_truncated=found.truncated, encoding_type=encoding,
            owner_id=owner, marker=after, next_marker=found.next_marker if delimiter else "",
        )  # fmt: skip
    await respond_xml(call.send, body, call.base_headers())


async def list_versions(call: Call) -> None:
    prefix, delimiter = call.q("prefix") or "", call.q("delimiter") or ""
    key_marker, version_marker = call.q("key-marker") or "", call.q("version-id-marker") or ""
    max_keys = call.integer("max-keys", 1000, 1000)
    found = await call.container.listing.versions(
        call.signed_in, call.bucket, prefix, delimiter, key_marker, version_marker, max_keys
    )
    body = xml_out.list_object_versions(
        call.bucket, found.entries, found.prefixes, prefix=prefix, delimiter=delimiter,
        key_marker=key_marker, version_id_marker=version_marker,
        next_key_marker=found.next_marker, next_version_id_marker=found.next_version,
        max_keys=max(0, min(max_keys, 1000)), is_truncated=found.truncated,
        encoding_type=call.q("encoding-type") or "", owner_id=found.bucket.tenant_id,
    )  # fmt: skip
    await respond_xml(call.send, body, call.base_headers())


async def _configure(call: Call, action: str, changes: Mapping[str, object]) -> None:
    await call.container.buckets.configure(call.signed_in, call.bucket, action, changes)


async def get_cors(call: Call) -> None:
    bucket = await call.container.buckets.get(call.principal, call.bucket, "s3:GetBucketCORS")
    if not bucket.cors:
        raise S3NotFound("NoSuchCORSConfiguration", "The CORS configuration does not exist",
                         bucket_name=call.bucket)  # fmt: skip
    await respond_xml(call.send, xml_out.cors(bucket.cors), call.base_headers())


async def put_cors(call: Call) -> None:
    rules = xml_in.cors(await small_body(call))
    await _configure(call, "s3:PutBucketCORS", {"cors": rules})
    await respond(call.send, 200, call.base_headers())


async def delete_cors(call: Call) -> None:
    await _configure(call, "s3:PutBucketCORS", {"cors": []})
    await respond(call.send, 204, call.base_headers())


async def get_encryption(call: Call) -> None:
    bucket = await call.container.buckets.get(
        call.principal, call.bucket, "s3:GetEncryptionConfiguration"
    )
    await respond_xml(call.send, xml_out.encryption(bucket.encryption), call.base_headers())


async def put_encryption(call: Call) -> None:
    algorithm = xml_in.encryption(await small_body(call))
    await _configure(call, "s3:PutEncryptionConfiguration", {"encryption": algorithm})
    await respond(call.send, 200, call.base_headers())


async def delete_encryption(call: Call) -> None:
    """Every object is encrypted at rest regardless: the default rule stays AES256."""
    await _configure(call, "s3:PutEncryptionConfiguration", {"encryption": "AES256"})
    await respond(call.send, 204, call.base_headers())


async def get_lifecycle(call: Call) -> None:
    bucket = await call.container.buckets.get(
        call.principal, call.bucket, "s3:GetLifecycleConfiguration"
    )
    if not bucket.lifecycle:
        raise S3NotFound(
            "NoSuchLifecycleConfiguration",
            "The lifecycle configuration does not exist",
            bucket_name=call.bucket,
        )
    await respond_xml(call.send, xml_out.lifecycle(bucket.lifecycle), call.base_headers())


async def put_lifecycle(call: Call) -> None:
    rules = xml_in.lifecycle(await small_body(call))
    await _configure(call, "s3:PutLifecycleConfiguration", {"lifecycle": rules})
    await respond(call.send, 200, call.base_headers())


async def delete_lifecycle(call: Call) -> None:
    await _configure(call, "s3:PutLifecycleConfiguration", {"lifecycle": []})
    await respond(call.send, 204, call.base_headers())


async def get_acl(call: Call) -> None:
    bucket = await call.container.buckets.get(call.principal, call.bucket, "s3:GetBucketAcl")
    await respond_xml(call.send, acl_document(bucket), call.base_headers())


def acl_document(bucket: Bucket) -> bytes:
    """The ACL of a bucket, and of each of its objects: the tenant has full control, and
    everyone may read when the bucket is public-read."""
    public = _PUBLIC_GRANT if bucket.public_read else ""
    return _ACL.format(owner=bucket.tenant_id, public=public).encode()


async def put_acl(call: Call) -> None:
    """Canned ACLs only: `x-amz-acl: private` or `public-read`."""
    await small_body(call)
    acl = call.header("x-amz-acl")
    if not acl:
        raise S3Invalid("NotImplemented", "only canned ACLs (x-amz-acl: private or "
                        "public-read) are supported")  # fmt: skip
    await _set_acl(call, acl)
    await respond(call.send, 200, call.base_headers())


async def get_object_acl(call: Call) -> None:
    """An object's ACL is its bucket's: objects have none of their own."""
    version_id = call.q("versionId")
    action = "s3:GetObjectVersionAcl" if version_id else "s3:GetObjectAcl"
    bucket, version = await call.container.objects.describe(
        call.signed_in, call.bucket, call.key, version_id, action
    )
    headers = call.base_headers()
    if version.version_id != "null":
        headers["x-amz-version-id"] = version.version_id
    await respond_xml(call.send, acl_document(bucket), headers)


async def put_object_acl(call: Call) -> None:
    """Only what changes nothing: the canned `private` or `bucket-owner-full-control`."""
    body = await small_body(call)
    if body.strip() or not call.header("x-amz-acl"):
        object_acl(call, grants=True)
    object_acl(call)
    version_id = call.q("versionId")
    action = "s3:PutObjectVersionAcl" if version_id else "s3:PutObjectAcl"
    await call.container.objects.describe(call.signed_in, call.bucket, call.key, version_id, action)
    await respond(call.send, 200, call.base_headers())


def _public(acl: str) -> bool:
    if acl not in ("private", "public-read"):
        raise S3Invalid("InvalidArgument", f"x-amz-acl {acl!r} is not supported; use private "
                        "or public-read")  # fmt: skip
    return acl == "public-read"


async def _set_acl(call: Call, acl: str) -> None:
    await _configure(call, "s3:PutBucketAcl", {"public_read": _public(acl)})


async def preflight(call: Call) -> None:
    """CORS preflight (OPTIONS): answered from the bucket's rules, without a signature."""
    origin, method = call.header("origin"), call.header("access-control-request-method")
    if not origin or not method:
        raise S3Invalid("BadRequest", "Insufficient information. Origin request header needed.")
    try:
        bucket = await call.container.buckets.lookup(call.bucket)
    except CloudError:
        bucket = None
    rule = cors_rule(bucket.cors if bucket else (), origin, method)
    if rule is None:
        raise S3Invalid("AccessForbidden", "CORSResponse: This CORS request is not allowed.")
    headers = {**call.base_headers(), **cors_headers(rule, origin)}
    wanted = [h.strip().lower() for h in call.header("access-control-request-headers").split(",")]
    wanted = [h for h in wanted if h]
    allowed = [str(a).lower() for a in rule.get("allowed_headers", ())]  # type: ignore[attr-defined]
    if any(not any(fnmatch.fnmatchcase(h, a) for a in allowed) for h in wanted):
        raise S3Invalid("AccessForbidden", "CORSResponse: This CORS request is not allowed.")
    if wanted:
        headers["access-control-allow-headers"] = ", ".join(wanted)
    await respond(call.send, 200, headers)


async def cors_for(call: Call, origin: str) -> dict[str, str]:
    """The CORS headers of an actual (not preflight) request from a browser at `origin`:
    those of the bucket's first rule allowing the origin and the method, else none. They
    go on every answer, errors included, so that the page can read what went wrong."""
    try:
        bucket = await call.container.buckets.lookup(call.bucket)
    except CloudError:
        return {}
    rule = cors_rule(bucket.cors, origin, call.req.method)
    return cors_headers(rule, origin) if rule is not None else {}


def cors_rule(rules: object, origin: str, method: str) -> Mapping[str, object] | None:
    for rule in rules or ():  # type: ignore[attr-defined]
        origins = rule.get("allowed_origins", ())
        methods = rule.get("allowed_methods", ())
        if method in methods and any(fnmatch.fnmatchcase(origin, o) for o in origins):
            found: Mapping[str, object] = rule
            return found
    return None


def cors_headers(rule: Mapping[str, object], origin: str) -> dict[str, str]:
    origins = rule.get("allowed_origins", ())
    headers = {
        "access-control-allow-origin": "*" if origins == ["*"] else origin,
        "access-control-allow-methods": ", ".join(rule.get("allowed_methods", ())),  # type: ignore[arg-type]
        "vary": "Origin, Access-Control-Request-Headers, Access-Control-Request-Method",
    }
    if origins != ["*"]:  # as S3: a named origin may send cookies and credentials
        headers["access-control-allow-credentials"] = "true"
    expose = rule.get("expose_headers")
    if expose:
        headers["access-control-expose-headers"] = ", ".join(expose)  # type: ignore[arg-type]
    if rule.get("max_age_seconds") is not None:
        headers["access-control-max-age"] = str(rule["max_age_seconds"])
    return headers
