"""SQL repositories of object storage on SQLite and PostgreSQL: round trips of every entity,
key order by UTF-8 bytes on both, case- and wildcard-exact prefixes, one current version per
key, versions paged by (key, seq), the blobs metadata refers to, cascades, and the schema the
migration makes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import text

from tests.integration import builders as b
from tests.integration.builders import Db
from tests.unit.test_objects import Body
from thecloud.adapters.memory import MemoryStore, MemoryUnitOfWorkFactory
from thecloud.adapters.memory.objects import MemoryObjectStore
from thecloud.bootstrap import Container, bootstrap
from thecloud.domain.common import RequestContext, new_id
from thecloud.domain.errors import Conflict
from thecloud.domain.identity import Principal
from thecloud.domain.objects import (
    NULL_VERSION,
    Bucket,
    ByteRange,
    CredentialStatus,
    MultipartUpload,
    ObjectAttrs,
    ObjectVersion,
    Part,
    Segment,
    StorageCredential,
    Versioning,
)
from thecloud.ports.uow import UnitOfWorkFactory
from thecloud.services.object_listing import PAST

# UTF-8 byte order (= code point order): upper case before lower, '-' (2d) before '/' (2f)
# before letters, then 2-, 3- and 4-byte sequences; not UTF-16 order, where U+1D11E (a
# surrogate pair) would sort before U+E000 and U+FB01, and not a locale's order.
KEYS = ["a", "b", "B", "é", "𝄞", "a/b", "a-b", "\ue000", "\ufb01", "Z", "ab", "~", "e"]
ORDERED = ["B", "Z", "a", "a-b", "a/b", "ab", "b", "e", "~", "é", "\ue000", "\ufb01", "𝄞"]


def segment(size: int = 10) -> Segment:
    return Segment(uuid.uuid4().hex, size, f"sealed-{uuid.uuid4().hex}")


def bucket(tenant_id: str, **over: Any) -> Bucket:
    made = Bucket(
        id=new_id(), tenant_id=tenant_id, name=b.uniq("bkt"), region="us-east-1",
        versioning=Versioning.OFF, public_read=False, created_by=new_id(),
        created_at=b.BASE, updated_at=b.BASE,
    )  # fmt: skip
    return replace(made, **over)


def version(bkt: Bucket, key: str, **over: Any) -> ObjectVersion:
    made = ObjectVersion(
        id=new_id(), tenant_id=bkt.tenant_id, bucket_id=bkt.id, key=key,
        version_id=uuid.uuid4().hex, seq=1, is_latest=True, delete_marker=False, size=10,
        etag='"0123456789abcdef0123456789abcdef"', last_modified=b.BASE, created_by=new_id(),
        segments=(segment(),),
    )  # fmt: skip
    return replace(made, **over)


def upload(bkt: Bucket, key: str, **over: Any) -> MultipartUpload:
    made = MultipartUpload(
        id=str(uuid.uuid4()), tenant_id=bkt.tenant_id, bucket_id=bkt.id, key=key,
        initiated_at=b.BASE, created_by=new_id(),
    )  # fmt: skip
    return replace(made, **over)


def part(up: MultipartUpload, number: int, **over: Any) -> Part:
    made = Part(
        id=new_id(), tenant_id=up.tenant_id, upload_id=up.id, number=number, size=10,
        etag='"0123456789abcdef0123456789abcdef"', last_modified=b.BASE, segment=segment(),
    )  # fmt: skip
    return replace(made, **over)


async def seed_bucket(db: Db, **over: Any) -> Bucket:
    _, t = await b.seed_tenant(db.uow)
    bkt = bucket(t.id, **over)
    await b.add_all(db, "buckets", bkt)
    return bkt


async def latest_keys(uow: UnitOfWorkFactory, bkt: Bucket, keys: list[str]) -> None:
    async with uow() as w:
        for key in keys:
            await w.object_versions.add(version(bkt, key))
        await w.commit()


# --- round trips ---------------------------------------------------------------------------


async def test_every_entity_round_trips(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    bkt = bucket(
        t.id, versioning=Versioning.SUSPENDED, public_read=True,
        tags={"team": "ops", "ü": "✓"},
        cors=({"allowed_origins": ["*"], "allowed_methods": ["GET"], "max_age": 60},),
        lifecycle=({"id": "r", "prefix": "logs/", "status": "Enabled", "expiration_days": 3,
                    "noncurrent_days": None, "abort_days": None},),
        version=4,
    )  # fmt: skip
    v = version(
        bkt, "dir/ключ 🗝", seq=time.time_ns(), is_latest=True, content_type="text/plain",
        headers={"cache-control": "no-cache"}, metadata={"colour": "blue", "ключ": "значение"},
        checksums={"CRC32": "AAAAAA==-2"}, segments=(segment(5 * 1024**3), segment(1)),
        sse_customer_key_md5="a" * 24, parts_count=2, size=5 * 1024**3 + 1,
        tags={"team": "ops", "ключ": "", "x": "é" * 256},
    )  # fmt: skip
    marker = version(bkt, "gone", delete_marker=True, size=0, etag="", segments=())
    up = upload(bkt, "big", headers={"content-encoding": "gzip"}, metadata={"m": "1"},
                checksum_algorithm="SHA256", sse_customer_key_md5="b" * 24,
                tags={"upload": "tag"})  # fmt: skip
    pt = part(up, 10_000, checksums={"SHA256": "c2hh"}, size=5 * 1024**3)
    cred = StorageCredential(
        id=new_id(), tenant_id=t.id, access_key_id="TC" + "A" * 18, sealed_secret="c2VhbGVk",
        principal_id=u.id, principal_type="user", description="laptop",
        status=CredentialStatus.ACTIVE, created_at=b.BASE, created_by=u.id,
    )  # fmt: skip
    async with db.uow() as w:
        await w.buckets.add(bkt)
        await w.object_versions.add(v)
        await w.object_versions.add(marker)
        await w.uploads.add(up)
        await w.parts.add(pt)
        await w.storage_credentials.add(cred)
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert await w.buckets.get(bkt.id) == bkt
        assert await w.buckets.find_one(name=bkt.name) == bkt
        assert await w.object_versions.get(v.id) == v
        assert await w.object_versions.get(marker.id) == marker
        assert await w.uploads.get(up.id) == up
        assert await w.parts.get(pt.id) == pt
        assert await w.storage_credentials.find_one(access_key_id=cred.access_key_id) == cred
    got = await _get(db, "buckets", bkt.id)
    assert isinstance(got.versioning, Versioning) and isinstance(got.cors, tuple)
    revoked = replace(cred, status=CredentialStatus.REVOKED, last_used_at=b.at(5))
    changed = replace(bkt, versioning=Versioning.ENABLED, tags={}, cors=(), version=5)
    async with db.uow() as w:
        await w.storage_credentials.update(revoked)
        await w.buckets.update(changed)
        await w.commit()
    assert await _get(db, "storage_credentials", cred.id) == revoked
    assert await _get(db, "buckets", bkt.id) == changed


async def _get(db: Db, repo: str, ident: str) -> Any:
    async with db.uow(read_only=True) as w:
        return await getattr(w, repo).get(ident)


async def test_names_and_access_keys_are_unique(db: Db) -> None:
    bkt = await seed_bucket(db)
    _, other = await b.seed_tenant(db.uow)
    await b.expect_conflict(db, "buckets", "add", bucket(other.id, name=bkt.name))
    up = upload(bkt, "k")
    await b.add_all(db, "uploads", up)
    await b.add_all(db, "parts", part(up, 1))
    await b.expect_conflict(db, "parts", "add", part(up, 1))


# --- key order and prefixes ----------------------------------------------------------------


async def test_listing_is_in_utf8_byte_order(db: Db) -> None:
    assert sorted(KEYS, key=lambda k: k.encode()) == ORDERED
    bkt = await seed_bucket(db)
    await latest_keys(db.uow, bkt, KEYS)
    async with db.uow(read_only=True) as w:
        listed = [v.key for v in await w.object_versions.listing(bkt.id, "", "", 100)]
        after_a = [v.key for v in await w.object_versions.listing(bkt.id, "", "a", 100)]
        after_e = [v.key for v in await w.object_versions.listing(bkt.id, "", "é", 100)]
        page = [v.key for v in await w.object_versions.listing(bkt.id, "", "a-b", 3)]
        versions = [v.key for v in await w.object_versions.versions(bkt.id, "", "", None, 100)]
    assert listed == ORDERED and versions == ORDERED
    assert after_a == ORDERED[3:] and after_e == ORDERED[-3:] and page == ["a/b", "ab", "b"]


async def test_uploads_are_listed_in_utf8_byte_order(db: Db) -> None:
    bkt = await seed_bucket(db)
    async with db.uow() as w:
        for key in KEYS:
            await w.uploads.add(upload(bkt, key))
        await w.commit()
    async with db.uow(read_only=True) as w:
        listed = [u.key for u in await w.uploads.listing(bkt.id, "", "", "", 100)]
        after = [u.key for u in await w.uploads.listing(bkt.id, "", "é", "~", 100)]
    assert listed == ORDERED and after == ORDERED[-3:]


async def test_prefixes_are_exact_not_case_insensitive_nor_patterns(db: Db) -> None:
    bkt = await seed_bucket(db)
    keys = [
        "Photo/1", "photo/2", "PHOTO", "photos", "phot",
        "50%/a", "50x/b", "a_b", "axb", "a\\b", "é1", "e1", "É2", "𝄞/x",
    ]  # fmt: skip
    await latest_keys(db.uow, bkt, keys)
    async with db.uow() as w:
        for key in keys:
            await w.uploads.add(upload(bkt, key))
        await w.commit()
    cases = {
        "photo": ["photo/2", "photos"],
        "Photo": ["Photo/1"],
        "PHOTO": ["PHOTO"],
        "50%": ["50%/a"],
        "50": ["50%/a", "50x/b"],
        "a_": ["a_b"],
        "a\\": ["a\\b"],
        "é": ["é1"],
        "e": ["e1"],
        "É": ["É2"],
        "𝄞": ["𝄞/x"],
        "%": [],
        "_": [],
    }
    async with db.uow(read_only=True) as w:
        for prefix, want in cases.items():
            listed = await w.object_versions.listing(bkt.id, prefix, "", 100)
            assert [v.key for v in listed] == want, prefix
            versions = await w.object_versions.versions(bkt.id, prefix, "", None, 100)
            assert [v.key for v in versions] == want, prefix
            uploads = await w.uploads.listing(bkt.id, prefix, "", "", 100)
            assert [u.key for u in uploads] == want, prefix


async def test_the_listing_can_jump_past_a_common_prefix(db: Db) -> None:
    """The service skips the rest of a common prefix with `prefix + U+10FFFF`."""
    bkt = await seed_bucket(db)
    await latest_keys(db.uow, bkt, ["a/", "a/1", "a/𝄞", "a/\U0010fffe", "a0", "b"])
    async with db.uow(read_only=True) as w:
        listed = await w.object_versions.listing(bkt.id, "", "a/" + PAST, 100)
        versions = await w.object_versions.versions(bkt.id, "", "a/" + PAST, None, 100)
    assert [v.key for v in listed] == ["a0", "b"] == [v.key for v in versions]


async def test_the_listing_shows_only_current_objects_of_its_bucket(db: Db) -> None:
    bkt = await seed_bucket(db)
    other = await seed_bucket(db)
    rows = [
        version(bkt, "current"),
        version(bkt, "current", is_latest=False, seq=0),
        version(bkt, "deleted", delete_marker=True),
        version(bkt, "deleted", is_latest=False, seq=0),
        version(bkt, "old-only", is_latest=False),
        version(other, "elsewhere"),
    ]
    await b.add_all(db, "object_versions", *rows)
    async with db.uow(read_only=True) as w:
        listed = await w.object_versions.listing(bkt.id, "", "", 100)
        latest = await w.object_versions.latest(bkt.id, "deleted")
        newest = await w.object_versions.newest(bkt.id, "current")
        none = await w.object_versions.latest(bkt.id, "old-only")
        missing = await w.object_versions.newest(bkt.id, "missing")
    assert [v.id for v in listed] == [rows[0].id]
    assert latest == rows[2] and newest == rows[0] and none is None and missing is None


# --- one current version per key -----------------------------------------------------------


async def test_one_current_version_per_key(db: Db) -> None:
    bkt = await seed_bucket(db)
    other = await seed_bucket(db)
    first = version(bkt, "k")
    old = [version(bkt, "k", is_latest=False, seq=i) for i in range(3)]
    await b.add_all(db, "object_versions", first, *old, version(other, "k"), version(bkt, "K"))
    await b.expect_conflict(db, "object_versions", "add", version(bkt, "k"))
    await b.expect_conflict(db, "object_versions", "update", replace(old[0], is_latest=True))
    same_id = version(bkt, "k", version_id=old[1].version_id, seq=9, is_latest=False)
    await b.expect_conflict(db, "object_versions", "add", same_id)
    # making another version current: the old current first, in one transaction
    async with db.uow() as w:
        await w.object_versions.update(replace(first, is_latest=False))
        await w.object_versions.update(replace(old[2], is_latest=True))
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert (await w.object_versions.latest(bkt.id, "k")) == replace(old[2], is_latest=True)
        assert await w.object_versions.count(bucket_id=bkt.id, key="k") == 4


async def test_replacing_the_null_version_in_one_transaction(db: Db) -> None:
    """What an unversioned overwrite does: the new null row takes the old one's place."""
    bkt = await seed_bucket(db)
    data = bytes(range(256))
    small = Segment(uuid.uuid4().hex, 256, "sealed", inline=True, data=data)
    first = version(bkt, "k", version_id=NULL_VERSION)
    await b.add_all(db, "object_versions", first)
    # a blob by an inline object, then that by a blob again (its inline data goes with it)
    second = version(bkt, "k", version_id=NULL_VERSION, seq=2, segments=(small,), size=256,
                     last_modified=b.at(2), etag='"second"', metadata={"m": "2"})  # fmt: skip
    third = version(bkt, "k", version_id=NULL_VERSION, seq=3, last_modified=b.at(3))
    for old, new in ((first, second), (second, third)):
        async with db.uow() as w:
            await w.object_versions.overwrite(old.id, new)
            await w.commit()
        async with db.uow(read_only=True) as r:
            assert await r.object_versions.get(old.id) is None
            assert await r.object_versions.get(new.id) == new
            assert await r.object_versions.latest(bkt.id, "k") == new
            assert await r.object_versions.count(bucket_id=bkt.id) == 1
            assert [v.id for v in await r.object_versions.older_than(bkt.id, b.at(9), 9)] == [
                new.id
            ]
    # a row that went meanwhile: the new one is added
    fourth = version(bkt, "k", version_id=NULL_VERSION, seq=4)
    async with db.uow() as w:
        assert await w.object_versions.delete(third.id) is True
        await w.object_versions.overwrite(third.id, fourth)
        await w.commit()
    assert await _get(db, "object_versions", fourth.id) == fourth
    # the one current version per key still holds
    await b.expect_conflict(db, "object_versions", "add", version(bkt, "k"))


