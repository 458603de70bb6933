"""Objects over REST (`/storage/{bucket}/{key}`, streamed both ways), listings, versions and
presigned URLs; registered after every other `/storage/...` router (its paths catch all)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from email.utils import format_datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from thecloud.bootstrap import Container
from thecloud.domain.common import DEFAULT_LIMIT
from thecloud.domain.identity import Principal
from thecloud.domain.objects import (
    NULL_VERSION,
    STORED_HEADERS,
    ObjectAttrs,
    ObjectVersion,
    S3Invalid,
    parse_range,
    parse_tagging,
)
from thecloud.entrypoints.api.deps import (
    CurrentPrincipal,
    Services,
    authenticate,
    credentials,
    request_context,
    tenant_header,
)
from thecloud.entrypoints.api.envelope import JSONResponse, Limit, meta, ok
from thecloud.entrypoints.api.errors import PUBLIC, RESPONSES
from thecloud.entrypoints.api.routes.storage import stored_object
from thecloud.ports.objects import PayloadDigest
from thecloud.services.object_presign import Grant
from thecloud.services.objects import Download

router = APIRouter(prefix="/storage", tags=["object storage"], responses=RESPONSES)
META_PREFIXES = ("x-amz-meta-", "x-meta-")
BINARY = {"schema": {"type": "string", "format": "binary"}}
RAW_BODY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/octet-stream": BINARY}}
}
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {"description": "the object, in its own Content-Type", "content": {"*/*": BINARY}},
    206: {"description": "the requested range (Range header)", "content": {"*/*": BINARY}},
}
VersionId = Annotated[str | None, Query(max_length=64, description="a version, not the latest")]


class StreamedBody:
    """A request body as the object services read it (a Payload): taken as it arrives, its
    MD5 computed on the way and checked against Content-MD5 when one was sent."""

    def __init__(self, request: Request) -> None:
        self._request, self._md5 = request, hashlib.md5()  # noqa: S324 - the ETag is an MD5
        self._expected = _content_md5(request.headers.get("content-md5"))

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._request.stream():
            self._md5.update(chunk)
            yield chunk

    def digest(self) -> PayloadDigest:
        md5 = self._md5.digest()
        if self._expected is not None and md5 != self._expected:
            raise S3Invalid("BadDigest", "The Content-MD5 you specified did not match the body")
        return PayloadDigest(md5, {})


def _content_md5(header: str | None) -> bytes | None:
    if header is None:
        return None
    try:
        md5 = base64.b64decode(header, validate=True)
    except ValueError:  # binascii.Error, or characters that are not ASCII
        md5 = b""
    if len(md5) != 16:
        raise S3Invalid("InvalidDigest", "Content-MD5 must be the base64 of a 16-byte MD5")
    return md5


def attrs_of(request: Request) -> ObjectAttrs:
    """Content-Type, the content headers S3 keeps, and X-Meta-* / x-amz-meta-* metadata."""
    h = request.headers
    metadata = {
        name[len(prefix) :]: value
        for name, value in h.items()
        for prefix in META_PREFIXES
        if name.startswith(prefix)
    }
    stored = {name: h[name] for name in STORED_HEADERS if name in h}
    content_type = h.get("content-type") or "binary/octet-stream"
    return ObjectAttrs(content_type, stored, metadata, parse_tagging(h.get("x-amz-tagging", "")))


def object_headers(v: ObjectVersion) -> dict[str, str]:
    headers = {
        "etag": v.etag, "last-modified": format_datetime(v.last_modified, usegmt=True),
        "content-type": v.content_type, "accept-ranges": "bytes", **v.headers,
    }  # fmt: skip
    headers.update({f"x-amz-meta-{k}": val for k, val in v.metadata.items()})
    if v.version_id != NULL_VERSION:
        headers["x-amz-version-id"] = v.version_id
    if v.tags:
        headers["x-amz-tagging-count"] = str(len(v.tags))
    return headers


def downloaded(got: Download) -> Response:
    """The object (or the requested range) streamed as it is read and decrypted."""
    headers = {**object_headers(got.version), "content-length": str(got.stop - got.start)}
    status = 206 if got.partial else 200
    if got.partial:
        headers["content-range"] = f"bytes {got.start}-{got.stop - 1}/{got.version.size}"
    if got.body is None:
        return Response(status_code=status, headers=headers)
    return StreamingResponse(got.body, status, headers, media_type=got.version.content_type)


async def maybe_principal(request: Request) -> Principal | None:
    """The caller if they sent credentials; None reads public-read buckets only."""
    key, bearer = credentials(request)
    if not key and not bearer:
        return None
    return await authenticate(request, tenant_header(request), key, bearer)


async def _open(request: Request, c: Container, p: Principal | None, bucket: str, key: str,
                version_id: str | None, head: bool = False) -> Response:  # fmt: skip
    header = request.headers.get("range")
    got = await c.objects.open(
        p, bucket, key, version_id=version_id, body=not head,
        byte_range=parse_range(header) if header else None,
    )  # fmt: skip
    return downloaded(got)


def _token(text: str) -> str:
    try:
        padded = text + "=" * (-len(text) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except ValueError as exc:  # not base64 (or ASCII), or not UTF-8
        raise S3Invalid("InvalidArgument", "the cursor is not one this API returned") from exc


def _cursor(marker: str) -> str | None:
    return base64.urlsafe_b64encode(marker.encode()).decode().rstrip("=") if marker else None


def cursor_page(request: Request, data: dict[str, Any], cursor: str | None) -> JSONResponse:
    body = {**data, "next_cursor": cursor}
    return JSONResponse({"data": body, "meta": meta(request, has_more=bool(cursor),
                                                    next_cursor=cursor)})  # fmt: skip


# --- versions and presigned URLs (before the catch-all object routes) ---------------------


@router.get("/versions/{bucket}/{key:path}")
async def list_object_versions(
    request: Request, bucket: str, key: str, p: CurrentPrincipal, c: Services,
    limit: Limit = DEFAULT_LIMIT, cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JSONResponse:  # fmt: skip
    """Every version of one key and its delete markers, newest first; `cursor` continues."""
    found = await c.listing.versions(
        p, bucket, prefix=key, key_marker=key if cursor else "", version_marker=cursor or "",
        max_keys=limit + 1,
    )  # fmt: skip
    mine = [v for v in found.entries if v.key == key]
    more = mine[limit - 1].version_id if len(mine) > limit else None
    data = {"bucket": bucket, "key": key, "versions": [stored_object(v) for v in mine[:limit]]}
    return cursor_page(request, data, more)


def grant_of(method: str, bucket: str, key: str, q: Any) -> Grant:
    """The grant a presigned URL's query carries (a missing part fails its signature)."""
    expires = q.get("expires", "")
    return Grant(
        method, bucket, key, int(expires) if expires.isascii() and expires.isdigit() else 0,
        q.get("tenant_id", ""), q.get("principal_id", ""), q.get("signature", ""),
    )  # fmt: skip


