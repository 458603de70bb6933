"""Multipart S3 operations: create, upload part (and part copy), list parts and uploads,
complete, abort."""

from __future__ import annotations

from typing import TYPE_CHECKING

from thecloud.domain.objects import S3Invalid, parse_range
from thecloud.entrypoints.s3 import xml_in, xml_out
from thecloud.entrypoints.s3.body import RequestBody
from thecloud.entrypoints.s3.object_ops import (
    _SSE_C,
    attrs_of,
    conditions,
    copy_source,
    customer_key,
    object_acl,
    small_body,
)
from thecloud.entrypoints.s3.responses import respond, respond_xml

if TYPE_CHECKING:
    from thecloud.entrypoints.s3.app import Call

CHECKSUMS = ("CRC32", "CRC32C", "SHA1", "SHA256")


def _part_number(call: Call) -> int:
    """1-10000: the service refuses 0 and anything above (10001 here) with the limits."""
    return call.integer("partNumber", 0, 10_001)


def _upload_id(call: Call) -> str:
    return call.q("uploadId") or ""


async def create(call: Call) -> None:
    object_acl(call)
    await small_body(call)
    algorithm = call.header("x-amz-checksum-algorithm").upper()
    if algorithm and algorithm not in CHECKSUMS:
        raise S3Invalid("InvalidRequest", f"checksum algorithm {algorithm} is not supported; "
                        f"use one of {', '.join(CHECKSUMS)}")  # fmt: skip
    upload = await call.container.multipart.create(
        call.signed_in, call.bucket, call.key, attrs_of(call), algorithm, customer_key(call)
    )
    headers = call.base_headers()
    if algorithm:
        headers["x-amz-checksum-algorithm"] = algorithm
    body = xml_out.initiate_multipart(call.bucket, call.key, upload.id)
    await respond_xml(call.send, body, headers)


async def upload_part(call: Call) -> None:
    target = (call.bucket, call.key, _upload_id(call), _part_number(call))
    if call.header("x-amz-copy-source"):
        await _copy_part(call, target)
        return
    part = await call.container.multipart.upload_part(
        call.signed_in, target, RequestBody(call), customer_key(call)
    )
    headers = {**call.base_headers(), "etag": part.etag}
    headers.update({f"x-amz-checksum-{a.lower()}": v for a, v in part.checksums.items()})
    await respond(call.send, 200, headers)


async def _copy_part(call: Call, target: tuple[str, str, str, int]) -> None:
    await small_body(call)
    raw_range = call.header("x-amz-copy-source-range")
    byte_range = parse_range(raw_range) if raw_range else None
    if raw_range and byte_range is None:
        raise S3Invalid("InvalidArgument", "The x-amz-copy-source-range value must be of the "
                        "form bytes=first-last where first and last are the zero-based offsets "
                        "of the first and last bytes to copy")  # fmt: skip
    src, part = await call.container.multipart.copy_part(
        call.signed_in, target, copy_source(call), byte_range,
        conditions(call, "x-amz-copy-source-"),
        (customer_key(call, "x-amz-copy-source-" + _SSE_C), customer_key(call)),
    )  # fmt: skip
    headers = call.base_headers()
    if src.version_id != "null":
        headers["x-amz-copy-source-version-id"] = src.version_id
    body = xml_out.copy_part_result(part.etag, part.last_modified, part.checksums)
    await respond_xml(call.send, body, headers)


async def list_parts(call: Call) -> None:
    marker, max_parts = (
        call.integer("part-number-marker", 0, 10_000),
        call.integer("max-parts", 1000, 1000),
    )
    found = await call.container.multipart.list_parts(
        call.signed_in, call.bucket, call.key, _upload_id(call), marker, max_parts
    )
    body = xml_out.list_parts(
        call.bucket, found.upload, found.parts, part_number_marker=marker,
        next_part_number_marker=found.next_marker or None,
        max_parts=max_parts, is_truncated=found.truncated,
        owner_id=found.upload.tenant_id,
    )  # fmt: skip
    await respond_xml(call.send, body, call.base_headers())


async def list_uploads(call: Call) -> None:
    prefix, delimiter = call.q("prefix") or "", call.q("delimiter") or ""
    key_marker, upload_marker = call.q("key-marker") or "", call.q("upload-id-marker") or ""
    max_uploads = call.integer("max-uploads", 1000, 1000)
    found = await call.container.multipart.list_uploads(
        call.signed_in, call.bucket, prefix, delimiter, key_marker, upload_marker,
        max_uploads,
    )  # fmt: skip
    body = xml_out.list_multipart_uploads(
        call.bucket, found.uploads, found.prefixes, prefix=prefix, delimiter=delimiter,
        key_marker=key_marker, upload_id_marker=upload_marker,
        next_key_marker=found.next_key_marker, next_upload_id_marker=found.next_upload_marker,
        max_uploads=max_uploads, is_truncated=found.truncated,
        owner_id=found.bucket.tenant_id,
    )  # fmt: skip
    await respond_xml(call.send, body, call.base_headers())


async def complete(call: Call) -> None:
    entries = xml_in.complete_multipart(await small_body(call))
    version = await call.container.multipart.complete(
        call.signed_in, call.bucket, call.key, _upload_id(call),
        [(number, etag) for number, etag, _ in entries],
    )  # fmt: skip
    headers = call.base_headers()
    if version.version_id != "null":
        headers["x-amz-version-id"] = version.version_id
    location = f"/{call.bucket}/{call.key}"
    body = xml_out.complete_multipart(
        location, call.bucket, call.key, version.etag, version.checksums
    )
    await respond_xml(call.send, body, headers)


async def abort(call: Call) -> None:
    await call.container.multipart.abort(call.signed_in, call.bucket, call.key, _upload_id(call))
    await respond(call.send, 204, call.base_headers())