# --- versions ------------------------------------------------------------------------------


async def test_versions_page_by_key_then_newest_first(db: Db) -> None:
    bkt = await seed_bucket(db)
    base = time.time_ns()  # what the service uses as seq: it needs 64 bits
    rows = [
        version(bkt, key, seq=base + seq, is_latest=seq == 4)
        for key in ("b", "a/x", "a")
        for seq in range(5)
    ]
    await b.add_all(db, "object_versions", *rows)
    want = sorted(rows, key=lambda v: (v.key.encode(), -v.seq))
    got: list[ObjectVersion] = []
    key, seq = "", None
    async with db.uow(read_only=True) as w:
        assert await w.object_versions.versions(bkt.id, "", "", None, 100) == want
        while True:
            page = await w.object_versions.versions(bkt.id, "", key, seq, 4)
            got += page
            if len(page) < 4:
                break
            key, seq = page[-1].key, page[-1].seq
        # a key with no seq: skip all of that key's versions
        skipped = await w.object_versions.versions(bkt.id, "", "a", None, 100)
        # a key and seq in the middle of that key
        middle = await w.object_versions.versions(bkt.id, "", "a", base + 2, 100)
        under = await w.object_versions.versions(bkt.id, "a/", "", None, 100)
    assert got == want
    assert [v.key for v in skipped] == ["a/x"] * 5 + ["b"] * 5
    assert [(v.key, v.seq - base) for v in middle][:3] == [("a", 1), ("a", 0), ("a/x", 4)]
    assert len(middle) == 12 and [v.key for v in under] == ["a/x"] * 5


