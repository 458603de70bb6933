"""Multipart uploads on fakes: parts in any order, replaced parts, listing parts and uploads,
completing (S3's ETag and composite checksums, part size rules, unnamed parts dropped),
aborting, and that the data of whatever is dropped leaves the store."""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
import zlib
from typing import Any

import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_objects import (
    Body,
    blob_ids,
    blobs,
    code,
    customer_key,
    etag_of,
    new_bucket,
    put,
    read,
    versions_of,
)
from thecloud.domain.identity import Principal
from thecloud.domain.objects import (
    MIN_PART_BYTES,
    ByteRange,
    CustomerKey,
    MultipartUpload,
    ObjectAttrs,
    ObjectVersion,
    Part,
    S3Forbidden,
    S3Invalid,
    S3NotFound,
    multipart_etag,
)

MIB = 1024**2


def chunk(seed: int, size: int = MIN_PART_BYTES) -> bytes:
    """`size` bytes that differ from part to part."""
    return bytes([seed % 256]) * (size - 4) + seed.to_bytes(4, "big")


def crc32(data: bytes) -> str:
    return base64.b64encode(struct.pack(">I", zlib.crc32(data))).decode()


async def start(
    h: Harness,
    p: Principal,
    key: str = "big",
    *,
    checksum_algorithm: str = "",
    customer: CustomerKey | None = None,
) -> MultipartUpload:
    return await h.cloud.multipart.create(
        p, "photos", key, ObjectAttrs(), checksum_algorithm, customer
    )


async def part(
    h: Harness,
    p: Principal,
    upload: MultipartUpload,
    number: int,
    data: bytes,
    *,
    checksums: dict[str, str] | None = None,
    customer: CustomerKey | None = None,
) -> Part:
    target = ("photos", upload.key, upload.id, number)
    body = Body(data, checksums=checksums)
    return await h.cloud.multipart.upload_part(p, target, body, customer)


async def finish(
    h: Harness, p: Principal, upload: MultipartUpload, parts: list[Part]
) -> ObjectVersion:
    requested = [(x.number, x.etag) for x in parts]
    return await h.cloud.multipart.complete(p, "photos", upload.key, upload.id, requested)


@pytest.fixture
async def p(h: Harness, owner: Account) -> Principal:
    await new_bucket(h, owner.principal)
    return owner.principal


async def test_parts_uploaded_out_of_order_make_one_object(h: Harness, p: Principal) -> None:
    upload = await h.cloud.multipart.create(
        p, "photos", "big", ObjectAttrs("video/mp4", {"cache-control": "max-age=1"}, {"m": "1"})
    )
    datas = {1: chunk(1), 2: chunk(2), 3: b"tail"}
    made = {n: await part(h, p, upload, n, datas[n]) for n in (3, 1, 2)}
    assert made[1].etag == etag_of(datas[1]) and made[3].size == 4
    version = await finish(h, p, upload, [made[1], made[2], made[3]])
    whole = datas[1] + datas[2] + datas[3]
    md5s = [hashlib.md5(datas[n]).digest() for n in (1, 2, 3)]  # noqa: S324
    assert version.etag == multipart_etag(md5s)
    want = f'"{hashlib.md5(b"".join(md5s)).hexdigest()}-3"'  # noqa: S324
    assert version.etag == want
    assert (version.size, version.parts_count) == (len(whole), 3)
    assert (version.content_type, version.metadata) == ("video/mp4", {"m": "1"})
    # the parts' blobs became the object's segments: nothing was copied
    assert [s.blob_id for s in version.segments] == [made[n].segment.blob_id for n in (1, 2, 3)]
    assert set(blobs(h).blobs) == blob_ids(version)
    assert await read(h, p, "photos", "big") == whole
    # a range across the boundary of two parts
    span = ByteRange(first=MIN_PART_BYTES - 3, last=MIN_PART_BYTES + 2)
    assert (
        await read(h, p, "photos", "big", byte_range=span)
        == whole[MIN_PART_BYTES - 3 : MIN_PART_BYTES + 3]
    )
    assert await read(h, p, "photos", "big", byte_range=ByteRange(suffix=6)) == whole[-6:]
    # the upload is gone
    assert (await h.cloud.multipart.list_uploads(p, "photos")).uploads == []
    with pytest.raises(S3NotFound) as exc:
        await h.cloud.multipart.list_parts(p, "photos", "big", upload.id)
    assert code(exc) == "NoSuchUpload"
    with pytest.raises(S3NotFound):
        await finish(h, p, upload, [made[1], made[2], made[3]])


