"""Multipart uploads (`/storage/multipart/...`) and presigning object URLs over REST."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import Field

from thecloud.domain.objects import MAX_PARTS, ObjectAttrs
from thecloud.entrypoints.api.deps import CurrentPrincipal, Services, idempotent
from thecloud.entrypoints.api.envelope import no_content, ok
from thecloud.entrypoints.api.errors import RESPONSES
from thecloud.entrypoints.api.routes.storage import stored_object
from thecloud.entrypoints.api.routes.storage_objects import RAW_BODY, StreamedBody
from thecloud.entrypoints.api.schemas import Body
from thecloud.services.object_presign import MAX_EXPIRES_SECONDS, Grant

router = APIRouter(prefix="/storage", tags=["object storage"], responses=RESPONSES)


class InitMultipartRequest(Body):
    content_type: str = Field(default="binary/octet-stream", max_length=256)
    metadata: dict[str, str] = Field(default_factory=dict, description="x-amz-meta-* values")
    tags: dict[str, str] = Field(default_factory=dict, description="the object's tags (<= 10)")


class CompletedPart(Body):
    part_number: int = Field(ge=1, le=MAX_PARTS)
    etag: str = Field(min_length=1, max_length=80)


class CompleteMultipartRequest(Body):
    parts: list[CompletedPart] = Field(min_length=1, max_length=MAX_PARTS)


class PresignRequest(Body):
    method: Literal["GET", "PUT"] = "GET"
    expires_in: int = Field(default=3600, ge=1, le=MAX_EXPIRES_SECONDS, description="seconds")


def presigned_url(request: Request, grant: Grant) -> str:
    path = f"storage/presigned/{quote(grant.bucket)}/{quote(grant.key, safe='/')}"
    query = {
        "expires": grant.expires, "tenant_id": grant.tenant_id,
        "principal_id": grant.principal_id, "signature": grant.signature,
    }  # fmt: skip
    return f"{request.base_url}{path}?{urlencode(query)}"


@router.post("/multipart/init/{bucket}/{key:path}", status_code=201)
async def init_multipart_upload(
    request: Request, bucket: str, key: str, p: CurrentPrincipal, c: Services,
    body: InitMultipartRequest | None = None,
) -> Response:  # fmt: skip
    """Start a multipart upload of the key; send its parts with the `upload_id`."""
    spec = body or InitMultipartRequest()

    async def run() -> Response:
        attrs = ObjectAttrs(spec.content_type, {}, spec.metadata, spec.tags)
        upload = await c.multipart.create(p, bucket, key, attrs)
        shaped = {"upload_id": upload.id, "bucket": bucket, "key": key}
        return ok(request, {**shaped, "initiated_at": upload.initiated_at}, 201)

    return await idempotent(request, p, {"bucket": bucket, "key": key, **spec.model_dump()}, run)


@router.put("/multipart/upload/{upload_id}/parts", openapi_extra=RAW_BODY)
async def upload_part(
    request: Request, upload_id: str, p: CurrentPrincipal, c: Services,
    part_number: Annotated[int, Query(ge=1, le=MAX_PARTS)],
) -> Response:  # fmt: skip
    """Send part `part_number` as the raw body (5 MiB at least, but for the last part);
    sending a number again replaces that part. Keep the `etag` for the completion."""
    bucket, upload = await c.multipart.find_upload(p, upload_id)
    target = (bucket.name, upload.key, upload.id, part_number)
    part = await c.multipart.upload_part(p, target, StreamedBody(request))
    shaped = {"upload_id": upload.id, "part_number": part.number, "size": part.size}
    return ok(request, {**shaped, "etag": part.etag.strip('"')})


@router.post("/multipart/complete/{upload_id}")
async def complete_multipart_upload(
    request: Request, upload_id: str, body: CompleteMultipartRequest, p: CurrentPrincipal,
    c: Services,
) -> Response:  # fmt: skip
    """Join the listed parts, in order, into the object (parts not listed are dropped)."""
    bucket, upload = await c.multipart.find_upload(p, upload_id)
    parts = [(part.part_number, part.etag) for part in body.parts]
    made = await c.multipart.complete(p, bucket.name, upload.key, upload.id, parts)
    return ok(request, stored_object(made))


@router.delete("/multipart/abort/{upload_id}", status_code=204)
async def abort_multipart_upload(upload_id: str, p: CurrentPrincipal, c: Services) -> Response:
    """Abandon the upload; its parts are deleted."""
    bucket, upload = await c.multipart.find_upload(p, upload_id, "s3:AbortMultipartUpload")
    await c.multipart.abort(p, bucket.name, upload.key, upload.id)
    return no_content()


@router.post("/presign/{bucket}/{key:path}")
async def presign_object(
    request: Request, bucket: str, key: str, p: CurrentPrincipal, c: Services,
    body: PresignRequest | None = None,
) -> Response:  # fmt: skip
    """A URL anyone may use, without credentials, to GET (download) or PUT (upload) this one
    object as you, for `expires_in` seconds (at most 7 days)."""
    spec = body or PresignRequest()
    grant = await c.presigner.sign(p, spec.method, bucket, key, spec.expires_in)
    data = {"url": presigned_url(request, grant), "method": grant.method}
    return ok(request, {**data, "expires_at": grant.expires_at})