async def test_older_than_and_blob_ids(db: Db) -> None:
    bkt = await seed_bucket(db)
    other = await seed_bucket(db)
    rows = [version(bkt, f"k{i}", last_modified=b.at(i)) for i in range(4)]
    marker = version(bkt, "m", delete_marker=True, segments=(), last_modified=b.at(0))
    elsewhere = version(other, "k", last_modified=b.at(0))
    await b.add_all(db, "object_versions", *rows, marker, elsewhere)
    up = upload(bkt, "big")
    parts = [part(up, n) for n in (1, 2)]
    await b.add_all(db, "uploads", up)
    await b.add_all(db, "parts", *parts)
    async with db.uow(read_only=True) as w:
        old = await w.object_versions.older_than(bkt.id, b.at(2), 100)
        one = await w.object_versions.older_than(bkt.id, b.at(2), 1)
        version_blobs = await w.object_versions.blob_ids()
        part_blobs = await w.parts.blob_ids()
    assert sorted(v.key for v in old) == ["k0", "k1", "m"] and len(one) == 1
    assert one[0].last_modified == b.at(0)
    assert version_blobs == {s.blob_id for v in [*rows, elsewhere] for s in v.segments}
    assert part_blobs == {p.segment.blob_id for p in parts}


async def test_inline_data_is_loaded_by_lookups_not_listings_and_kept_by_updates(db: Db) -> None:
    bkt = await seed_bucket(db)
    data = bytes(range(256)) * 3 + b"\x00"  # every byte value, and a NUL at the end
    small = Segment(uuid.uuid4().hex, 700, "sealed", inline=True, data=data)
    v = version(bkt, "small", segments=(small,), size=700)
    blob = version(bkt, "blob")
    await b.add_all(db, "object_versions", v, blob)
    async with db.uow(read_only=True) as w:
        found = [await w.object_versions.get(v.id), await w.object_versions.latest(bkt.id, "small"),
                 await w.object_versions.find_one(bucket_id=bkt.id, key="small")]  # fmt: skip
        listed = await w.object_versions.listing(bkt.id, "", "", 10)
        versions = await w.object_versions.versions(bkt.id, "", "", None, 10)
        newest = await w.object_versions.newest(bkt.id, "small")
        old = await w.object_versions.older_than(bkt.id, b.at(1), 10)
        ids = await w.object_versions.blob_ids()
    for got in found:
        assert got is not None and got.segments[0].inline and got.segments[0].data == data
    unloaded = [x for x in [*listed, *versions, newest, *old] if x is not None and x.key == "small"]
    assert len(unloaded) == 4
    assert all(x.segments[0].inline and x.segments[0].data is None for x in unloaded)
    assert not blob.segments[0].inline and ids == {blob.segments[0].blob_id}
    # an update (is_latest flips) never writes the data, even from a listing's copy
    async with db.uow() as w:
        await w.object_versions.update(replace(unloaded[0], is_latest=False))
        await w.commit()
    async with db.uow(read_only=True) as w:
        again = await w.object_versions.get(v.id)
    assert again is not None and not again.is_latest and again.segments[0].data == data