@router.get("/presigned/{bucket}/{key:path}", openapi_extra=PUBLIC, responses=DOWNLOAD,
            response_class=Response)  # fmt: skip
async def presigned_download(
    request: Request, bucket: str, key: str, c: Services, version_id: VersionId = None
) -> Response:
    """Download with a presigned URL (no other credentials): as its signer, until it expires;
    403 when the signature does not match or has expired."""
    grant = grant_of("GET", bucket, key, request.query_params)
    p = await c.presigner.principal(grant, request_context(request))
    return await _open(request, c, p, bucket, key, version_id)


@router.put("/presigned/{bucket}/{key:path}", status_code=201, openapi_extra=PUBLIC | RAW_BODY)
async def presigned_upload(request: Request, bucket: str, key: str, c: Services) -> Response:
    """Upload the body with a presigned PUT URL (no other credentials needed)."""
    grant = grant_of("PUT", bucket, key, request.query_params)
    p = await c.presigner.principal(grant, request_context(request))
    made = await c.objects.put(p, bucket, key, StreamedBody(request), attrs_of(request))
    return ok(request, stored_object(made), 201)


# --- object tags (before the catch-all object routes) -----------------------------------------


class TagSet(BaseModel):
    tags: dict[str, str] = Field(
        description="the object's whole tag set, replacing the one it has: at most 10 tags, "
        "keys of 1-128 and values of 0-256 characters, no key starting with aws:"
    )


def tagged(bucket: str, v: ObjectVersion) -> dict[str, Any]:
    return {"bucket": bucket, "key": v.key, "version_id": v.version_id, "tags": dict(v.tags)}


