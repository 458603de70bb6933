"""Object tags on fakes: set with a put, a multipart upload or a copy (kept or replaced),
read, replaced and removed in place (no new version, same data), per version, limited as S3
limits them, authorized by their own actions, and audited."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_multipart import chunk, finish, part
from tests.unit.test_objects import (
    blob_ids,
    blobs,
    code,
    give_policy,
    member_with_key,
    new_bucket,
    put,
    read,
    versions_of,
)
from thecloud.domain.common import ListQuery, PageRequest
from thecloud.domain.objects import ObjectAttrs, S3Forbidden, S3Invalid, S3NotFound, parse_tagging


async def test_a_put_sets_tags_and_a_tag_change_keeps_the_version_and_data(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    made = await put(h, p, "photos", "k", b"data", ObjectAttrs(tags={"team": "a", "env": ""}))
    assert made.tags == {"team": "a", "env": ""}
    assert (await h.cloud.objects.tags(p, "photos", "k")).tags == {"team": "a", "env": ""}

    changed = await h.cloud.objects.set_tags(p, "photos", "k", {"team": "b"})
    assert changed.tags == {"team": "b"}
    assert (changed.id, changed.version_id, changed.etag, changed.last_modified) == (
        made.id, made.version_id, made.etag, made.last_modified,
    )  # fmt: skip
    got = await h.cloud.objects.open(p, "photos", "k", body=False)
    assert got.version.tags == {"team": "b"}  # what GET and HEAD read sees it at once
    assert await read(h, p, "photos", "k") == b"data"
    assert set(blobs(h).blobs) == blob_ids(made)

    gone = await h.cloud.objects.set_tags(p, "photos", "k", {}, delete=True)
    assert gone.tags == {} and (await h.cloud.objects.tags(p, "photos", "k")).tags == {}
    # an overwrite carries its own tags, not the old ones
    await h.cloud.objects.set_tags(p, "photos", "k", {"old": "1"})
    again = await put(h, p, "photos", "k", b"new")
    assert again.tags == {}


async def test_each_version_has_its_own_tags(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p, versioning="Enabled")
    v1 = await put(h, p, "photos", "k", b"1", ObjectAttrs(tags={"v": "1"}))
    v2 = await put(h, p, "photos", "k", b"2", ObjectAttrs(tags={"v": "2"}))
    await h.cloud.objects.set_tags(p, "photos", "k", {"old": "yes"}, v1.version_id)
    assert (await h.cloud.objects.tags(p, "photos", "k", v1.version_id)).tags == {"old": "yes"}
    assert (await h.cloud.objects.tags(p, "photos", "k")).tags == {"v": "2"}
    assert [v.version_id for v in await versions_of(h, p, "photos", "k")] == [
        v2.version_id, v1.version_id,
    ]  # fmt: skip

    marker = await h.cloud.objects.delete(p, "photos", "k")
    with pytest.raises(S3NotFound) as exc:  # the current version is a delete marker
        await h.cloud.objects.tags(p, "photos", "k")
    assert code(exc) == "NoSuchKey"
    with pytest.raises(S3Invalid) as exc:
        await h.cloud.objects.set_tags(p, "photos", "k", {"a": "b"}, marker.version_id)
    assert code(exc) == "MethodNotAllowed"
    with pytest.raises(S3NotFound) as exc:
        await h.cloud.objects.tags(p, "photos", "k", "0" * 32)
    assert code(exc) == "NoSuchVersion"


async def test_copies_keep_or_replace_the_tags_and_multipart_uploads_set_them(
    h: Harness, owner: Account
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "src", b"payload", ObjectAttrs(tags={"a": "1"}))
    _, kept = await h.cloud.objects.copy(p, ("photos", "src", None), ("photos", "c1"), None)
    assert kept.tags == {"a": "1"}
    _, replaced = await h.cloud.objects.copy(
        p, ("photos", "src", None), ("photos", "c2"), ObjectAttrs(metadata={"m": "1"}),
        tags={"b": "2"},
    )  # fmt: skip
    assert (replaced.tags, replaced.metadata) == ({"b": "2"}, {"m": "1"})
    _, emptied = await h.cloud.objects.copy(
        p, ("photos", "src", None), ("photos", "c3"), None, tags={}
    )
    assert emptied.tags == {}

    upload = await h.cloud.multipart.create(p, "photos", "big", ObjectAttrs(tags={"mp": "yes"}))
    assert upload.tags == {"mp": "yes"}
    made = await finish(h, p, upload, [await part(h, p, upload, 1, chunk(1, 10))])
    assert made.tags == {"mp": "yes"}
    assert (await h.cloud.objects.tags(p, "photos", "big")).tags == {"mp": "yes"}


@pytest.mark.parametrize(
    ("tags", "error"),
    [
        ({f"k{i}": "v" for i in range(11)}, "BadRequest"),
        ({"": "v"}, "InvalidTag"),
        ({"k" * 129: "v"}, "InvalidTag"),
        ({"k": "v" * 257}, "InvalidTag"),
        ({"aws:created": "v"}, "InvalidTag"),
        ({"AWS:x": "v"}, "InvalidTag"),
    ],
)
async def test_tag_sets_are_limited_as_s3_limits_them(
    h: Harness, owner: Account, tags: dict[str, str], error: str
) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"x")
    attempts = [
        lambda: put(h, p, "photos", "new", b"x", ObjectAttrs(tags=tags)),
        lambda: h.cloud.objects.set_tags(p, "photos", "k", tags),
        lambda: h.cloud.multipart.create(p, "photos", "big", ObjectAttrs(tags=tags)),
        lambda: h.cloud.objects.copy(p, ("photos", "k", None), ("photos", "c"), None, tags=tags),
    ]
    for attempt in attempts:
        with pytest.raises(S3Invalid) as exc:
            await attempt()
        assert code(exc) == error
    assert [
        v.key for v in (await h.cloud.listing.objects(p, "photos", "", "", "", 10)).entries
    ] == ["k"]
    # the limits themselves are allowed
    limit = {f"{'k' * 127}{i}": "v" * 256 for i in range(10)}
    assert (await h.cloud.objects.set_tags(p, "photos", "k", limit)).tags == limit


def test_the_tagging_header_is_a_query_string() -> None:
    assert parse_tagging("") == {}
    assert parse_tagging("a=1&b=x%20y&c=&d=%26") == {"a": "1", "b": "x y", "c": "", "d": "&"}
    with pytest.raises(S3Invalid) as exc:
        parse_tagging("a=1&a=2")
    assert code(exc) == "InvalidTag"
    with pytest.raises(S3Invalid) as exc:
        parse_tagging("&&")
    assert code(exc) == "InvalidArgument"


async def test_tags_have_their_own_actions(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    await put(h, p, "photos", "k", b"x", ObjectAttrs(tags={"a": "1"}))
    viewer, _ = await member_with_key(h, owner, "viewer")
    assert (await h.cloud.objects.tags(viewer, "photos", "k")).tags == {"a": "1"}
    for call in (
        lambda: h.cloud.objects.set_tags(viewer, "photos", "k", {"b": "2"}),
        lambda: h.cloud.objects.set_tags(viewer, "photos", "k", {}, delete=True),
    ):
        with pytest.raises(S3Forbidden) as exc:
            await call()
        assert code(exc) == "AccessDenied"

    dev, dev_key = await member_with_key(h, owner, "developer")
    deny = {"Effect": "Deny", "Action": "s3:PutObjectTagging", "Resource": "*"}
    await give_policy(h, owner, dev, deny)
    dev = await h.login_key(dev_key, owner.tenant_id)
    with pytest.raises(S3Forbidden):
        await h.cloud.objects.set_tags(dev, "photos", "k", {"b": "2"})
    await h.cloud.objects.set_tags(dev, "photos", "k", {}, delete=True)  # its own action
    await put(h, dev, "photos", "k2", b"y")  # writing objects is not denied
    assert (await h.cloud.objects.tags(p, "photos", "k")).tags == {}

    other = await h.register("stranger")
    with pytest.raises(S3NotFound):  # another tenant's bucket does not exist for them
        await h.cloud.objects.tags(other.principal, "photos", "k")


async def test_a_tag_change_is_audited(h: Harness, owner: Account) -> None:
    p = owner.principal
    await new_bucket(h, p)
    made = await put(h, p, "photos", "k", b"x")
    h.clock.advance(1)
    await h.cloud.objects.set_tags(p, "photos", "k", {"b": "2", "a": "1"})
    newest = ListQuery(page=PageRequest(limit=1), newest_first=True)
    record = (await h.cloud.activity.audit(p, newest)).items[0]
    assert (record.action, record.resource_id) == ("s3:PutObjectTagging", made.id)
    assert record.details["tags"] == ["a", "b"]