async def test_tags_are_listed_and_a_tag_update_keeps_the_inline_data(db: Db) -> None:
    bkt = await seed_bucket(db)
    small = Segment(uuid.uuid4().hex, 3, "sealed", inline=True, data=b"abc")
    v = version(bkt, "small", segments=(small,), size=3, tags={"a": "1"})
    await b.add_all(db, "object_versions", v)
    async with db.uow() as w:
        listed = await w.object_versions.listing(bkt.id, "", "", 10)
        assert [x.tags for x in listed] == [{"a": "1"}]
        await w.object_versions.update(replace(listed[0], tags={"b": "2"}))  # data not loaded
        await w.commit()
    async with db.uow(read_only=True) as w:
        again = await w.object_versions.latest(bkt.id, "small")
    assert again is not None and again.tags == {"b": "2"} and again.segments[0].data == b"abc"


async def test_a_version_keeps_at_most_one_segment_inline(db: Db) -> None:
    bkt = await seed_bucket(db)
    two = tuple(Segment(uuid.uuid4().hex, 1, "s", inline=True, data=b"x") for _ in range(2))
    with pytest.raises(ValueError, match="at most one"):
        async with db.uow() as w:
            await w.object_versions.add(version(bkt, "k", segments=two))


# --- uploads and parts ---------------------------------------------------------------------