async def test_a_reuploaded_part_replaces_the_old_one_and_its_data(
    h: Harness, p: Principal
) -> None:
    upload = await start(h, p)
    old = await part(h, p, upload, 1, b"first try")
    new = await part(h, p, upload, 1, b"second try")
    assert old.etag != new.etag
    listed = await h.cloud.multipart.list_parts(p, "photos", "big", upload.id)
    assert [(x.number, x.etag) for x in listed.parts] == [(1, new.etag)]
    assert set(blobs(h).blobs) == {new.segment.blob_id}
    with pytest.raises(S3Invalid) as exc:  # the old ETag names nothing now
        await finish(h, p, upload, [old])
    assert code(exc) == "InvalidPart"
    version = await finish(h, p, upload, [new])
    assert await read(h, p, "photos", "big") == b"second try"
    assert version.etag.endswith('-1"')


async def test_list_parts_pages(h: Harness, p: Principal) -> None:
    upload = await start(h, p)
    for n in (5, 2, 1, 4, 3):
        await part(h, p, upload, n, f"part {n}".encode())
    pages, after = [], 0
    while True:
        page = await h.cloud.multipart.list_parts(p, "photos", "big", upload.id, after, 2)
        pages.append(page)
        if not page.truncated:
            break
        after = page.next_marker
    assert [[x.number for x in page.parts] for page in pages] == [[1, 2], [3, 4], [5]]
    assert [page.next_marker for page in pages] == [2, 4, 0]
    exact = await h.cloud.multipart.list_parts(p, "photos", "big", upload.id, 0, 5)
    assert (len(exact.parts), exact.truncated) == (5, False)
    past = await h.cloud.multipart.list_parts(p, "photos", "big", upload.id, 5)
    assert (past.parts, past.truncated) == ([], False)
    # an upload is named by bucket, key and id together
    for key, upload_id in (("other", upload.id), ("big", str(uuid.uuid4())), ("big", "junk")):
        with pytest.raises(S3NotFound) as exc:
            await h.cloud.multipart.list_parts(p, "photos", key, upload_id)
        assert code(exc) == "NoSuchUpload"


async def test_list_uploads_with_prefix_delimiter_and_markers(h: Harness, p: Principal) -> None:
    made = {key: await start(h, p, key) for key in ("a/1", "a/2", "c/x", "d")}
    b1, b2 = sorted([await start(h, p, "b"), await start(h, p, "b")], key=lambda u: u.id)
    listing = h.cloud.multipart.list_uploads
    everything = await listing(p, "photos")
    assert [u.key for u in everything.uploads] == ["a/1", "a/2", "b", "b", "c/x", "d"]
    assert [u.id for u in everything.uploads][2:4] == [b1.id, b2.id]
    top = await listing(p, "photos", delimiter="/")
    assert ([u.key for u in top.uploads], top.prefixes) == (["b", "b", "d"], ["a/", "c/"])
    under = await listing(p, "photos", prefix="a/")
    assert [u.id for u in under.uploads] == [made["a/1"].id, made["a/2"].id]
    # a key marker alone: uploads of later keys only
    after_b = await listing(p, "photos", key_marker="b")
    assert [u.key for u in after_b.uploads] == ["c/x", "d"]
    # with an upload id marker: the later uploads of that key, then later keys
    after_b1 = await listing(p, "photos", key_marker="b", upload_marker=b1.id)
    assert [u.id for u in after_b1.uploads] == [b2.id, made["c/x"].id, made["d"].id]
    page = await listing(p, "photos", max_uploads=2)
    assert ([u.key for u in page.uploads], page.truncated) == (["a/1", "a/2"], True)
    last = await listing(p, "photos", key_marker="c/x", max_uploads=1)
    assert ([u.key for u in last.uploads], last.truncated) == (["d"], False)


async def test_list_uploads_counts_common_prefixes_toward_the_page(
    h: Harness, p: Principal
) -> None:
    """max-uploads counts uploads and common prefixes together, as S3 does."""
    for key in ("a/1", "a/2", "a/3", "b"):
        await start(h, p, key)
    page = await h.cloud.multipart.list_uploads(p, "photos", delimiter="/", max_uploads=2)
    assert ([u.key for u in page.uploads], page.prefixes, page.truncated) == (["b"], ["a/"], False)


