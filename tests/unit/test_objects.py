"""Objects on fakes: put/get/head/delete/copy, versioning (off, enabled, suspended and the
"null" version), delete markers, ranges, conditions, SSE-C, limits, who may read and write,
and that object data is removed from the store exactly when no version needs it."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.adapters.memory.objects import MemoryObjectStore
from thecloud.domain.errors import PayloadTooLarge
from thecloud.domain.identity import Principal, PrincipalType
from thecloud.domain.objects import (
    MAX_METADATA_BYTES,
    NULL_VERSION,
    ByteRange,
    Conditions,
    CustomerKey,
    NotModified,
    ObjectAttrs,
    ObjectVersion,
    PreconditionFailed,
    RangeNotSatisfiable,
    S3Conflict,
    S3Forbidden,
    S3Invalid,
    S3NotFound,
    parse_range,
)
from thecloud.ports.objects import PayloadDigest
from thecloud.services.objects import Removal

# --- helpers (also used by the other object storage tests) ---------------------------------


class Body:
    """A request body as the S3 endpoint would hand it over: chunks, then a digest.

    `checksums` are reported by digest(); `fail` is raised by digest() (a bad checksum or
    signature found once everything was read); `during` runs before the last chunk."""

    def __init__(
        self,
        data: bytes,
        *,
        checksums: dict[str, str] | None = None,
        fail: Exception | None = None,
        during: Callable[[], Awaitable[None]] | None = None,
        piece: int | None = None,
    ) -> None:
        self.data, self.checksums, self.fail, self.during = data, checksums or {}, fail, during
        self.piece = piece or (7 if len(data) < 4096 else 1024**2)  # small ones in many pieces

    async def chunks(self) -> AsyncIterator[bytes]:
        for offset in range(0, len(self.data), self.piece):
            if self.during is not None and offset + self.piece >= len(self.data):
                await self.during()
            yield self.data[offset : offset + self.piece]

    def digest(self) -> PayloadDigest:
        if self.fail is not None:
            raise self.fail
        return PayloadDigest(hashlib.md5(self.data).digest(), dict(self.checksums))  # noqa: S324


def etag_of(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'  # noqa: S324


def code(exc: pytest.ExceptionInfo[BaseException]) -> str:
    """The S3 error code a domain error carries."""
    return str(getattr(exc.value, "details", {}).get("s3_code"))


def blobs(h: Harness) -> MemoryObjectStore:
    store = h.adapters.objects
    assert isinstance(store, MemoryObjectStore)
    return store


def blob_ids(*versions: ObjectVersion) -> set[str]:
    return {s.blob_id for v in versions for s in v.segments}


async def new_bucket(h: Harness, p: Principal, name: str = "photos", versioning: str = "") -> str:
    await h.cloud.buckets.create(p, name)
    if versioning:
        await set_versioning(h, p, name, versioning)
    return name


async def set_versioning(h: Harness, p: Principal, name: str, status: str) -> None:
    await h.cloud.buckets.configure(p, name, "s3:PutBucketVersioning", {"versioning": status})


async def put(
    h: Harness,
    p: Principal,
    bucket: str,
    key: str,
    data: bytes,
    attrs: ObjectAttrs | None = None,
    customer: CustomerKey | None = None,
) -> ObjectVersion:
    return await h.cloud.objects.put(p, bucket, key, Body(data), attrs or ObjectAttrs(), customer)


async def read(h: Harness, p: Principal | None, bucket: str, key: str, **kw: object) -> bytes:
    got = await h.cloud.objects.open(p, bucket, key, **kw)  # type: ignore[arg-type]
    assert got.body is not None
    return b"".join([piece async for piece in got.body])


async def versions_of(h: Harness, p: Principal, bucket: str, key: str) -> list[ObjectVersion]:
    """Every version of one key, newest first."""
    listing = await h.cloud.listing.versions(p, bucket, prefix=key)
    return [v for v in listing.entries if v.key == key]


async def current(h: Harness, p: Principal, bucket: str, key: str) -> ObjectVersion | None:
    found = [v for v in await versions_of(h, p, bucket, key) if v.is_latest]
    assert len(found) <= 1
    return found[0] if found else None


def customer_key(seed: int = 1) -> CustomerKey:
    import base64

    key = bytes([seed]) * 32
    return CustomerKey(key, base64.b64encode(hashlib.md5(key).digest()).decode())  # noqa: S324


async def member_with_key(h: Harness, owner: Account, role: str) -> tuple[Principal, str]:
    other = await h.register(role)
    await h.cloud.tenants.invite(owner.principal, owner.tenant_id, other.email, role)
    return await h.login_key(other.key, owner.tenant_id), other.key


async def give_policy(h: Harness, owner: Account, who: Principal, *statements: object) -> None:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    policy = await h.cloud.iam.create_policy(
        owner.principal, f"policy-{uuid.uuid4().hex[:8]}", "", doc
    )
    await h.cloud.iam.attach(owner.principal, PrincipalType.USER, who.id, policy.id)


# --- put, get, head ------------------------------------------------------------------------


async def test_put_then_get_and_head_give_back_the_bytes_and_attributes(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    data = b"hello, object storage\n" * 100
    attrs = ObjectAttrs(
        "text/plain", {"content-encoding": "identity"}, {"colour": "blue", "Size": "xl"}
    )
    made = await put(h, p, "photos", "a/b.txt", data, attrs)
    assert (made.key, made.size, made.etag) == ("a/b.txt", len(data), etag_of(data))
    assert (made.version_id, made.is_latest, made.delete_marker) == (NULL_VERSION, True, False)
    assert made.last_modified == h.clock.now() and made.created_by == p.id
    assert await read(h, p, "photos", "a/b.txt") == data
    head = await h.cloud.objects.open(p, "photos", "a/b.txt", body=False)
    assert head.body is None and (head.start, head.stop, head.partial) == (0, len(data), False)
    v = head.version
    assert (v.content_type, v.headers, v.metadata) == (
        "text/plain",
        {"content-encoding": "identity"},
        {"colour": "blue", "Size": "xl"},
    )
    assert blob_ids(made) <= set(blobs(h).blobs) and not blobs(h).staging


async def test_an_empty_object_and_keys_that_are_not_paths(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    for key in ("empty", "/leading", "trailing/", "sp ace", "ünï/𝄞", "a//b"):
        await put(h, p, "photos", key, key.encode() if key != "empty" else b"")
        assert await read(h, p, "photos", key) == (key.encode() if key != "empty" else b"")
    assert (await h.cloud.objects.open(p, "photos", "empty")).version.etag == etag_of(b"")


async def test_missing_keys_and_buckets(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    with pytest.raises(S3NotFound) as exc:
        await read(h, p, "photos", "nope")
    assert code(exc) == "NoSuchKey" and exc.value.details["delete_marker"] is False
    with pytest.raises(S3NotFound) as exc:
        await read(h, p, "no-such-bucket", "x")
    assert code(exc) == "NoSuchBucket"
    with pytest.raises(S3NotFound) as exc:
        await put(h, p, "no-such-bucket", "x", b"x")
    assert code(exc) == "NoSuchBucket"
    assert not blobs(h).blobs and not blobs(h).staging


async def test_an_unversioned_overwrite_replaces_the_null_version_and_drops_its_data(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    first = await put(h, p, "photos", "k", b"first")
    second = await put(h, p, "photos", "k", b"second")
    assert second.version_id == first.version_id == NULL_VERSION
    assert await read(h, p, "photos", "k") == b"second"
    assert [v.id for v in await versions_of(h, p, "photos", "k")] == [second.id]
    assert set(blobs(h).blobs) == blob_ids(second)


async def test_an_unversioned_delete_removes_the_object_and_its_data(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"data")
    removal = await h.cloud.objects.delete(p, "photos", "k")
    assert removal == Removal("k", "", False)
    assert await versions_of(h, p, "photos", "k") == [] and not blobs(h).blobs
    with pytest.raises(S3NotFound) as exc:
        await read(h, p, "photos", "k")
    assert code(exc) == "NoSuchKey" and exc.value.details["delete_marker"] is False
    # S3 answers a delete of what is not there with success too
    assert await h.cloud.objects.delete(p, "photos", "k") == Removal("k", "", False)


# --- versioning ----------------------------------------------------------------------------


async def test_enabled_versioning_keeps_every_version_readable_by_id(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    made = [await put(h, p, "photos", "k", f"v{i}".encode()) for i in range(3)]
    ids = [v.version_id for v in made]
    assert len(set(ids)) == 3 and all(len(i) == 32 and i != NULL_VERSION for i in ids)
    assert made[0].seq < made[1].seq < made[2].seq
    assert await read(h, p, "photos", "k") == b"v2"
    for i, version in enumerate(made):
        assert await read(h, p, "photos", "k", version_id=version.version_id) == f"v{i}".encode()
    listed = await versions_of(h, p, "photos", "k")
    assert [v.version_id for v in listed] == ids[::-1]
    assert [v.is_latest for v in listed] == [True, False, False]
    assert set(blobs(h).blobs) == blob_ids(*made)


async def test_a_delete_adds_a_marker_that_hides_the_object_until_it_is_removed(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    kept = await put(h, p, "photos", "k", b"kept")
    removal = await h.cloud.objects.delete(p, "photos", "k")
    assert removal.delete_marker and len(removal.version_id) == 32
    with pytest.raises(S3NotFound) as exc:
        await read(h, p, "photos", "k")
    assert code(exc) == "NoSuchKey"
    assert exc.value.details["delete_marker"] is True
    assert exc.value.details["version_id"] == removal.version_id
    # the data is still there and readable by version id
    assert await read(h, p, "photos", "k", version_id=kept.version_id) == b"kept"
    assert blob_ids(kept) <= set(blobs(h).blobs)
    with pytest.raises(S3Invalid) as bad:
        await read(h, p, "photos", "k", version_id=removal.version_id)
    assert code(bad) == "MethodNotAllowed"
    listed = await versions_of(h, p, "photos", "k")
    assert [(v.delete_marker, v.is_latest) for v in listed] == [(True, True), (False, False)]
    assert (await h.cloud.listing.objects(p, "photos")).entries == []
    # a second delete adds a second marker
    again = await h.cloud.objects.delete(p, "photos", "k")
    assert again.delete_marker and again.version_id != removal.version_id
    # removing the markers (by version id) brings the object back
    for marker in (again, removal):
        gone = await h.cloud.objects.delete(p, "photos", "k", marker.version_id)
        assert gone == Removal("k", marker.version_id, True)
    assert await read(h, p, "photos", "k") == b"kept"
    assert (await current(h, p, "photos", "k")) == kept


async def test_deleting_a_version_makes_the_next_newest_current_and_drops_its_data(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    v1, v2, v3 = [await put(h, p, "photos", "k", f"v{i}".encode()) for i in (1, 2, 3)]
    assert await h.cloud.objects.delete(p, "photos", "k", v3.version_id) == Removal(
        "k", v3.version_id, False
    )
    assert await read(h, p, "photos", "k") == b"v2"
    latest = await current(h, p, "photos", "k")
    assert latest is not None and latest.version_id == v2.version_id
    assert not blob_ids(v3) & set(blobs(h).blobs)
    # a non-current version goes without changing which is current
    await h.cloud.objects.delete(p, "photos", "k", v1.version_id)
    assert await read(h, p, "photos", "k") == b"v2"
    assert [v.version_id for v in await versions_of(h, p, "photos", "k")] == [v2.version_id]
    assert set(blobs(h).blobs) == blob_ids(v2)
    # the last version: the key is gone
    await h.cloud.objects.delete(p, "photos", "k", v2.version_id)
    assert await versions_of(h, p, "photos", "k") == [] and not blobs(h).blobs


async def test_unknown_and_malformed_version_ids(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    await put(h, p, "photos", "k", b"x")
    missing = uuid.uuid4().hex
    with pytest.raises(S3NotFound) as exc:
        await read(h, p, "photos", "k", version_id=missing)
    assert code(exc) == "NoSuchVersion"
    with pytest.raises(S3NotFound) as exc:
        await read(h, p, "photos", "k", version_id=NULL_VERSION)
    assert code(exc) == "NoSuchVersion"
    for bad in ("garbage", missing.upper(), missing[:-1]):
        with pytest.raises(S3Invalid) as invalid:
            await read(h, p, "photos", "k", version_id=bad)
        assert code(invalid) == "InvalidArgument"
        with pytest.raises(S3Invalid):
            await h.cloud.objects.delete(p, "photos", "k", bad)
    # deleting a version that does not exist succeeds and changes nothing
    assert await h.cloud.objects.delete(p, "photos", "k", missing) == Removal("k", missing, False)
    assert await read(h, p, "photos", "k") == b"x"


async def test_suspended_versioning_writes_and_deletes_the_null_version(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    a = await put(h, p, "photos", "k", b"a")  # versioning never enabled: "null"
    await set_versioning(h, p, "photos", "Enabled")
    b = await put(h, p, "photos", "k", b"b")
    assert [v.version_id for v in await versions_of(h, p, "photos", "k")] == [
        b.version_id,
        NULL_VERSION,
    ]
    assert await read(h, p, "photos", "k", version_id=NULL_VERSION) == b"a"
    await set_versioning(h, p, "photos", "Suspended")
    c = await put(h, p, "photos", "k", b"c")  # replaces the null version (a), keeps b
    assert c.version_id == NULL_VERSION
    listed = await versions_of(h, p, "photos", "k")
    assert [(v.version_id, v.is_latest) for v in listed] == [
        (NULL_VERSION, True),
        (b.version_id, False),
    ]
    assert await read(h, p, "photos", "k", version_id=NULL_VERSION) == b"c"
    assert set(blobs(h).blobs) == blob_ids(b, c)
    assert not blob_ids(a) & set(blobs(h).blobs)
    # a delete while suspended: a "null" delete marker that replaces the null version
    removal = await h.cloud.objects.delete(p, "photos", "k")
    assert removal == Removal("k", NULL_VERSION, True)
    listed = await versions_of(h, p, "photos", "k")
    assert [(v.version_id, v.delete_marker, v.is_latest) for v in listed] == [
        (NULL_VERSION, True, True),
        (b.version_id, False, False),
    ]
    assert set(blobs(h).blobs) == blob_ids(b)
    # removing the null marker makes b current again
    await h.cloud.objects.delete(p, "photos", "k", NULL_VERSION)
    assert await read(h, p, "photos", "k") == b"b"


async def test_suspended_put_over_a_versioned_current_keeps_it_non_current(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    b = await put(h, p, "photos", "k", b"b")
    await set_versioning(h, p, "photos", "Suspended")
    c = await put(h, p, "photos", "k", b"c")
    d = await put(h, p, "photos", "k", b"d")  # replaces c, the null version
    listed = await versions_of(h, p, "photos", "k")
    assert [v.version_id for v in listed] == [NULL_VERSION, b.version_id]
    assert set(blobs(h).blobs) == blob_ids(b, d) and not blob_ids(c) & set(blobs(h).blobs)
    await set_versioning(h, p, "photos", "Enabled")
    e = await put(h, p, "photos", "k", b"e")
    listed = await versions_of(h, p, "photos", "k")
    assert [v.version_id for v in listed] == [e.version_id, NULL_VERSION, b.version_id]
    assert await read(h, p, "photos", "k", version_id=NULL_VERSION) == b"d"


async def test_deleting_the_current_null_version_restores_the_previous_one(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    b = await put(h, p, "photos", "k", b"b")
    await set_versioning(h, p, "photos", "Suspended")
    await put(h, p, "photos", "k", b"null")
    await h.cloud.objects.delete(p, "photos", "k", NULL_VERSION)
    latest = await current(h, p, "photos", "k")
    assert latest is not None and latest.version_id == b.version_id
    assert await read(h, p, "photos", "k") == b"b"


# --- ranges --------------------------------------------------------------------------------


async def test_ranges(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    data = bytes(range(100))
    await put(h, p, "photos", "k", data)
    cases = {
        "bytes=0-0": data[:1],
        "bytes=10-19": data[10:20],
        "bytes=90-": data[90:],
        "bytes=99-": data[99:],
        "bytes=95-1000": data[95:],
        "bytes=-10": data[-10:],
        "bytes=-100": data,
        "bytes=-1000": data,
        "bytes=0-99": data,
    }
    for header, want in cases.items():
        byte_range = parse_range(header)
        assert byte_range is not None, header
        got = await h.cloud.objects.open(p, "photos", "k", byte_range=byte_range)
        assert got.partial and got.stop - got.start == len(want), header
        assert await read(h, p, "photos", "k", byte_range=byte_range) == want, header
    for header in ("bytes=100-", "bytes=100-200", "bytes=-0"):
        byte_range = parse_range(header)
        assert byte_range is not None
        with pytest.raises(RangeNotSatisfiable) as exc:
            await read(h, p, "photos", "k", byte_range=byte_range)
        assert exc.value.size == 100 and code(exc) == "InvalidRange"
    # what S3 ignores (the whole object is sent)
    for header in ("bytes=5-2", "bytes=0-1,5-6", "items=0-1", "bytes=a-b", "bytes=-", "0-1"):
        assert parse_range(header) is None, header


async def test_an_empty_object_has_no_satisfiable_range(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "empty", b"")
    for byte_range in (ByteRange(first=0), ByteRange(suffix=5)):
        with pytest.raises(RangeNotSatisfiable):
            await read(h, p, "photos", "empty", byte_range=byte_range)


# --- conditions ----------------------------------------------------------------------------


async def test_conditional_reads(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    made = await put(h, p, "photos", "k", b"data")
    at = made.last_modified
    h.clock.advance(hours=1)
    earlier, later = at - timedelta(seconds=1), at + timedelta(seconds=1)
    ok = [
        Conditions(if_match=made.etag),
        Conditions(if_match=made.etag.strip('"')),
        Conditions(if_match=f'"other", {made.etag}'),
        Conditions(if_match="*"),
        Conditions(if_none_match='"other"'),
        Conditions(if_modified_since=earlier),
        Conditions(if_unmodified_since=at),
        Conditions(if_unmodified_since=later),
        # If-Match true: If-Unmodified-Since is not looked at (RFC 9110, S3)
        Conditions(if_match=made.etag, if_unmodified_since=earlier),
    ]
    for conditions in ok:
        assert await read(h, p, "photos", "k", conditions=conditions) == b"data", conditions
    failed = [
        Conditions(if_match='"other"'),
        Conditions(if_unmodified_since=earlier),
    ]
    for conditions in failed:
        with pytest.raises(PreconditionFailed):
            await read(h, p, "photos", "k", conditions=conditions)
    not_modified = [
        Conditions(if_none_match=made.etag),
        Conditions(if_none_match="*"),
        Conditions(if_modified_since=at),
        Conditions(if_modified_since=later),
        # If-None-Match false (no match): If-Modified-Since is not looked at
    ]
    for conditions in not_modified:
        with pytest.raises(NotModified) as exc:
            await read(h, p, "photos", "k", conditions=conditions)
        assert exc.value.etag == made.etag
    assert (
        await read(
            h, p, "photos", "k", conditions=Conditions(if_none_match='"x"', if_modified_since=at)
        )
        == b"data"
    )
    # a HEAD is judged the same way
    with pytest.raises(NotModified):
        await h.cloud.objects.open(
            p, "photos", "k", body=False, conditions=Conditions(if_none_match=made.etag)
        )


# --- SSE-C ---------------------------------------------------------------------------------


async def test_sse_c_needs_the_same_key_to_read(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    key, wrong = customer_key(1), customer_key(2)
    made = await put(h, p, "photos", "secret", b"classified", customer=key)
    assert made.sse_customer_key_md5 == key.md5
    assert await read(h, p, "photos", "secret", customer=key) == b"classified"
    with pytest.raises(S3Invalid) as missing:
        await read(h, p, "photos", "secret")
    assert code(missing) == "InvalidRequest"
    with pytest.raises(S3Invalid):  # a HEAD too
        await h.cloud.objects.open(p, "photos", "secret", body=False)
    with pytest.raises(S3Forbidden) as denied:
        await read(h, p, "photos", "secret", customer=wrong)
    assert code(denied) == "AccessDenied"
    # an object stored without SSE-C is not read with a customer key
    await put(h, p, "photos", "plain", b"open")
    with pytest.raises(S3Forbidden):
        await read(h, p, "photos", "plain", customer=key)
    # the data key really is sealed with the customer's key
    segment = made.segments[0]
    with pytest.raises(Exception, match="customer key"):
        h.adapters.data_keys.open(  # type: ignore[union-attr]
            owner.tenant_id, segment.sealed_key, segment.blob_id.encode(), wrong.key
        )


# --- limits and failures -------------------------------------------------------------------


async def test_metadata_and_key_limits(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    exactly = {"k": "v" * (MAX_METADATA_BYTES - 1)}
    await put(h, p, "photos", "ok", b"x", ObjectAttrs(metadata=exactly))
    blobs_before = set(blobs(h).blobs)
    too_much = [
        {"k": "v" * MAX_METADATA_BYTES},
        {"e": "é" * (MAX_METADATA_BYTES // 2)},  # 1 + 2048 bytes: counted in UTF-8
        {f"key{i}": "v" * 200 for i in range(11)},
    ]
    for metadata in too_much:
        with pytest.raises(S3Invalid) as exc:
            await put(h, p, "photos", "big", b"x", ObjectAttrs(metadata=metadata))
        assert code(exc) == "MetadataTooLarge"
    # metadata goes back out as HTTP headers
    for metadata in ({"bad name": "v"}, {"é": "v"}, {"k": "line\r\nbreak"}, {"k": "𝄞"}):
        with pytest.raises(S3Invalid) as exc:
            await put(h, p, "photos", "bad", b"x", ObjectAttrs(metadata=metadata))
        assert code(exc) == "InvalidArgument", metadata
    with pytest.raises(S3Invalid) as exc:
        await put(h, p, "photos", "é" * 513, b"x")
    assert code(exc) == "KeyTooLongError"
    await put(h, p, "photos", "k" * 1024, b"x")
    with pytest.raises(S3Invalid) as exc:
        await put(h, p, "photos", "", b"x")
    assert code(exc) == "InvalidArgument"
    assert set(blobs(h).blobs) - blobs_before == blob_ids(
        *(await versions_of(h, p, "photos", "k" * 1024))
    )
    assert not blobs(h).staging


async def test_a_body_over_the_limit_leaves_nothing_behind(
    h: Harness, owner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    import thecloud.services.objects as objects_module

    monkeypatch.setattr(objects_module, "MAX_PUT_BYTES", 10)
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"0123456789")
    before = set(blobs(h).blobs)
    with pytest.raises(PayloadTooLarge) as exc:
        await put(h, p, "photos", "k", b"0123456789X")
    assert code(exc) == "EntityTooLarge"
    assert set(blobs(h).blobs) == before and not blobs(h).staging
    assert await read(h, p, "photos", "k") == b"0123456789"


async def test_a_body_that_fails_verification_leaves_nothing_behind(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    bad = S3Invalid("BadDigest", "The Content-MD5 you specified did not match")
    with pytest.raises(S3Invalid, match="Content-MD5"):
        await h.cloud.objects.put(p, "photos", "k", Body(b"x" * 50, fail=bad), ObjectAttrs())
    assert not blobs(h).blobs and not blobs(h).staging
    assert await versions_of(h, p, "photos", "k") == []


async def test_a_bucket_deleted_while_the_body_streams_leaves_no_data(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)

    async def delete_bucket() -> None:
        await h.cloud.buckets.delete(p, "photos")

    body = Body(b"y" * 100, during=delete_bucket)
    with pytest.raises(S3NotFound) as exc:
        await h.cloud.objects.put(p, "photos", "k", body, ObjectAttrs())
    assert code(exc) == "NoSuchBucket"
    assert not blobs(h).blobs and not blobs(h).staging


# --- copy ----------------------------------------------------------------------------------


async def test_copy_keeps_or_replaces_the_metadata(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await new_bucket(h, p, "archive")
    attrs = ObjectAttrs("text/plain", {"cache-control": "no-cache"}, {"a": "1"})
    src = await put(h, p, "photos", "src", b"payload", attrs)
    source, made = await h.cloud.objects.copy(p, ("photos", "src", None), ("archive", "dst"), None)
    assert source == src
    assert (made.etag, made.size, made.content_type) == (src.etag, 7, "text/plain")
    assert (made.headers, made.metadata) == (src.headers, src.metadata)
    assert blob_ids(made).isdisjoint(blob_ids(src))  # its own blob
    assert await read(h, p, "archive", "dst") == b"payload"
    _, replaced = await h.cloud.objects.copy(
        p, ("photos", "src", None), ("photos", "dst2"), ObjectAttrs(metadata={"b": "2"})
    )
    assert (replaced.content_type, replaced.metadata) == ("binary/octet-stream", {"b": "2"})
    # the source is untouched, its data still there
    assert await read(h, p, "photos", "src") == b"payload"


async def test_copy_a_version_onto_itself_and_with_conditions(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    old = await put(h, p, "photos", "k", b"old")
    await put(h, p, "photos", "k", b"new")
    _, restored = await h.cloud.objects.copy(
        p, ("photos", "k", old.version_id), ("photos", "k"), None
    )
    assert await read(h, p, "photos", "k") == b"old" and restored.etag == old.etag
    assert len(await versions_of(h, p, "photos", "k")) == 3
    with pytest.raises(PreconditionFailed):
        await h.cloud.objects.copy(
            p, ("photos", "k", None), ("photos", "c"), None, Conditions(if_match='"nope"')
        )
    # x-amz-copy-source-if-none-match: a match is a 412 for a copy, not a 304
    with pytest.raises(PreconditionFailed):
        await h.cloud.objects.copy(
            p, ("photos", "k", None), ("photos", "c"), None, Conditions(if_none_match=old.etag)
        )
    with pytest.raises(PreconditionFailed):
        await h.cloud.objects.copy(
            p,
            ("photos", "k", None),
            ("photos", "c"),
            None,
            Conditions(if_modified_since=h.clock.now()),
        )
    assert await versions_of(h, p, "photos", "c") == []


async def test_copy_onto_itself_unversioned_drops_the_old_data(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    old = await put(h, p, "photos", "k", b"same", ObjectAttrs(metadata={"v": "1"}))
    _, new = await h.cloud.objects.copy(
        p, ("photos", "k", None), ("photos", "k"), ObjectAttrs(metadata={"v": "2"})
    )
    assert await read(h, p, "photos", "k") == b"same"
    assert set(blobs(h).blobs) == blob_ids(new) and not blob_ids(old) & set(blobs(h).blobs)


async def test_copy_between_sse_c_keys(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    one, two = customer_key(1), customer_key(2)
    await put(h, p, "photos", "src", b"secret", customer=one)
    with pytest.raises(S3Invalid):
        await h.cloud.objects.copy(p, ("photos", "src", None), ("photos", "dst"), None)
    _, made = await h.cloud.objects.copy(
        p, ("photos", "src", None), ("photos", "dst"), None, keys=(one, two)
    )
    assert made.sse_customer_key_md5 == two.md5
    assert await read(h, p, "photos", "dst", customer=two) == b"secret"
    _, plain = await h.cloud.objects.copy(
        p, ("photos", "src", None), ("photos", "plain"), None, keys=(one, None)
    )
    assert plain.sse_customer_key_md5 == "" and await read(h, p, "photos", "plain") == b"secret"


# --- delete many, buckets ------------------------------------------------------------------


async def test_delete_many_reports_each_key(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    v = await put(h, p, "photos", "a", b"a")
    await put(h, p, "photos", "b", b"b")
    results = await h.cloud.objects.delete_many(
        p, "photos", [("a", v.version_id), ("b", None), ("missing", None), ("c", "bad-id")]
    )
    assert results[0] == Removal("a", v.version_id, False)
    assert isinstance(results[1], Removal) and results[1].delete_marker
    assert isinstance(results[2], Removal) and results[2].delete_marker
    assert results[3][:3] == ("c", "bad-id", "InvalidArgument")  # type: ignore[index]
    assert not blob_ids(v) & set(blobs(h).blobs)


async def test_a_bucket_is_deleted_only_when_empty(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    made = await put(h, p, "photos", "k", b"x")
    await h.cloud.objects.delete(p, "photos", "k")  # only a marker is current
    with pytest.raises(S3Conflict) as exc:
        await h.cloud.buckets.delete(p, "photos")
    assert code(exc) == "BucketNotEmpty"
    for version in await versions_of(h, p, "photos", "k"):
        await h.cloud.objects.delete(p, "photos", "k", version.version_id)
    await h.cloud.buckets.delete(p, "photos")
    assert not blob_ids(made) & set(blobs(h).blobs)
    with pytest.raises(S3NotFound):
        await h.cloud.buckets.get(p, "photos")


async def test_bucket_names_are_one_namespace(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    with pytest.raises(S3Conflict) as exc:
        await h.cloud.buckets.create(p, "photos")
    assert code(exc) == "BucketAlreadyOwnedByYou"
    stranger = await h.register("stranger")
    with pytest.raises(S3Conflict) as exc:
        await h.cloud.buckets.create(stranger.principal, "photos")
    assert code(exc) == "BucketAlreadyExists"
    for bad in ("ab", "UPPER", "a..b", "192.168.1.1", "xn--abc", "-start", "a_b"):
        with pytest.raises(S3Invalid) as invalid:
            await h.cloud.buckets.create(p, bad)
        assert code(invalid) == "InvalidBucketName"
    assert [b.name for b in await h.cloud.buckets.list(stranger.principal)] == []


# --- who may do what -----------------------------------------------------------------------


async def test_another_tenants_bucket_does_not_exist_for_them(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"mine")
    stranger = (await h.register("stranger")).principal
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: read(h, stranger, "photos", "k"),
        lambda: put(h, stranger, "photos", "k", b"theirs"),
        lambda: h.cloud.objects.delete(stranger, "photos", "k"),
        lambda: h.cloud.listing.objects(stranger, "photos"),
        lambda: h.cloud.listing.versions(stranger, "photos"),
        lambda: h.cloud.buckets.delete(stranger, "photos"),
        lambda: h.cloud.objects.copy(stranger, ("photos", "k", None), ("photos", "x"), None),
    ]
    for call in calls:
        with pytest.raises(S3NotFound) as exc:
            await call()
        assert code(exc) == "NoSuchBucket"
    assert await read(h, p, "photos", "k") == b"mine"
    assert len(blobs(h).blobs) == 1 and not blobs(h).staging


async def test_a_public_bucket_is_readable_by_anyone_and_writable_by_none(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"public")
    with pytest.raises(S3Forbidden) as exc:
        await read(h, None, "photos", "k")
    assert code(exc) == "AccessDenied"
    await h.cloud.buckets.configure(p, "photos", "s3:PutBucketAcl", {"public_read": True})
    stranger = (await h.register("stranger")).principal
    for who in (None, stranger):
        assert await read(h, who, "photos", "k") == b"public"
        assert [e.key for e in (await h.cloud.listing.objects(who, "photos")).entries] == ["k"]
    with pytest.raises(S3Forbidden) as exc:
        await h.cloud.objects.put(None, "photos", "k", Body(b"x"), ObjectAttrs())  # type: ignore[arg-type]
    assert code(exc) == "AccessDenied"
    with pytest.raises(S3Forbidden):
        await h.cloud.objects.delete(None, "photos", "k")  # type: ignore[arg-type]
    with pytest.raises(S3NotFound):  # by design: a write to another tenant's bucket
        await put(h, stranger, "photos", "k", b"theirs")
    with pytest.raises(S3NotFound):
        await h.cloud.objects.delete(stranger, "photos", "k")
    with pytest.raises(S3NotFound):  # the versions are not public
        await h.cloud.listing.versions(stranger, "photos")
    assert await read(h, p, "photos", "k") == b"public" and len(blobs(h).blobs) == 1


async def test_a_viewer_reads_but_does_not_write(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    made = await put(h, p, "photos", "k", b"x")
    viewer, _ = await member_with_key(h, owner, "viewer")
    assert await read(h, viewer, "photos", "k") == b"x"
    assert await read(h, viewer, "photos", "k", version_id=made.version_id) == b"x"
    assert len((await h.cloud.listing.versions(viewer, "photos")).entries) == 1
    refused: list[Callable[[], Awaitable[object]]] = [
        lambda: put(h, viewer, "photos", "k", b"y"),
        lambda: put(h, viewer, "photos", "new", b"y"),
        lambda: h.cloud.objects.delete(viewer, "photos", "k"),
        lambda: h.cloud.objects.delete(viewer, "photos", "k", made.version_id),
        lambda: h.cloud.objects.copy(viewer, ("photos", "k", None), ("photos", "c"), None),
        lambda: h.cloud.buckets.create(viewer, "mine"),
        lambda: h.cloud.buckets.delete(viewer, "photos"),
    ]
    for call in refused:
        with pytest.raises(S3Forbidden) as exc:
            await call()
        assert code(exc) == "AccessDenied"
    assert set(blobs(h).blobs) == blob_ids(made) and not blobs(h).staging
    assert [v.version_id for v in await versions_of(h, p, "photos", "k")] == [made.version_id]


async def test_a_policy_deny_on_a_key_prefix_beats_the_role(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    for key in ("secret/plans", "open/notes"):
        await put(h, p, "photos", key, key.encode())
    dev, dev_key = await member_with_key(h, owner, "developer")
    assert await read(h, dev, "photos", "secret/plans") == b"secret/plans"
    resource = f"trn:{owner.tenant_id}:object/photos/secret/*"
    await give_policy(
        h, owner, dev, {"Effect": "Deny", "Action": "s3:GetObject", "Resource": resource}
    )
    dev = await h.login_key(dev_key, owner.tenant_id)
    with pytest.raises(S3Forbidden) as exc:
        await read(h, dev, "photos", "secret/plans")
    assert code(exc) == "AccessDenied"
    with pytest.raises(S3Forbidden):  # a HEAD, and a copy out of it, too
        await h.cloud.objects.open(dev, "photos", "secret/plans", body=False)
    with pytest.raises(S3Forbidden):
        await h.cloud.objects.copy(dev, ("photos", "secret/plans", None), ("photos", "x"), None)
    assert await read(h, dev, "photos", "open/notes") == b"open/notes"
    await put(h, dev, "photos", "secret/new", b"write is still allowed")
    # the listing is another action (s3:ListBucket): the key names still show
    listed = await h.cloud.listing.objects(dev, "photos", prefix="secret/")
    assert [e.key for e in listed.entries] == ["secret/new", "secret/plans"]


async def test_a_policy_deny_on_the_coarse_permission_covers_the_s3_actions(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"x")
    dev, dev_key = await member_with_key(h, owner, "developer")
    await give_policy(h, owner, dev, {"Effect": "Deny", "Action": "storage:write", "Resource": "*"})
    dev = await h.login_key(dev_key, owner.tenant_id)
    with pytest.raises(S3Forbidden):
        await put(h, dev, "photos", "k", b"y")
    assert await read(h, dev, "photos", "k") == b"x"
    await h.cloud.objects.delete(dev, "photos", "k")  # storage:delete is not denied


async def test_a_policy_allow_on_a_key_prefix_lets_a_viewer_write_there(
    h: Harness, owner: Account
) -> None:
    """s3:PutObject is authorized on the object only, as AWS does (not on the bucket too)."""
    p = owner.principal
    await new_bucket(h, p)
    viewer, key = await member_with_key(h, owner, "viewer")
    resource = f"trn:{owner.tenant_id}:object/photos/inbox/*"
    await give_policy(
        h, owner, viewer, {"Effect": "Allow", "Action": "s3:PutObject", "Resource": resource}
    )
    viewer = await h.login_key(key, owner.tenant_id)
    with pytest.raises(S3Forbidden):
        await put(h, viewer, "photos", "elsewhere", b"no")
    # a multipart upload there is allowed already (it authorizes only the object)
    await h.cloud.multipart.create(viewer, "photos", "inbox/big", ObjectAttrs())
    await put(h, viewer, "photos", "inbox/report", b"yes")
    assert await read(h, p, "photos", "inbox/report") == b"yes"


async def test_delete_many_needs_only_the_right_to_delete(h: Harness, owner: Account) -> None:
    """DeleteObjects is authorized as s3:DeleteObject (per key), not as s3:ListBucket."""
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "a", b"a")
    dev, dev_key = await member_with_key(h, owner, "developer")
    resource = f"trn:{owner.tenant_id}:bucket/photos"
    await give_policy(
        h, owner, dev, {"Effect": "Deny", "Action": "s3:ListBucket", "Resource": resource}
    )
    dev = await h.login_key(dev_key, owner.tenant_id)
    await h.cloud.objects.delete(dev, "photos", "a")  # one by one: allowed
    await put(h, p, "photos", "b", b"b")
    assert await h.cloud.objects.delete_many(dev, "photos", [("b", None)]) == [
        Removal("b", "", False)
    ]


async def test_a_key_with_a_nul_character_is_refused_before_the_body(
    h: Harness, owner: Account
) -> None:
    """PostgreSQL cannot store NUL in text: refused up front, the same on every backend."""
    p = owner.principal
    await new_bucket(h, p)
    with pytest.raises(S3Invalid):
        await put(h, p, "photos", "a\x00b", b"x")
    assert not blobs(h).blobs


async def test_a_copy_out_of_another_tenants_public_bucket(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"shared")
    await h.cloud.buckets.configure(p, "photos", "s3:PutBucketAcl", {"public_read": True})
    stranger = (await h.register("stranger")).principal
    await new_bucket(h, stranger, "mine")
    _, made = await h.cloud.objects.copy(stranger, ("photos", "k", None), ("mine", "k"), None)
    assert made.tenant_id == stranger.tenant_id
    assert await read(h, stranger, "mine", "k") == b"shared"
    with pytest.raises(S3NotFound):  # and not the other way round
        await h.cloud.objects.copy(stranger, ("mine", "k", None), ("photos", "k2"), None)


async def test_conditional_writes(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")

    async def put_if(key: str, data: bytes, expect: Conditions) -> ObjectVersion:
        body = Body(data)
        return await h.cloud.objects.put(p, "photos", key, body, ObjectAttrs(), expect=expect)

    first = await put_if("k", b"first", Conditions(if_none_match="*"))
    before = set(blobs(h).blobs)
    for expect in (
        Conditions(if_none_match="*"),
        Conditions(if_none_match=first.etag),
        Conditions(if_match='"0123456789abcdef0123456789abcdef"'),
    ):
        with pytest.raises(PreconditionFailed):
            await put_if("k", b"refused", expect)
    assert set(blobs(h).blobs) == before and not blobs(h).staging
    second = await put_if("k", b"second", Conditions(if_match=first.etag))
    assert await read(h, p, "photos", "k") == b"second"
    await put_if("k", b"third", Conditions(if_none_match='"other"'))
    # a delete marker counts as absent
    await h.cloud.objects.delete(p, "photos", "k")
    await put_if("k", b"again", Conditions(if_none_match="*"))
    assert len(await versions_of(h, p, "photos", "k")) == 5
    assert second.version_id != first.version_id
    with pytest.raises(S3NotFound) as exc:
        await put_if("missing", b"x", Conditions(if_match=first.etag))
    assert code(exc) == "NoSuchKey"
    assert await versions_of(h, p, "photos", "missing") == []


async def test_a_conditional_write_to_a_missing_key_names_the_key(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    with pytest.raises(S3NotFound) as exc:
        await h.cloud.objects.put(
            p, "photos", "missing", Body(b"x"), ObjectAttrs(), expect=Conditions(if_match="*")
        )
    assert exc.value.details["key"] == "missing"