async def test_uploads_by_key_then_id_after_the_markers(db: Db) -> None:
    bkt = await seed_bucket(db)
    ups = sorted(
        [upload(bkt, "b"), upload(bkt, "b"), upload(bkt, "a"), upload(bkt, "c/d")],
        key=lambda u: (u.key, u.id),
    )
    await b.add_all(db, "uploads", *ups)
    async with db.uow(read_only=True) as w:
        everything = await w.uploads.listing(bkt.id, "", "", "", 100)
        after_b = await w.uploads.listing(bkt.id, "", "b", "~", 100)
        after_b1 = await w.uploads.listing(bkt.id, "", "b", ups[1].id, 100)
        first_two = await w.uploads.listing(bkt.id, "", "", "", 2)
    assert everything == ups and after_b == ups[3:] and after_b1 == ups[2:]
    assert first_two == ups[:2]


async def test_parts_in_number_order_and_cascades(db: Db) -> None:
    bkt = await seed_bucket(db)
    up, other = upload(bkt, "big"), upload(bkt, "other")
    await b.add_all(db, "uploads", up, other)
    parts = [part(up, n) for n in (3, 1, 10, 2)]
    await b.add_all(db, "parts", *parts, part(other, 1))
    async with db.uow(read_only=True) as w:
        all_parts = await w.parts.of_upload(up.id, 0, 100)
        page = await w.parts.of_upload(up.id, 1, 2)
    assert [p.number for p in all_parts] == [1, 2, 3, 10]
    assert [p.number for p in page] == [2, 3]
    # an upload's parts go with it (complete and abort rely on it), a bucket's rows with it
    async with db.uow() as w:
        assert await w.uploads.delete(up.id) is True
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert await w.parts.count(upload_id=up.id) == 0
        assert await w.parts.count(upload_id=other.id) == 1
    await b.add_all(db, "object_versions", version(bkt, "k"))
    async with db.uow() as w:
        assert await w.buckets.delete(bkt.id) is True
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert await w.object_versions.count(bucket_id=bkt.id) == 0
        assert await w.uploads.count(bucket_id=bkt.id) == 0
        assert await w.parts.count(upload_id=other.id) == 0