async def test_complete_checks_every_named_part(h: Harness, p: Principal) -> None:
    upload = await start(h, p)
    one = await part(h, p, upload, 1, chunk(1))
    two = await part(h, p, upload, 2, b"small")
    three = await part(h, p, upload, 3, b"tail")
    cases = [
        [(1, '"' + "0" * 32 + '"'), (2, two.etag)],  # a wrong ETag
        [(1, one.etag), (4, two.etag)],  # a part never uploaded
    ]
    for requested in cases:
        with pytest.raises(S3Invalid) as exc:
            await h.cloud.multipart.complete(p, "photos", "big", upload.id, requested)
        assert code(exc) == "InvalidPart"
    with pytest.raises(S3Invalid) as exc:  # every part but the last is at least 5 MiB
        await finish(h, p, upload, [one, two, three])
    assert code(exc) == "EntityTooSmall"
    with pytest.raises(S3Invalid) as exc:
        await h.cloud.multipart.complete(p, "photos", "big", upload.id, [])
    assert code(exc) == "MalformedXML"
    # nothing was lost: the upload can still be completed; ETags match quoted or not
    version = await h.cloud.multipart.complete(
        p, "photos", "big", upload.id, [(1, one.etag.strip('"')), (3, three.etag)]
    )
    assert await read(h, p, "photos", "big") == chunk(1) + b"tail"
    # part 2 was not named: its data went
    assert set(blobs(h).blobs) == blob_ids(version)
    assert two.segment.blob_id not in blobs(h).blobs


async def test_one_small_part_alone_is_fine(h: Harness, p: Principal) -> None:
    upload = await start(h, p)
    only = await part(h, p, upload, 7, b"tiny")
    version = await finish(h, p, upload, [only])
    md5 = hashlib.md5(b"tiny").digest()  # noqa: S324
    assert version.etag == f'"{hashlib.md5(md5).hexdigest()}-1"'  # noqa: S324


async def test_complete_wants_ascending_part_numbers(h: Harness, p: Principal) -> None:
    upload = await start(h, p)
    one = await part(h, p, upload, 1, chunk(1))
    two = await part(h, p, upload, 2, chunk(2))
    for parts in ([two, one], [one, one]):
        with pytest.raises(S3Invalid) as exc:
            await finish(h, p, upload, parts)
        assert code(exc) == "InvalidPartOrder"


async def test_a_composite_crc32_checksum(h: Harness, p: Principal) -> None:
    upload = await start(h, p, checksum_algorithm="CRC32")
    datas = [chunk(1), chunk(2), b"end"]
    parts = [
        await part(h, p, upload, n, data, checksums={"CRC32": crc32(data)})
        for n, data in enumerate(datas, 1)
    ]
    assert parts[2].checksums == {"CRC32": crc32(b"end")}
    version = await finish(h, p, upload, parts)
    raw = b"".join(base64.b64decode(crc32(d)) for d in datas)
    assert version.checksums == {"CRC32": f"{crc32(raw)}-3"}


async def test_a_part_without_the_uploads_checksum_gives_the_object_none(
    h: Harness, p: Principal
) -> None:
    upload = await start(h, p, checksum_algorithm="SHA256")
    one = await part(h, p, upload, 1, b"x")
    version = await finish(h, p, upload, [one])
    assert version.checksums == {}


async def test_abort_drops_the_upload_and_all_its_data(h: Harness, p: Principal) -> None:
    upload = await start(h, p)
    keep = await start(h, p, "other")
    kept = await part(h, p, keep, 1, b"other")
    for n in (1, 2, 3):
        await part(h, p, upload, n, b"data %d" % n)
    await h.cloud.multipart.abort(p, "photos", "big", upload.id)
    assert set(blobs(h).blobs) == {kept.segment.blob_id}
    assert [u.id for u in (await h.cloud.multipart.list_uploads(p, "photos")).uploads] == [keep.id]
    with pytest.raises(S3NotFound) as exc:
        await part(h, p, upload, 4, b"late")
    assert code(exc) == "NoSuchUpload"
    with pytest.raises(S3NotFound):
        await h.cloud.multipart.abort(p, "photos", "big", upload.id)
    assert set(blobs(h).blobs) == {kept.segment.blob_id} and not blobs(h).staging


async def test_a_part_for_an_upload_aborted_meanwhile_leaves_no_data(
    h: Harness, p: Principal
) -> None:
    upload = await start(h, p)

    async def abort() -> None:
        await h.cloud.multipart.abort(p, "photos", "big", upload.id)

    target = ("photos", "big", upload.id, 1)
    with pytest.raises(S3NotFound):
        await h.cloud.multipart.upload_part(p, target, Body(b"z" * 40, during=abort))
    assert not blobs(h).blobs and not blobs(h).staging


