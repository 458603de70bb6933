"""Listing a bucket through the service, as ListObjects (v1 and v2) and ListObjectVersions use
it: prefixes, delimiters and common prefixes, markers, max-keys, truncation, UTF-8 byte order,
and paging through more keys (and versions) than one internal batch holds."""

from __future__ import annotations

import uuid

import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_objects import code, new_bucket, put, set_versioning
from thecloud.domain.common import new_id
from thecloud.domain.identity import Principal
from thecloud.domain.objects import NULL_VERSION, ObjectVersion, S3Invalid
from thecloud.services.object_listing import BATCH, Listing

EMPTY_ETAG = '"d41d8cd98f00b204e9800998ecf8427e"'


async def seed(
    h: Harness, p: Principal, bucket: str, keys: list[str], versions: int = 1
) -> list[ObjectVersion]:
    """Metadata rows only (listings never read data): `versions` per key, the last current.

    Written straight into the fake's committed state: thousands of adds through a unit of
    work would be slow on the fake (each add scans the table), and add nothing to the test."""
    found = await h.cloud.buckets.get(p, bucket)
    rows, seq = [], 1
    for key in keys:
        for i in range(versions):
            rows.append(
                ObjectVersion(
                    id=new_id(),
                    tenant_id=found.tenant_id,
                    bucket_id=found.id,
                    key=key,
                    version_id=uuid.uuid4().hex if versions > 1 else NULL_VERSION,
                    seq=seq,
                    is_latest=i == versions - 1,
                    delete_marker=False,
                    size=0,
                    etag=EMPTY_ETAG,
                    last_modified=h.clock.now(),
                    created_by=p.id,
                )
            )
            seq += 1
    table = h.store.state.tables["object_versions"]
    for row in rows:
        table[row.id] = row
    return rows


def keys(listing: Listing) -> list[str]:
    return [e.key for e in listing.entries]


async def all_pages(
    h: Harness, p: Principal, bucket: str, max_keys: int, **kw: str
) -> list[Listing]:
    """Follow next_marker as a client does (v1 marker, or the v2 continuation token)."""
    pages, after = [], ""
    for _ in range(100):
        page = await h.cloud.listing.objects(p, bucket, after=after, max_keys=max_keys, **kw)
        pages.append(page)
        if not page.truncated:
            return pages
        assert page.next_marker, "a truncated page names where to go on"
        after = page.next_marker
    raise AssertionError("the listing never ended")


@pytest.fixture
async def tree(h: Harness, owner: Account) -> Principal:
    p = owner.principal
    await new_bucket(h, p)
    names = ["a", "a/b", "a/c/d", "a/c/e", "a-b", "b/x", "b/y", "c", "photos/2024/jan.jpg"]
    for key in names:
        await put(h, p, "photos", key, key.encode())
    return p


async def test_prefix_and_delimiter(h: Harness, tree: Principal) -> None:
    listing = h.cloud.listing.objects
    top = await listing(tree, "photos", delimiter="/")
    assert (keys(top), top.prefixes) == (["a", "a-b", "c"], ["a/", "b/", "photos/"])
    assert not top.truncated and top.next_marker == ""
    under = await listing(tree, "photos", prefix="a/", delimiter="/")
    assert (keys(under), under.prefixes) == (["a/b"], ["a/c/"])
    deep = await listing(tree, "photos", prefix="a/c/", delimiter="/")
    assert (keys(deep), deep.prefixes) == (["a/c/d", "a/c/e"], [])
    # a prefix that does not end at the delimiter
    partial = await listing(tree, "photos", prefix="a", delimiter="/")
    assert (keys(partial), partial.prefixes) == (["a", "a-b"], ["a/"])
    flat = await listing(tree, "photos", prefix="a")
    assert keys(flat) == ["a", "a-b", "a/b", "a/c/d", "a/c/e"]  # '-' (0x2d) < '/' (0x2f)
    other = await listing(tree, "photos", delimiter="-")
    assert other.prefixes == ["a-"] and "a-b" not in keys(other)
    multi = await listing(tree, "photos", delimiter="/2024/")
    assert multi.prefixes == ["photos/2024/"]
    assert (await listing(tree, "photos", prefix="zzz")).entries == []
    assert (await listing(tree, "photos", prefix="A")).entries == []  # case matters