# --- the fake agrees with SQL --------------------------------------------------------------


async def test_the_memory_repositories_order_and_filter_like_sql(db: Db) -> None:
    """Unit tests run on the fakes: their listings must match both databases."""
    bkt = await seed_bucket(db)
    memory = MemoryUnitOfWorkFactory(MemoryStore())
    _, t = await b.seed_tenant(memory)
    async with memory() as w:
        await w.buckets.add(replace(bkt, tenant_id=t.id))
        await w.commit()
    keys = [*KEYS, "a/c", "a/\U0010ffff", "A/b", "é/x", "_x", "%y"]
    rows = [
        version(bkt, key, seq=seq, is_latest=seq == 2, delete_marker=(key == "b" and seq == 2))
        for key in keys
        for seq in range(3)
    ]
    await b.add_all(db, "object_versions", *rows)
    async with memory() as w:
        for row in rows:
            await w.object_versions.add(replace(row, tenant_id=t.id))
        await w.commit()
    probes = [("", ""), ("a", ""), ("a/", ""), ("", "a/"), ("", "é"), ("é", ""), ("_", "")]
    probes += [("%", ""), ("", "a/" + PAST), ("A", "")]
    for prefix, after in probes:
        found = []
        for factory in (db.uow, memory):
            async with factory(read_only=True) as w:
                listing = await w.object_versions.listing(bkt.id, prefix, after, 7)
                versions = await w.object_versions.versions(bkt.id, prefix, after, None, 11)
                middle = await w.object_versions.versions(bkt.id, prefix, "a/c", 1, 5)
            found.append(
                (
                    [v.id for v in listing],
                    [v.id for v in versions],
                    [v.id for v in middle],
                )
            )
        assert found[0] == found[1], (prefix, after)


# --- the schema ----------------------------------------------------------------------------


