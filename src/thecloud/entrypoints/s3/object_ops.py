"""Object-level S3 operations: put (and copy), get, head, delete, delete-multiple; and the
headers that describe an object (metadata, content headers, checksums, encryption)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import unquote

from thecloud.domain.objects import (
    STORED_HEADERS,
    Conditions,
    CustomerKey,
    NotModified,
    ObjectAttrs,
    ObjectVersion,
    S3Invalid,
    parse_range,
    parse_tagging,
)
from thecloud.entrypoints.s3 import xml_in, xml_out
from thecloud.entrypoints.s3.body import RequestBody
from thecloud.entrypoints.s3.responses import http_date, respond, respond_xml, stream

if TYPE_CHECKING:
    from thecloud.entrypoints.s3.app import Call

SMALL_BODY = 2 * 1024 * 1024  # XML documents: configurations, DeleteObjects, Complete
_SSE_C = "x-amz-server-side-encryption-customer-"
_OVERRIDES = {
    "response-content-type": "content-type", "response-content-language": "content-language",
    "response-expires": "expires", "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}  # fmt: skip


async def small_body(call: Call) -> bytes:
    """A whole (XML) request body, checked like any other (checksums, signatures)."""
    body = RequestBody(call)
    return await body.read_all(SMALL_BODY)


def attrs_of(call: Call) -> ObjectAttrs:
    headers = call.req.headers
    metadata = {k[11:]: v for k, v in headers.items() if k.startswith("x-amz-meta-")}
    # a presigned PUT (SigV2 especially) carries metadata in its signed query string
    metadata.update({k[11:].lower(): v for k, v in call.req.query if k.startswith("x-amz-meta-")})
    stored = {name: headers[name] for name in STORED_HEADERS if name in headers}
    if "aws-chunked" in stored.get("content-encoding", ""):
        rest = [e for e in stored["content-encoding"].split(",") if e.strip() != "aws-chunked"]
        stored.pop("content-encoding")
        if rest:
            stored["content-encoding"] = ",".join(e.strip() for e in rest)
    content_type = headers.get("content-type") or "binary/octet-stream"
    return ObjectAttrs(content_type, stored, metadata, tagging_header(call))


_OWNER_ACLS = ("", "private", "bucket-owner-full-control")


def object_acl(call: Call, *, grants: bool = False) -> None:
    """Objects have no ACL of their own (as in S3 buckets whose ACLs are disabled, its
    default since 2023): a canned ACL that changes nothing passes, any other is refused, so
    that an object meant to be public is not silently left private. `grants`: the request
    carries grants (a body, or no canned ACL), which are refused too."""
    acl = call.header("x-amz-acl")
    if (
        grants
        or acl not in _OWNER_ACLS
        or any(k.startswith("x-amz-grant-") for k in call.req.headers)
    ):
        raise S3Invalid(
            "AccessControlListNotSupported",
            "objects have no ACLs of their own: an object is as private or as public as its "
            "bucket (PutBucketAcl public-read); send no ACL, or x-amz-acl: private",
        )


def tagging_header(call: Call) -> dict[str, str]:
    return parse_tagging(call.header("x-amz-tagging"))


def customer_key(call: Call, prefix: str = _SSE_C) -> CustomerKey | None:
    """SSE-C headers (or their x-amz-copy-source-... forms for a copy's source)."""
    algorithm, key = call.header(prefix + "algorithm"), call.header(prefix + "key")
    md5 = call.header(prefix + "key-md5")
    if not (algorithm or key or md5):
        return None
    if algorithm != "AES256":
        raise S3Invalid(
            "InvalidEncryptionAlgorithmError",
            "The encryption request you specified is not valid. Use AES256.",
        )
    try:
        raw = base64.b64decode(key, validate=True)
    except binascii.Error as exc:
        raise S3Invalid("InvalidArgument", "The SSE-C key must be base64") from exc
    if len(raw) != 32:
        raise S3Invalid(
            "InvalidArgument", "The secret key was invalid for the specified algorithm."
        )
    actual = base64.b64encode(hashlib.md5(raw).digest()).decode()  # noqa: S324 - S3's check
    if md5 and md5 != actual:
        raise S3Invalid("InvalidArgument", "The calculated MD5 hash of the key did not match "
                        "the hash that was provided.")  # fmt: skip
    if not call.secure:
        raise S3Invalid(
            "InvalidRequest",
            "Requests specifying Server Side Encryption with Customer provided keys must be "
            "made over a secure connection.",
        )
    return CustomerKey(raw, actual)


def _date(value: str | None) -> datetime | None:
    """An HTTP date (a time without a zone is UTC); None when absent or not a date, which
    S3 then ignores."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def conditions(call: Call, prefix: str = "") -> Conditions:
    h = call.req.headers
    return Conditions(
        if_match=h.get(prefix + "if-match"),
        if_none_match=h.get(prefix + "if-none-match"),
        if_modified_since=_date(h.get(prefix + "if-modified-since")),
        if_unmodified_since=_date(h.get(prefix + "if-unmodified-since")),
    )


def object_headers(call: Call, v: ObjectVersion, partial: bool = False) -> dict[str, str]:
    """What GET and HEAD say of an object; checksums cover the whole object, so a range
    does not get them (as S3)."""
    headers = {
        **call.base_headers(), "etag": v.etag, "last-modified": http_date(v.last_modified),
        "content-type": v.content_type, "accept-ranges": "bytes", **v.headers,
    }  # fmt: skip
    headers.update({f"x-amz-meta-{k}": val for k, val in v.metadata.items()})
    if v.version_id != "null":
        headers["x-amz-version-id"] = v.version_id
    if v.sse_customer_key_md5:
        headers[_SSE_C + "algorithm"] = "AES256"
        headers[_SSE_C + "key-md5"] = v.sse_customer_key_md5
    else:
        headers["x-amz-server-side-encryption"] = "AES256"
    if not partial and call.header("x-amz-checksum-mode").upper() == "ENABLED":
        for algorithm, value in v.checksums.items():
            headers[f"x-amz-checksum-{algorithm.lower()}"] = value
    if v.parts_count:
        headers["x-amz-mp-parts-count"] = str(v.parts_count)
    if v.tags:
        headers["x-amz-tagging-count"] = str(len(v.tags))
    headers.update(_overrides(call))
    return headers


def _overrides(call: Call) -> dict[str, str]:
    """response-content-type and friends: signed requests only (as S3), plain values."""
    found = {name: call.q(param) for param, name in _OVERRIDES.items() if call.has(param)}
    if found and call.principal is None:
        raise S3Invalid("InvalidRequest", "Request specific response headers cannot be used "
                        "for anonymous GET requests.")  # fmt: skip
    for name, value in found.items():
        if value is None or any(ord(c) < 32 or ord(c) > 255 for c in value):
            raise S3Invalid("InvalidArgument", f"the {name} override has characters a header "
                            "cannot carry")  # fmt: skip
    return {name: value for name, value in found.items() if value is not None}


async def put_object(call: Call) -> None:
    object_acl(call)
    if call.header("x-amz-copy-source"):
        await copy_object(call)
        return
    p = call.signed_in
    sse = call.header("x-amz-server-side-encryption")
    if sse and sse != "AES256":
        raise S3Invalid("InvalidArgument", f"server-side encryption {sse!r} is not supported: "
                        "every object is encrypted with AES256 (or SSE-C)")  # fmt: skip
    expect = conditions(call)
    version = await call.container.objects.put(
        p, call.bucket, call.key, RequestBody(call), attrs_of(call), customer_key(call),
        expect if expect.if_match or expect.if_none_match else None,
    )  # fmt: skip
    headers = {**call.base_headers(), "etag": version.etag}
    headers.update(_write_headers(version))
    await respond(call.send, 200, headers)


def _write_headers(v: ObjectVersion) -> dict[str, str]:
    headers = {f"x-amz-checksum-{a.lower()}": value for a, value in v.checksums.items()}
    if v.version_id != "null":
        headers["x-amz-version-id"] = v.version_id
    if v.sse_customer_key_md5:
        headers[_SSE_C + "algorithm"] = "AES256"
        headers[_SSE_C + "key-md5"] = v.sse_customer_key_md5
    else:
        headers["x-amz-server-side-encryption"] = "AES256"
    return headers


def copy_source(call: Call) -> tuple[str, str, str | None]:
    """x-amz-copy-source: `bucket/key` or `/bucket/key`, URL-encoded, maybe `?versionId=`."""
    raw = call.header("x-amz-copy-source")
    path, _, query = raw.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Invalid("InvalidArgument", "Copy Source must mention the source bucket and key: "
                        "sourcebucket/sourcekey")  # fmt: skip
    version = query.removeprefix("versionId=") if query.startswith("versionId=") else ""
    return bucket, key, version or None


async def copy_object(call: Call) -> None:
    await small_body(call)
    directive = call.header("x-amz-metadata-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Invalid("InvalidArgument", "Unknown metadata directive.")
    tagging = call.header("x-amz-tagging-directive", "COPY").upper()
    if tagging not in ("COPY", "REPLACE"):
        raise S3Invalid("InvalidArgument", "Unknown tagging directive.")
    source = copy_source(call)
    if source[:2] == (call.bucket, call.key) and directive == "COPY" and source[2] is None:
        raise S3Invalid(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location "
            "or encryption attributes.",
        )
    src, made = await call.container.objects.copy(
        call.signed_in, source, (call.bucket, call.key),
        attrs_of(call) if directive == "REPLACE" else None,
        conditions(call, "x-amz-copy-source-"),
        (customer_key(call, "x-amz-copy-source-" + _SSE_C), customer_key(call)),
        tagging_header(call) if tagging == "REPLACE" else None,
    )  # fmt: skip
    headers = {**call.base_headers(), **_write_headers(made)}
    if src.version_id != "null":
        headers["x-amz-copy-source-version-id"] = src.version_id
    body = xml_out.copy_object_result(made.etag, made.last_modified, made.checksums)
    await respond_xml(call.send, body, headers)


async def get_object(call: Call, head: bool = False) -> None:
    byte_range = parse_range(call.header("range")) if call.header("range") else None
    part = call.q("partNumber")
    if part is not None and part != "1":
        raise S3Invalid("InvalidArgument", "only partNumber=1 (the whole object) is supported")
    try:
        got = await call.container.objects.open(
            call.principal, call.bucket, call.key, version_id=call.q("versionId"),
            byte_range=byte_range, conditions=conditions(call),
            customer=customer_key(call), body=not head,
        )  # fmt: skip
    except NotModified as exc:
        headers = {**call.base_headers(), "etag": exc.etag,
                   "last-modified": http_date(exc.last_modified)}  # fmt: skip
        await respond(call.send, 304, headers, head=True)
        return
    headers = object_headers(call, got.version, got.partial)
    headers["content-length"] = str(got.stop - got.start)
    status = 200
    if got.partial:
        status = 206
        headers["content-range"] = f"bytes {got.start}-{got.stop - 1}/{got.version.size}"
    if head or got.body is None:
        await call.send({"type": "http.response.start", "status": status,
                         "headers": [(k.encode(), v.encode("latin-1", "replace"))
                                     for k, v in headers.items()]})  # fmt: skip
        await call.send({"type": "http.response.body", "body": b""})
        return
    first = await _first(got.body)  # a missing or damaged blob fails before the headers go
    call.started = True
    await stream(call.send, status, headers, got.body, first, call.receive)


async def _first(body: AsyncIterator[bytes]) -> bytes:
    try:
        return await anext(body)
    except StopAsyncIteration:
        return b""


async def head_object(call: Call) -> None:
    await get_object(call, head=True)


async def delete_object(call: Call) -> None:
    removal = await call.container.objects.delete(
        call.signed_in, call.bucket, call.key, call.q("versionId")
    )
    headers = call.base_headers()
    if removal.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    if removal.version_id:
        headers["x-amz-version-id"] = removal.version_id
    await respond(call.send, 204, headers)


async def delete_objects(call: Call) -> None:
    body = await small_body(call)
    entries, quiet = xml_in.delete_objects(body)
    results = await call.container.objects.delete_many(call.signed_in, call.bucket, entries)
    deleted, errors = [], []
    for (_, requested), result in zip(entries, results, strict=True):
        if isinstance(result, tuple):
            errors.append(result)
        else:
            marker = result.delete_marker
            version = None if marker or not result.version_id else result.version_id
            deleted.append((result.key, requested or version, marker,
                            result.version_id if marker else None))  # fmt: skip
    await respond_xml(call.send, xml_out.delete_result(deleted, errors, quiet), call.base_headers())


async def get_tagging(call: Call) -> None:
    version = await call.container.objects.tags(
        call.signed_in, call.bucket, call.key, call.q("versionId")
    )
    await respond_xml(call.send, xml_out.tagging(version.tags), _tagged_headers(call, version))


async def put_tagging(call: Call) -> None:
    tags = xml_in.tagging(await small_body(call))
    version = await call.container.objects.set_tags(
        call.signed_in, call.bucket, call.key, tags, call.q("versionId")
    )
    await respond(call.send, 200, _tagged_headers(call, version))


async def delete_tagging(call: Call) -> None:
    version = await call.container.objects.set_tags(
        call.signed_in, call.bucket, call.key, {}, call.q("versionId"), delete=True
    )
    await respond(call.send, 204, _tagged_headers(call, version))


def _tagged_headers(call: Call, v: ObjectVersion) -> dict[str, str]:
    headers = call.base_headers()
    if v.version_id != "null":
        headers["x-amz-version-id"] = v.version_id
    return headers