async def test_after_a_marker(h: Harness, tree: Principal) -> None:
    listing = h.cloud.listing.objects
    assert keys(await listing(tree, "photos", after="a/c/d")) == [
        "a/c/e", "b/x", "b/y", "c", "photos/2024/jan.jpg",
    ]  # fmt: skip
    assert keys(await listing(tree, "photos", after="b")) == [
        "b/x", "b/y", "c", "photos/2024/jan.jpg",
    ]  # fmt: skip
    after_all = await listing(tree, "photos", after="zzz")
    assert after_all.entries == [] and not after_all.truncated
    # a marker before the prefix, and one inside it
    assert keys(await listing(tree, "photos", prefix="b/", after="a")) == ["b/x", "b/y"]
    assert keys(await listing(tree, "photos", prefix="b/", after="b/x")) == ["b/y"]


async def test_max_keys(h: Harness, tree: Principal) -> None:
    listing = h.cloud.listing.objects
    zero = await listing(tree, "photos", max_keys=0)
    assert (zero.entries, zero.prefixes, zero.truncated) == ([], [], False)
    with pytest.raises(S3Invalid) as exc:
        await listing(tree, "photos", max_keys=-1)
    assert code(exc) == "InvalidArgument"
    one = await listing(tree, "photos", max_keys=1)
    assert (keys(one), one.truncated, one.next_marker) == (["a"], True, "a")
    # entries and common prefixes share the page
    two = await listing(tree, "photos", delimiter="/", max_keys=2)
    assert (keys(two), two.prefixes, two.truncated, two.next_marker) == (
        ["a", "a-b"], [], True, "a-b",
    )  # fmt: skip
    three = await listing(tree, "photos", delimiter="/", max_keys=3)
    assert (keys(three), three.prefixes, three.next_marker) == (["a", "a-b"], ["a/"], "a/")