async def test_the_schema_has_the_partial_index_and_byte_order_keys(db: Db) -> None:
    """What the drift test (test_sql_migrations) cannot see: index predicates, collations."""
    async with db.engine.connect() as conn:
        if db.backend == "sqlite":
            index = (
                await conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'uq_object_versions_latest'")
                )
            ).scalar_one()
            assert "UNIQUE" in index and "WHERE is_latest = 1" in index
            return
        index = (
            await conn.execute(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_object_versions_latest'"
                )
            )
        ).scalar_one()
        assert "UNIQUE" in index and "WHERE is_latest" in index
        collations: dict[str, str] = dict(
            (
                await conn.execute(
                    text(
                        "SELECT table_name, collation_name FROM information_schema.columns "
                        "WHERE column_name = 'key' AND table_name IN "
                        "('object_versions', 'multipart_uploads')"
                    )
                )
            ).all()
        )
    assert collations == {"object_versions": "C", "multipart_uploads": "C"}


# --- the services on SQL -------------------------------------------------------------------


@pytest.fixture
async def cloud(db: Db) -> AsyncIterator[Container]:
    """The platform with this database for metadata and fakes for the rest."""
    from tests.unit.conftest import memory_adapters, unit_settings

    adapters = replace(memory_adapters(), uow=db.uow)
    container = bootstrap(unit_settings(), adapters=adapters)
    await container.start()
    yield container
    await container.close()


async def signed_in(cloud: Container) -> Principal:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    reg = await cloud.auth.register(email, "correct horse", "Owner", RequestContext())
    return await cloud.auth.authenticate(reg.api_key, None, None, RequestContext())


def store_of(cloud: Container) -> MemoryObjectStore:
    assert isinstance(cloud.objects._data._store, MemoryObjectStore)
    return cloud.objects._data._store


@pytest.mark.parametrize("versioning", ["", "Enabled"])
async def test_concurrent_puts_of_one_key(
    cloud: Container, versioning: str, backend: str, request: pytest.FixtureRequest
) -> None:
    p = await signed_in(cloud)
    await cloud.buckets.create(p, "race")
    if versioning:
        await cloud.buckets.configure(
            p, "race", "s3:PutBucketVersioning", {"versioning": "Enabled"}
        )
    writers = 16
    made = await asyncio.gather(
        *(
            cloud.objects.put(p, "race", "k", Body(b"body %d" % i), ObjectAttrs())
            for i in range(writers)
        )
    )
    listing = await cloud.listing.versions(p, "race")
    latest = [v for v in listing.entries if v.is_latest]
    assert len(latest) == 1
    blobs = set(store_of(cloud).blobs)
    if versioning:
        assert len(listing.entries) == writers and len({v.seq for v in listing.entries}) == writers
        assert blobs == {s.blob_id for v in made for s in v.segments}
        assert latest[0].seq == max(v.seq for v in listing.entries)
    else:
        assert [v.version_id for v in listing.entries] == [NULL_VERSION]
        assert blobs == {s.blob_id for s in latest[0].segments}  # the replaced data went
    got = await cloud.objects.open(p, "race", "k")
    assert got.body is not None
    assert b"".join([x async for x in got.body]) in {b"body %d" % i for i in range(writers)}


async def test_versioning_states_on_sql(cloud: Container) -> None:
    p = await signed_in(cloud)
    await cloud.buckets.create(p, "states")

    async def put(data: bytes) -> ObjectVersion:
        return await cloud.objects.put(p, "states", "k", Body(data), ObjectAttrs())

    async def configure(status: str) -> None:
        await cloud.buckets.configure(p, "states", "s3:PutBucketVersioning", {"versioning": status})

    await put(b"a")
    await configure("Enabled")
    b_ = await put(b"b")
    await configure("Suspended")
    await put(b"c")
    await put(b"d")
    removal = await cloud.objects.delete(p, "states", "k")
    assert removal.delete_marker and removal.version_id == NULL_VERSION
    listing = await cloud.listing.versions(p, "states")
    assert [(v.version_id, v.delete_marker, v.is_latest) for v in listing.entries] == [
        (NULL_VERSION, True, True),
        (b_.version_id, False, False),
    ]
    await cloud.objects.delete(p, "states", "k", NULL_VERSION)
    got = await cloud.objects.open(p, "states", "k")
    assert got.version.version_id == b_.version_id
    assert set(store_of(cloud).blobs) == {s.blob_id for s in b_.segments}