async def test_part_numbers_and_a_failed_part(h: Harness, p: Principal) -> None:
    upload = await start(h, p)
    for number in (0, 10_001, -1):
        with pytest.raises(S3Invalid) as exc:
            await part(h, p, upload, number, b"x")
        assert code(exc) == "InvalidArgument"
    await part(h, p, upload, 10_000, b"last possible")
    bad = S3Invalid("BadDigest", "checksum mismatch")
    target = ("photos", "big", upload.id, 1)
    with pytest.raises(S3Invalid, match="checksum"):
        await h.cloud.multipart.upload_part(p, target, Body(b"x" * 30, fail=bad))
    listed = await h.cloud.multipart.list_parts(p, "photos", "big", upload.id)
    assert [x.number for x in listed.parts] == [10_000]
    assert len(blobs(h).blobs) == 1 and not blobs(h).staging


async def test_deleting_the_bucket_removes_uploads_in_progress(h: Harness, p: Principal) -> None:
    upload = await start(h, p)
    for n in (1, 2):
        await part(h, p, upload, n, b"pending %d" % n)
    assert len(blobs(h).blobs) == 2
    await h.cloud.buckets.delete(p, "photos")
    assert not blobs(h).blobs
    await new_bucket(h, p)
    assert (await h.cloud.multipart.list_uploads(p, "photos")).uploads == []


async def test_complete_replaces_the_current_object(h: Harness, p: Principal) -> None:
    old = await put(h, p, "photos", "big", b"the old one")
    upload = await start(h, p)
    one = await part(h, p, upload, 1, b"the new one")
    version = await finish(h, p, upload, [one])
    assert await read(h, p, "photos", "big") == b"the new one"
    assert [v.id for v in await versions_of(h, p, "photos", "big")] == [version.id]
    assert set(blobs(h).blobs) == {one.segment.blob_id}
    assert not blob_ids(old) & set(blobs(h).blobs)


async def test_sse_c_uploads_need_the_key_for_every_part(h: Harness, p: Principal) -> None:
    key = customer_key(3)
    upload = await start(h, p, customer=key)
    with pytest.raises(S3Invalid) as exc:
        await part(h, p, upload, 1, b"no key")
    assert code(exc) == "InvalidRequest"
    one = await part(h, p, upload, 1, chunk(9), customer=key)
    two = await part(h, p, upload, 2, b"end", customer=key)
    version = await finish(h, p, upload, [one, two])
    assert version.sse_customer_key_md5 == key.md5
    assert await read(h, p, "photos", "big", customer=key) == chunk(9) + b"end"
    with pytest.raises(S3Invalid):
        await read(h, p, "photos", "big")


async def test_copy_part_takes_a_range_of_an_object(h: Harness, p: Principal) -> None:
    source = await put(h, p, "photos", "src", b"0123456789")
    upload = await start(h, p)
    target = ("photos", "big", upload.id, 1)
    got, copied = await h.cloud.multipart.copy_part(
        p, target, ("photos", "src", None), ByteRange(first=2, last=5)
    )
    assert got.id == source.id and copied.size == 4 and copied.etag == etag_of(b"2345")
    await finish(h, p, upload, [copied])
    assert await read(h, p, "photos", "big") == b"2345"
    assert await read(h, p, "photos", "src") == b"0123456789"


async def test_a_viewer_and_a_stranger_cannot_upload(h: Harness, owner: Account) -> None:
    await new_bucket(h, owner.principal)
    upload = await start(h, owner.principal)
    viewer = await h.member(owner, "viewer")
    stranger = (await h.register("stranger")).principal
    with pytest.raises(S3Forbidden):
        await start(h, viewer)
    with pytest.raises(S3Forbidden):
        await part(h, viewer, upload, 1, b"x")
    with pytest.raises(S3Forbidden):
        await h.cloud.multipart.abort(viewer, "photos", "big", upload.id)
    await h.cloud.multipart.list_parts(viewer, "photos", "big", upload.id)
    with pytest.raises(S3NotFound) as exc:
        await start(h, stranger)
    assert code(exc) == "NoSuchBucket"
    with pytest.raises(S3NotFound) as exc:
        await part(h, stranger, upload, 1, b"x")
    assert code(exc) == "NoSuchBucket"
    assert not blobs(h).blobs and not blobs(h).staging


async def test_a_part_replaced_while_completing_does_not_break_the_object(
    h: Harness, p: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part re-uploaded between complete's read and its commit."""
    upload = await start(h, p)
    one = await part(h, p, upload, 1, b"version one")
    objects = h.cloud.objects
    original = objects.commit_version

    async def interleaved(*args: Any, **kw: Any) -> ObjectVersion:
        monkeypatch.setattr(objects, "commit_version", original)
        await part(h, p, upload, 1, b"version two")  # a concurrent UploadPart
        return await original(*args, **kw)

    monkeypatch.setattr(objects, "commit_version", interleaved)
    try:
        await finish(h, p, upload, [one])
    except S3Invalid:
        return  # refusing the completion would be fine too
    assert await read(h, p, "photos", "big") in (b"version one", b"version two")