async def test_truncation_exactly_at_the_end_of_a_page(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    for key in ("k1", "k2", "k3", "k4"):
        await put(h, p, "photos", key, b"")
    full = await h.cloud.listing.objects(p, "photos", max_keys=4)
    assert (keys(full), full.truncated, full.next_marker) == (["k1", "k2", "k3", "k4"], False, "")
    pages = await all_pages(h, p, "photos", 2)
    assert [keys(page) for page in pages] == [["k1", "k2"], ["k3", "k4"]]
    assert [page.truncated for page in pages] == [True, False]
    # the last page's last key is the last key: not truncated, no empty extra page
    assert (await h.cloud.listing.objects(p, "photos", after="k4")).entries == []


async def test_delete_markers_and_old_versions_are_not_listed(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    for key in ("gone", "kept", "kept"):
        await put(h, p, "photos", key, b"x")
    await h.cloud.objects.delete(p, "photos", "gone")
    assert keys(await h.cloud.listing.objects(p, "photos")) == ["kept"]
    assert (await h.cloud.listing.objects(p, "photos", prefix="gone")).entries == []
    only_markers = await h.cloud.listing.objects(p, "photos", delimiter="/", max_keys=1)
    assert (keys(only_markers), only_markers.truncated) == (["kept"], False)


async def test_keys_are_ordered_by_their_utf8_bytes(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    # UTF-8 byte order is code point order: not case-folded, not locale order, and not UTF-16
    # order (where the surrogates of U+1D11E sort before U+E000 and U+FB01)
    names = ["é", "b", "𝄞", "a/b", "B", "a", "\ufb01", "a-b", "\ue000", "Z", "~", "ab"]
    for key in names:
        await put(h, p, "photos", key, b"")
    want = sorted(names, key=lambda k: k.encode())
    assert want == ["B", "Z", "a", "a-b", "a/b", "ab", "b", "~", "é", "\ue000", "\ufb01", "𝄞"]
    assert keys(await h.cloud.listing.objects(p, "photos")) == want
    assert [k for page in await all_pages(h, p, "photos", 5) for k in keys(page)] == want
    assert keys(await h.cloud.listing.objects(p, "photos", after="é")) == want[-3:]


async def test_more_keys_than_one_batch(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    names = [f"k{i:05d}" for i in range(2 * BATCH + 500)]
    await seed(h, p, "photos", names)
    pages = await all_pages(h, p, "photos", 1000)
    assert [len(page.entries) for page in pages] == [1000, 1000, 500]
    assert [k for page in pages for k in keys(page)] == names
    assert pages[0].next_marker == names[999]
    # pages smaller than a batch, and a prefix that keeps a few
    assert len(await all_pages(h, p, "photos", 700)) == 4
    assert keys(await h.cloud.listing.objects(p, "photos", prefix="k020")) == names[2000:2100]


async def test_exactly_one_batch_of_keys(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    names = [f"k{i:04d}" for i in range(BATCH)]
    await seed(h, p, "photos", names)
    page = await h.cloud.listing.objects(p, "photos")
    assert (len(page.entries), page.truncated) == (BATCH, False)
    await seed(h, p, "photos", ["z"])
    page = await h.cloud.listing.objects(p, "photos")
    assert (len(page.entries), page.truncated, page.next_marker) == (BATCH, True, names[-1])
    rest = await h.cloud.listing.objects(p, "photos", after=page.next_marker)
    assert (keys(rest), rest.truncated) == (["z"], False)
    assert (await h.cloud.listing.objects(p, "photos", max_keys=5000)).truncated  # capped


async def test_common_prefixes_over_more_keys_than_one_batch(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    many = [f"logs/{i:05d}" for i in range(BATCH + 500)]
    more = [f"img/{i:05d}" for i in range(BATCH + 1)]
    await seed(h, p, "photos", ["a", *more, *many, "z"])
    top = await h.cloud.listing.objects(p, "photos", delimiter="/")
    assert (keys(top), top.prefixes, top.truncated) == (["a", "z"], ["img/", "logs/"], False)
    logs = await h.cloud.listing.objects(p, "photos", prefix="logs/", delimiter="/")
    assert (len(logs.entries), logs.truncated) == (1000, True)


async def test_paging_past_a_common_prefix(h: Harness, owner: Account) -> None:
    """A page that ends on a common prefix: the next one starts after the whole prefix."""
    p = owner.principal
    await new_bucket(h, p)
    for key in ("a/1", "a/2", "b", "c/1", "d"):
        await put(h, p, "photos", key, b"")
    pages = await all_pages(h, p, "photos", 1, delimiter="/")
    seen = [(keys(page), page.prefixes) for page in pages]
    assert seen == [([], ["a/"]), (["b"], []), ([], ["c/"]), (["d"], [])]


# --- versions ------------------------------------------------------------------------------


async def all_version_pages(
    h: Harness, p: Principal, bucket: str, max_keys: int, **kw: str
) -> list[Listing]:
    pages, key_marker, version_marker = [], "", ""
    for _ in range(100):
        page = await h.cloud.listing.versions(
            p, bucket, key_marker=key_marker, version_marker=version_marker, max_keys=max_keys,
            **kw,
        )  # fmt: skip
        pages.append(page)
        if not page.truncated:
            return pages
        key_marker, version_marker = page.next_marker, page.next_version
    raise AssertionError("the listing never ended")


async def test_versions_by_key_then_newest_first(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "b", b"null one")  # written before versioning was enabled
    await set_versioning(h, p, "photos", "Enabled")
    made = [await put(h, p, "photos", key, b"") for key in ("a", "b", "a", "c")]
    marker = await h.cloud.objects.delete(p, "photos", "c")
    listing = await h.cloud.listing.versions(p, "photos")
    got = [(v.key, v.version_id, v.is_latest, v.delete_marker) for v in listing.entries]
    assert got == [
        ("a", made[2].version_id, True, False),
        ("a", made[0].version_id, False, False),
        ("b", made[1].version_id, True, False),
        ("b", NULL_VERSION, False, False),
        ("c", marker.version_id, True, True),
        ("c", made[3].version_id, False, False),
    ]
    assert not listing.truncated and (listing.next_marker, listing.next_version) == ("", "")
    assert [v.key for v in (await h.cloud.listing.versions(p, "photos", prefix="b")).entries] == [
        "b",
        "b",
    ]
    # a key marker alone skips every version of that key
    after_a = await h.cloud.listing.versions(p, "photos", key_marker="a")
    assert [v.key for v in after_a.entries] == ["b", "b", "c", "c"]
    # with a version marker: the older versions of the key, then the next keys
    after_a0 = await h.cloud.listing.versions(
        p, "photos", key_marker="a", version_marker=made[2].version_id
    )
    assert [v.version_id for v in after_a0.entries][:1] == [made[0].version_id]
    assert len(after_a0.entries) == 5
    with pytest.raises(S3Invalid) as exc:
        await h.cloud.listing.versions(p, "photos", key_marker="b", version_marker="nope")
    assert code(exc) == "InvalidArgument"
    zero = await h.cloud.listing.versions(p, "photos", max_keys=0)
    assert (zero.entries, zero.truncated) == ([], False)


async def test_paging_through_many_versions_of_one_key(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    made = [await put(h, p, "photos", "k", str(i).encode()) for i in range(23)]
    await put(h, p, "photos", "l", b"")
    pages = await all_version_pages(h, p, "photos", 10)
    assert [len(page.entries) for page in pages] == [10, 10, 4]
    ids = [v.version_id for page in pages for v in page.entries]
    assert ids[:23] == [v.version_id for v in reversed(made)]
    assert (pages[0].next_marker, pages[0].next_version) == ("k", made[13].version_id)
    assert (pages[-1].next_marker, pages[-1].next_version) == ("", "")


async def test_versions_of_one_key_across_batches(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    rows = await seed(h, p, "photos", ["k"], versions=BATCH + 700)
    rows += await seed(h, p, "photos", ["l", "m"], versions=2)
    pages = await all_version_pages(h, p, "photos", 1000)
    assert [len(page.entries) for page in pages] == [1000, 704]
    listed = [(v.key, v.version_id) for page in pages for v in page.entries]
    want = sorted(rows, key=lambda v: (v.key, -v.seq))
    assert listed == [(v.key, v.version_id) for v in want]
    assert pages[0].next_marker == "k" and pages[0].next_version == want[999].version_id
    small = await all_version_pages(h, p, "photos", 333)
    assert [(v.key, v.version_id) for page in small for v in page.entries] == listed


async def test_versions_with_a_delimiter(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    for key in ("dir/a", "dir/a", "dir/b", "top", "top"):
        await put(h, p, "photos", key, b"")
    listing = await h.cloud.listing.versions(p, "photos", delimiter="/")
    assert listing.prefixes == ["dir/"] and [v.key for v in listing.entries] == ["top", "top"]
    inside = await h.cloud.listing.versions(p, "photos", prefix="dir/", delimiter="/")
    assert [v.key for v in inside.entries] == ["dir/a", "dir/a", "dir/b"]


async def test_paging_versions_past_a_common_prefix(h: Harness, owner: Account) -> None:
    """The same for versions: a common prefix as key marker skips the prefix."""
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    for key in ("a/1", "a/2", "b"):
        await put(h, p, "photos", key, b"")
    pages = await all_version_pages(h, p, "photos", 1, delimiter="/")
    assert [([v.key for v in page.entries], page.prefixes) for page in pages] == [
        ([], ["a/"]),
        (["b"], []),
    ]
