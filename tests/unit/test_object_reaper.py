"""The object storage worker on fakes: orphaned blobs swept after the grace period (and only
those), and buckets' lifecycle rules: expiring current objects (unversioned and versioned),
non-current versions, and old multipart uploads."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_object_listing import seed
from tests.unit.test_objects import (
    Body,
    blob_ids,
    blobs,
    code,
    new_bucket,
    put,
    read,
    set_versioning,
    versions_of,
)
from thecloud.domain.identity import Principal
from thecloud.domain.objects import NULL_VERSION, ObjectAttrs, S3Invalid, S3NotFound
from thecloud.services.object_reaper import BATCH, ObjectReaper


def rule(prefix: str = "", status: str = "Enabled", **days: int) -> dict[str, object]:
    """A lifecycle rule as the S3 endpoint stores it (xml_in.lifecycle)."""
    found: dict[str, object] = {"id": "r", "prefix": prefix, "status": status}
    for name in ("expiration_days", "noncurrent_days", "abort_days"):
        found[name] = days.get(name)
    return found


async def lifecycle(h: Harness, p: Principal, *rules: Mapping[str, object]) -> None:
    await h.cloud.buckets.configure(
        p, "photos", "s3:PutLifecycleConfiguration", {"lifecycle": list(rules)}
    )


async def orphan(h: Harness, data: bytes = b"orphan") -> str:
    """A committed blob no metadata refers to (as a crash between the two would leave)."""
    writer = blobs(h).writer(os.urandom(32))
    await writer.write(data)
    await writer.commit()
    return writer.blob_id


def reaper(h: Harness) -> ObjectReaper:
    return h.cloud.object_reaper


@pytest.fixture
async def p(h: Harness, owner: Account) -> Principal:
    await new_bucket(h, owner.principal)
    return owner.principal


# --- orphans -------------------------------------------------------------------------------


async def test_orphans_older_than_the_grace_period_are_swept(h: Harness, p: Principal) -> None:
    old = await orphan(h)
    made = await put(h, p, "photos", "k", b"referenced")
    upload = await h.cloud.multipart.create(p, "photos", "big", ObjectAttrs())
    part = await h.cloud.multipart.upload_part(p, ("photos", "big", upload.id, 1), Body(b"pt"))
    staged = blobs(h).writer(os.urandom(32))
    await staged.write(b"never committed")
    h.clock.advance(hours=2)  # past the one hour grace
    young = await orphan(h)
    assert await reaper(h).sweep() == 2  # the old orphan and the stale staging file
    assert set(blobs(h).blobs) == {young, part.segment.blob_id} | blob_ids(made)
    assert old not in blobs(h).blobs and not blobs(h).staging
    assert await read(h, p, "photos", "k") == b"referenced"
    h.clock.advance(hours=2)
    assert await reaper(h).sweep() == 1
    assert set(blobs(h).blobs) == {part.segment.blob_id} | blob_ids(made)
    assert await reaper(h).sweep() == 0


async def test_a_blob_younger_than_the_grace_is_kept(h: Harness, p: Principal) -> None:
    blob = await orphan(h)
    h.clock.advance(minutes=59)
    assert await reaper(h).sweep() == 0 and blob in blobs(h).blobs


async def test_reconcile_runs_each_job_when_it_is_due(h: Harness, p: Principal) -> None:
    await orphan(h)
    h.clock.advance(hours=2)
    assert await reaper(h).reconcile() == 1
    await orphan(h)
    h.clock.advance(hours=2)
    assert await reaper(h).reconcile() == 0  # the next sweep is a minute (monotonic) away
    assert await reaper(h).sweep() == 1


# --- lifecycle -----------------------------------------------------------------------------


async def test_expiration_in_an_unversioned_bucket_deletes_the_object(
    h: Harness, p: Principal
) -> None:
    old = await put(h, p, "photos", "logs/old", b"old")
    other = await put(h, p, "photos", "keep/old", b"other prefix")
    h.clock.advance(days=2)
    new = await put(h, p, "photos", "logs/new", b"new")
    await lifecycle(h, p, rule("logs/", expiration_days=1))
    assert await reaper(h).apply_lifecycle() == 1
    assert await versions_of(h, p, "photos", "logs/old") == []
    assert set(blobs(h).blobs) == blob_ids(other, new) and not blob_ids(old) & set(blobs(h).blobs)
    assert [e.type for e in h.bus.published if e.type.startswith("object.")] == ["object.expired"]
    assert await reaper(h).apply_lifecycle() == 0


async def test_expiration_in_a_versioned_bucket_adds_a_delete_marker(
    h: Harness, p: Principal
) -> None:
    await set_versioning(h, p, "photos", "Enabled")
    made = await put(h, p, "photos", "k", b"v1")
    await lifecycle(h, p, rule(expiration_days=1))
    h.clock.advance(hours=23)
    assert await reaper(h).apply_lifecycle() == 0
    h.clock.advance(hours=2)
    assert await reaper(h).apply_lifecycle() == 1
    listed = await versions_of(h, p, "photos", "k")
    assert [(v.delete_marker, v.is_latest) for v in listed] == [(True, True), (False, False)]
    assert listed[0].version_id != NULL_VERSION and listed[0].created_by == "system"
    with pytest.raises(S3NotFound):
        await read(h, p, "photos", "k")
    assert await read(h, p, "photos", "k", version_id=made.version_id) == b"v1"
    assert blob_ids(made) <= set(blobs(h).blobs)
    # a delete marker is not expired again
    h.clock.advance(days=5)
    assert await reaper(h).apply_lifecycle() == 0


async def test_expiration_in_a_suspended_bucket_replaces_the_null_version(
    h: Harness, p: Principal
) -> None:
    await set_versioning(h, p, "photos", "Enabled")
    kept = await put(h, p, "photos", "k", b"versioned")
    await set_versioning(h, p, "photos", "Suspended")
    null = await put(h, p, "photos", "k", b"null")
    await lifecycle(h, p, rule(expiration_days=1))
    h.clock.advance(days=2)
    assert await reaper(h).apply_lifecycle() == 1
    listed = await versions_of(h, p, "photos", "k")
    assert [(v.version_id, v.delete_marker) for v in listed] == [
        (NULL_VERSION, True),
        (kept.version_id, False),
    ]
    assert set(blobs(h).blobs) == blob_ids(kept) and not blob_ids(null) & set(blobs(h).blobs)


async def test_expiration_when_suspended_with_an_older_null_version(
    h: Harness, p: Principal
) -> None:
    null = await put(h, p, "photos", "k", b"written before versioning")
    await set_versioning(h, p, "photos", "Enabled")
    current = await put(h, p, "photos", "k", b"versioned")
    await set_versioning(h, p, "photos", "Suspended")
    await lifecycle(h, p, rule(expiration_days=1))
    h.clock.advance(days=2)
    assert await reaper(h).apply_lifecycle() == 1
    listed = await versions_of(h, p, "photos", "k")
    assert [(v.version_id, v.delete_marker) for v in listed] == [
        (NULL_VERSION, True),
        (current.version_id, False),
    ]
    assert not blob_ids(null) & set(blobs(h).blobs)


async def test_non_current_versions_expire_days_after_they_were_replaced(
    h: Harness, p: Principal
) -> None:
    await set_versioning(h, p, "photos", "Enabled")
    v1 = await put(h, p, "photos", "k", b"v1")
    h.clock.advance(days=1)
    v2 = await put(h, p, "photos", "k", b"v2")  # v1 non-current from now
    other = await put(h, p, "photos", "other/k", b"x")
    await put(h, p, "photos", "other/k", b"y")
    await lifecycle(h, p, rule("k", noncurrent_days=2))
    h.clock.advance(days=1, hours=23)
    assert await reaper(h).apply_lifecycle() == 0
    h.clock.advance(hours=2)
    assert await reaper(h).apply_lifecycle() == 1
    assert [v.version_id for v in await versions_of(h, p, "photos", "k")] == [v2.version_id]
    assert not blob_ids(v1) & set(blobs(h).blobs)
    assert len(await versions_of(h, p, "photos", "other/k")) == 2  # not under the prefix
    assert blob_ids(other) <= set(blobs(h).blobs)
    assert [e.type for e in h.bus.published if e.type.startswith("object.")] == [
        "object.version_expired"
    ]


async def test_a_delete_marker_makes_the_version_non_current(h: Harness, p: Principal) -> None:
    await set_versioning(h, p, "photos", "Enabled")
    v1 = await put(h, p, "photos", "k", b"v1")
    await h.cloud.objects.delete(p, "photos", "k")
    await lifecycle(h, p, rule(noncurrent_days=1))
    h.clock.advance(days=2)
    assert await reaper(h).apply_lifecycle() == 1
    listed = await versions_of(h, p, "photos", "k")
    assert [v.delete_marker for v in listed] == [True]
    assert not blob_ids(v1) & set(blobs(h).blobs)


async def test_non_current_expiry_across_a_batch_boundary(h: Harness, p: Principal) -> None:
    """A non-current version that starts a batch (its successor ended the one before)."""
    await set_versioning(h, p, "photos", "Enabled")
    await seed(h, p, "photos", [f"a{i:04d}" for i in range(BATCH - 1)])
    rows = await seed(h, p, "photos", ["z"], versions=2)  # z: newest is the 500th row
    await lifecycle(h, p, rule(noncurrent_days=1))
    h.clock.advance(days=2)
    assert await reaper(h).apply_lifecycle() == 1
    assert [v.id for v in await versions_of(h, p, "photos", "z")] == [rows[1].id]


async def test_old_uploads_are_aborted_with_their_data(h: Harness, p: Principal) -> None:
    old = await h.cloud.multipart.create(p, "photos", "tmp/old", ObjectAttrs())
    elsewhere = await h.cloud.multipart.create(p, "photos", "keep/old", ObjectAttrs())
    for upload in (old, elsewhere):
        await h.cloud.multipart.upload_part(
            p, ("photos", upload.key, upload.id, 1), Body(b"part data")
        )
    h.clock.advance(days=3)
    young = await h.cloud.multipart.create(p, "photos", "tmp/young", ObjectAttrs())
    young_part = await h.cloud.multipart.upload_part(
        p, ("photos", "tmp/young", young.id, 1), Body(b"young")
    )
    await lifecycle(h, p, rule("tmp/", abort_days=2))
    assert await reaper(h).apply_lifecycle() == 1
    left = await h.cloud.multipart.list_uploads(p, "photos")
    assert sorted(u.id for u in left.uploads) == sorted([elsewhere.id, young.id])
    assert len(blobs(h).blobs) == 2 and young_part.segment.blob_id in blobs(h).blobs


async def test_disabled_rules_are_ignored(h: Harness, p: Principal) -> None:
    await put(h, p, "photos", "k", b"x")
    await h.cloud.multipart.create(p, "photos", "u", ObjectAttrs())
    await lifecycle(
        h, p, rule(status="Disabled", expiration_days=1, noncurrent_days=1, abort_days=1)
    )
    h.clock.advance(days=30)
    assert await reaper(h).apply_lifecycle() == 0
    assert await read(h, p, "photos", "k") == b"x"
    assert len((await h.cloud.multipart.list_uploads(p, "photos")).uploads) == 1


async def test_rules_apply_to_their_own_bucket_only(h: Harness, p: Principal) -> None:
    await new_bucket(h, p, "other")
    await put(h, p, "photos", "k", b"x")
    await put(h, p, "other", "k", b"y")
    await lifecycle(h, p, rule(expiration_days=1))
    h.clock.advance(days=2)
    assert await reaper(h).apply_lifecycle() == 1
    assert await read(h, p, "other", "k") == b"y"


async def test_a_tag_filter_expires_only_objects_with_every_tag(h: Harness, p: Principal) -> None:
    tagged = ObjectAttrs(tags={"temp": "yes", "team": "a"})
    gone = await put(h, p, "photos", "logs/a", b"1", tagged)
    await put(h, p, "photos", "logs/b", b"2", ObjectAttrs(tags={"temp": "no"}))
    await put(h, p, "photos", "logs/c", b"3")
    await put(h, p, "photos", "other/d", b"4", tagged)  # the prefix does not match
    await put(h, p, "photos", "logs/e", b"5", tagged)
    await lifecycle(h, p, {**rule("logs/", expiration_days=1), "tags": {"temp": "yes"}})
    h.clock.advance(days=2)
    await h.cloud.objects.set_tags(p, "photos", "logs/e", {"temp": "kept"})  # moved away
    assert await reaper(h).apply_lifecycle() == 1
    assert await versions_of(h, p, "photos", gone.key) == []
    left = (await h.cloud.listing.objects(p, "photos", "", "", "", 10)).entries
    assert [v.key for v in left] == ["logs/b", "logs/c", "logs/e", "other/d"]


async def test_a_tag_filter_on_non_current_versions_reads_each_versions_tags(
    h: Harness, p: Principal
) -> None:
    await set_versioning(h, p, "photos", "Enabled")
    old = await put(h, p, "photos", "k", b"1", ObjectAttrs(tags={"scratch": "1"}))
    kept = await put(h, p, "photos", "k", b"2")  # replaces old; itself untagged
    await put(h, p, "photos", "k", b"3", ObjectAttrs(tags={"scratch": "1"}))  # replaces kept
    await lifecycle(h, p, {**rule(noncurrent_days=1), "tags": {"scratch": "1"}})
    h.clock.advance(days=2)
    assert await reaper(h).apply_lifecycle() == 1
    remaining = {v.version_id for v in await versions_of(h, p, "photos", "k")}
    assert old.version_id not in remaining and kept.version_id in remaining


async def test_a_rule_with_tags_cannot_abort_uploads(h: Harness, p: Principal) -> None:
    with pytest.raises(S3Invalid) as exc:
        await lifecycle(h, p, {**rule(abort_days=1), "tags": {"a": "b"}})
    assert code(exc) == "InvalidRequest"
    with pytest.raises(S3Invalid):
        await lifecycle(h, p, {**rule(expiration_days=1), "tags": {"aws:x": "b"}})
    with pytest.raises(S3Invalid):
        await h.cloud.buckets.add_lifecycle_rule(
            p, "photos", {**rule(abort_days=1), "tags": {"a": "b"}}
        )