@router.get("/buckets/{bucket}/object-tags/{key:path}")
async def get_object_tags(
    request: Request, bucket: str, key: str, p: CurrentPrincipal, c: Services,
    version_id: VersionId = None,
) -> JSONResponse:  # fmt: skip
    """The tags of an object (its latest version, or `version_id`)."""
    return ok(request, tagged(bucket, await c.objects.tags(p, bucket, key, version_id)))


@router.put("/buckets/{bucket}/object-tags/{key:path}")
async def put_object_tags(
    request: Request, bucket: str, key: str, body: TagSet, p: CurrentPrincipal, c: Services,
    version_id: VersionId = None,
) -> JSONResponse:  # fmt: skip
    """Replace the tags of an object (its latest version, or `version_id`). Tags are not
    data: the object keeps its version, ETag and Last-Modified."""
    made = await c.objects.set_tags(p, bucket, key, body.tags, version_id)
    return ok(request, tagged(bucket, made))


@router.delete("/buckets/{bucket}/object-tags/{key:path}")
async def delete_object_tags(
    request: Request, bucket: str, key: str, p: CurrentPrincipal, c: Services,
    version_id: VersionId = None,
) -> JSONResponse:  # fmt: skip
    """Remove every tag of an object (its latest version, or `version_id`)."""
    made = await c.objects.set_tags(p, bucket, key, {}, version_id, delete=True)
    return ok(request, tagged(bucket, made))


# --- objects --------------------------------------------------------------------------------


@router.put("/{bucket}/{key:path}", status_code=201, openapi_extra=RAW_BODY)
async def put_object(
    request: Request, bucket: str, key: str, p: CurrentPrincipal, c: Services
) -> Response:
    """Upload the raw request body as the object (streamed, up to 5 GiB; larger files go in
    multipart uploads). Content-Type is kept, X-Meta-* / x-amz-meta-* headers become its
    metadata, and Content-MD5 is checked when sent."""
    made = await c.objects.put(p, bucket, key, StreamedBody(request), attrs_of(request))
    return ok(request, stored_object(made), 201)


@router.get("/{bucket}/{key:path}", responses=DOWNLOAD, response_class=Response)
async def get_object(
    request: Request, bucket: str, key: str, c: Services, version_id: VersionId = None
) -> Response:
    """Download an object (the latest version, or `version_id`), streamed; a `Range:
    bytes=...` header gets a 206. Public-read buckets need no credentials."""
    return await _open(request, c, await maybe_principal(request), bucket, key, version_id)


@router.head("/{bucket}/{key:path}", responses=DOWNLOAD, response_class=Response)
async def head_object(
    request: Request, bucket: str, key: str, c: Services, version_id: VersionId = None
) -> Response:
    """An object's headers (size, ETag, Last-Modified, Content-Type, metadata), no body."""
    p = await maybe_principal(request)
    return await _open(request, c, p, bucket, key, version_id, head=True)


@router.delete("/{bucket}/{key:path}", status_code=204)
async def delete_object(
    bucket: str, key: str, p: CurrentPrincipal, c: Services, version_id: VersionId = None
) -> Response:
    """Delete an object: gone if the bucket is unversioned, else hidden behind a delete
    marker; with `version_id`, that version is removed for good."""
    gone = await c.objects.delete(p, bucket, key, version_id)
    headers = {"x-amz-delete-marker": str(gone.delete_marker).lower()}
    if gone.version_id:
        headers["x-amz-version-id"] = gone.version_id
    return Response(status_code=204, headers=headers)


@router.get("/{bucket}")
async def list_objects(
    request: Request, bucket: str, c: Services, limit: Limit = DEFAULT_LIMIT,
    prefix: Annotated[str, Query(max_length=1024)] = "",
    delimiter: Annotated[str, Query(max_length=16, description="e.g. / for folders")] = "",
    after: Annotated[str, Query(max_length=1024, description="keys after this one")] = "",
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> JSONResponse:  # fmt: skip
    """Objects by key (UTF-8 byte order) under `prefix`; with a `delimiter` the keys past it
    roll up into `prefixes`. `meta.next_cursor` (also `data.next_cursor`) continues."""
    start = _token(cursor) if cursor else after
    found = await c.listing.objects(
        await maybe_principal(request), bucket, prefix, delimiter, start, limit
    )
    data = {"bucket": bucket, "objects": [stored_object(v) for v in found.entries],
            "prefixes": found.prefixes}  # fmt: skip
    return cursor_page(request, data, _cursor(found.next_marker) if found.truncated else None)