async def test_inline_objects_through_the_services_on_sql(db: Db) -> None:
    """Small bodies kept in the row: written, read back (whole and a range), replaced,
    versioned and deleted with the object store untouched."""
    from tests.unit.conftest import memory_adapters, unit_settings

    adapters = replace(memory_adapters(), uow=db.uow)
    settings = unit_settings().model_copy(update={"s3_inline_max": 4096})
    cloud = bootstrap(settings, adapters=adapters)
    await cloud.start()
    try:
        p = await signed_in(cloud)
        await cloud.buckets.create(p, "inline")
        first = await cloud.objects.put(p, "inline", "k", Body(b"first body"), ObjectAttrs())
        await cloud.buckets.configure(
            p, "inline", "s3:PutBucketVersioning", {"versioning": "Enabled"}
        )
        second = await cloud.objects.put(p, "inline", "k", Body(b"second"), ObjectAttrs())
        assert first.segments[0].inline and second.segments[0].inline

        async def read(**kw: Any) -> bytes:
            got = await cloud.objects.open(p, "inline", "k", **kw)
            assert got.body is not None
            return b"".join([x async for x in got.body])

        assert await read() == b"second"
        assert await read(version_id=NULL_VERSION) == b"first body"
        assert await read(byte_range=ByteRange(1, 3)) == b"eco"
        await cloud.objects.delete(p, "inline", "k", second.version_id)
        assert await read() == b"first body"
        assert not store_of(cloud).blobs and not store_of(cloud).staging
    finally:
        await cloud.close()


async def test_the_memory_repository_refuses_a_second_current_version_on_update(db: Db) -> None:
    bkt = await seed_bucket(db)
    memory = MemoryUnitOfWorkFactory(MemoryStore())
    _, t = await b.seed_tenant(memory)
    async with memory() as w:
        await w.buckets.add(replace(bkt, tenant_id=t.id))
        await w.commit()
    current, old = version(bkt, "k"), version(bkt, "k", is_latest=False, seq=0)
    for factory, tenant_id in ((db.uow, bkt.tenant_id), (memory, t.id)):
        current, old = replace(current, tenant_id=tenant_id), replace(old, tenant_id=tenant_id)
        async with factory() as w:
            await w.object_versions.add(current)
            await w.object_versions.add(old)
            await w.commit()
        async with factory() as w:
            with pytest.raises(Conflict):
                await w.object_versions.update(replace(old, is_latest=True))


async def test_a_lifecycle_rule_with_tags_on_sql(cloud: Container) -> None:
    """The reaper's reads (older_than, versions) carry each version's tags from the store."""
    clock = cloud.clock
    p = await signed_in(cloud)
    await cloud.buckets.create(p, "tagged-rule")
    await cloud.buckets.configure(p, "tagged-rule", "s3:PutBucketVersioning",
                                  {"versioning": "Enabled"})  # fmt: skip
    scratch = ObjectAttrs(tags={"scratch": "yes"})
    old = await cloud.objects.put(p, "tagged-rule", "k", Body(b"1"), scratch)
    await cloud.objects.put(p, "tagged-rule", "k", Body(b"2"), scratch)
    await cloud.objects.put(p, "tagged-rule", "plain", Body(b"3"), ObjectAttrs())
    rule = {"id": "r", "prefix": "", "status": "Enabled", "expiration_days": 1,
            "noncurrent_days": 1, "abort_days": None, "tags": {"scratch": "yes"}}  # fmt: skip
    await cloud.buckets.configure(p, "tagged-rule", "s3:PutLifecycleConfiguration",
                                  {"lifecycle": [rule]})  # fmt: skip
    clock.advance(days=2)  # type: ignore[attr-defined]
    assert await cloud.object_reaper.apply_lifecycle() == 2  # the old version; k's current one
    listing = await cloud.listing.versions(p, "tagged-rule")
    kept = [(v.key, v.delete_marker) for v in listing.entries]
    assert old.version_id not in {v.version_id for v in listing.entries}
    assert sorted(kept) == [("k", False), ("k", True), ("plain", False)]
