"""Small objects kept in their metadata row (THECLOUD_S3_INLINE_MAX), on fakes: the store gets
no blob for them, yet everything an object does still works (get, ranges, head, copy both
ways across the threshold, versions, overwrite, delete, SSE-C), the threshold is exact,
multipart parts always go to blobs, listings do not carry the bytes, and altered inline
data fails authentication instead of being served."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from tests.unit.conftest import Account, Harness, WatchedBus, unit_settings
from tests.unit.test_objects import (
    Body,
    blobs,
    code,
    customer_key,
    etag_of,
    member_with_key,
    new_bucket,
    put,
    read,
    versions_of,
)
from thecloud.bootstrap import Adapters, Container, bootstrap
from thecloud.domain.errors import CloudError
from thecloud.domain.objects import ByteRange, ObjectAttrs, S3Forbidden, S3Invalid, S3NotFound

LIMIT = 1024  # the inline threshold of these tests, bytes


@pytest.fixture
async def cloud(adapters: Adapters, bus: WatchedBus) -> AsyncIterator[Container]:
    settings = unit_settings().model_copy(update={"s3_inline_max": LIMIT})
    container = bootstrap(settings, adapters=adapters, bus=bus)
    await container.start()
    yield container
    await container.close()


def only_segment_inline(version: object) -> bool:
    segments = version.segments  # type: ignore[attr-defined]
    return len(segments) == 1 and segments[0].inline


async def test_a_small_object_is_kept_inline_and_reads_back_whole_and_in_ranges(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    data = bytes(range(256)) * 4  # exactly LIMIT bytes: still inline
    made = await put(h, p, "photos", "small", data, ObjectAttrs("text/plain"))
    assert only_segment_inline(made) and made.size == LIMIT and made.etag == etag_of(data)
    assert not blobs(h).blobs and not blobs(h).staging  # no blob, not even a staged one
    assert made.segments[0].data is not None  # (encrypted: tests/integration/test_data_keys.py)
    assert await read(h, p, "photos", "small") == data
    assert await read(h, p, "photos", "small", byte_range=ByteRange(10, 19)) == data[10:20]
    assert await read(h, p, "photos", "small", byte_range=ByteRange(suffix=5)) == data[-5:]
    head = await h.cloud.objects.open(p, "photos", "small", body=False)
    assert head.body is None and head.version.content_type == "text/plain"
    assert blobs(h).reads == 0  # nothing was read from the store


async def test_one_byte_over_the_threshold_goes_to_a_blob_and_empty_bodies_stay_inline(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    big = await put(h, p, "photos", "big", b"x" * (LIMIT + 1))
    assert not big.segments[0].inline and big.segments[0].blob_id in blobs(h).blobs
    assert await read(h, p, "photos", "big") == b"x" * (LIMIT + 1)
    empty = await put(h, p, "photos", "empty", b"")
    assert only_segment_inline(empty) and empty.size == 0
    assert await read(h, p, "photos", "empty") == b""
    assert set(blobs(h).blobs) == {big.segments[0].blob_id}


async def test_a_body_that_fails_its_checks_leaves_nothing_inline_or_in_the_store(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    bad = Body(b"small body", fail=S3Invalid("BadDigest", "checksum mismatch"))
    with pytest.raises(S3Invalid):
        await h.cloud.objects.put(p, "photos", "k", bad, ObjectAttrs())
    assert not await versions_of(h, p, "photos", "k")
    assert not blobs(h).blobs and not blobs(h).staging


class Counted(Body):
    """A body that counts the bytes the service took from it."""

    taken = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in super().chunks():
            self.taken += len(chunk)
            yield chunk


async def test_a_small_put_is_authorized_in_its_transaction_and_a_large_one_before_its_data(
    h: Harness, owner: Account
) -> None:
    """A body kept inline is authorized once, where it is made current; one going to a blob
    is authorized before any of it is stored. Either way a refusal stores nothing."""
    p = owner.principal
    await new_bucket(h, p)
    made = await put(h, p, "photos", "k", b"mine")
    viewer, _ = await member_with_key(h, owner, "viewer")
    for size in (10, LIMIT, LIMIT + 1, LIMIT * 8):
        body = Counted(b"v" * size, piece=100)
        with pytest.raises(S3Forbidden) as exc:
            await h.cloud.objects.put(viewer, "photos", "k", body, ObjectAttrs())
        assert code(exc) == "AccessDenied"
        assert body.taken <= LIMIT + 100  # at most the threshold and one piece were read
        missing = Counted(b"m" * size, piece=100)
        with pytest.raises(S3NotFound) as exc:
            await h.cloud.objects.put(p, "nope", "k", missing, ObjectAttrs())
        assert code(exc) == "NoSuchBucket" and missing.taken <= LIMIT + 100
    assert not blobs(h).blobs and not blobs(h).staging
    assert [v.version_id for v in await versions_of(h, p, "photos", "k")] == [made.version_id]
    assert await read(h, p, "photos", "k") == b"mine"


async def test_overwrites_versions_and_deletes_of_inline_objects(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    first = await put(h, p, "photos", "k", b"one")
    second = await put(h, p, "photos", "k", b"two")
    assert await read(h, p, "photos", "k") == b"two"
    old = await read(h, p, "photos", "k", version_id=first.version_id)
    assert old == b"one"
    # a listing returns the versions without their bytes; reading goes by a point lookup
    listed = await versions_of(h, p, "photos", "k")
    assert [v.version_id for v in listed] == [second.version_id, first.version_id]
    assert all(s.inline and s.data is None for v in listed for s in v.segments)
    await h.cloud.objects.delete(p, "photos", "k", second.version_id)
    assert await read(h, p, "photos", "k") == b"one"  # the older version is current again
    await h.cloud.objects.delete(p, "photos", "k", first.version_id)
    assert not await versions_of(h, p, "photos", "k")
    assert not blobs(h).blobs


async def test_unversioned_overwrite_between_inline_and_blob_removes_the_blob_it_replaced(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"b" * (LIMIT * 2))
    assert len(blobs(h).blobs) == 1
    await put(h, p, "photos", "k", b"small now")
    assert not blobs(h).blobs and await read(h, p, "photos", "k") == b"small now"
    await put(h, p, "photos", "k", b"c" * (LIMIT * 2))
    assert len(blobs(h).blobs) == 1 and await read(h, p, "photos", "k") == b"c" * (LIMIT * 2)


async def test_copy_across_the_threshold_both_ways(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "small", b"s" * 100)
    await put(h, p, "photos", "large", b"L" * (LIMIT * 3))
    _, copied = await h.cloud.objects.copy(p, ("photos", "small", None), ("photos", "c1"), None)
    assert only_segment_inline(copied) and await read(h, p, "photos", "c1") == b"s" * 100
    _, big = await h.cloud.objects.copy(p, ("photos", "large", None), ("photos", "c2"), None)
    assert not big.segments[0].inline
    assert await read(h, p, "photos", "c2") == b"L" * (LIMIT * 3)


async def test_sse_c_inline_objects_need_their_key(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    key = customer_key(7)
    made = await put(h, p, "photos", "secret", b"customer data", customer=key)
    assert only_segment_inline(made)
    assert await read(h, p, "photos", "secret", customer=key) == b"customer data"
    with pytest.raises(S3Invalid):
        await read(h, p, "photos", "secret")


async def test_multipart_parts_go_to_blobs_even_when_small(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    upload = await h.cloud.multipart.create(p, "photos", "mp", ObjectAttrs())
    part = await h.cloud.multipart.upload_part(p, ("photos", "mp", upload.id, 1), Body(b"tiny"))
    assert not part.segment.inline and part.segment.blob_id in blobs(h).blobs
    made = await h.cloud.multipart.complete(p, "photos", "mp", upload.id, [(1, part.etag)])
    assert not any(s.inline for s in made.segments)
    assert await read(h, p, "photos", "mp") == b"tiny"


async def test_altered_inline_data_fails_authentication(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    made = await put(h, p, "photos", "k", b"genuine bytes")
    segment = made.segments[0]
    assert segment.data is not None
    tampered = replace(segment, data=segment.data[:-1] + bytes([segment.data[-1] ^ 1]))
    got = h.cloud.objects._data.read(made.tenant_id, [tampered], 0, made.size, None)
    with pytest.raises(CloudError, match="failed authentication"):
        [piece async for piece in got]
    unloaded = h.cloud.objects._data.read(
        made.tenant_id, [replace(segment, data=None)], 0, made.size, None
    )
    with pytest.raises(CloudError, match="not loaded"):
        [piece async for piece in unloaded]
