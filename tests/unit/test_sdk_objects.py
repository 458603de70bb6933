"""The SDK's object storage (buckets, objects, multipart, presigned URLs, access keys) over
httpx.MockTransport, then the real routes in-process driven by the async client."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.unit.conftest import Account, Harness
from tests.unit.test_sdk_compute import FakeAPI, fail, ok
from tests.unit.test_sdk_network import listed, sent
from thecloud.entrypoints.api.app import create_app
from thecloud.sdk import AsyncClient, ConflictError, NotFoundError, ValidationError
from thecloud.sdk.resources.objects import key_path

MiB = 1024 * 1024
BUCKET = {"id": "b-1", "name": "photos", "region": "us-east-1", "versioning": "Disabled",
          "public_read": False, "tags": {}, "lifecycle": []}  # fmt: skip
OBJECT = {"key": "a/b.txt", "size": 5, "etag": "abc", "version_id": "null", "metadata": {}}
HEADERS = {"content-length": "5", "etag": '"abc"', "content-type": "text/plain",
           "last-modified": "Tue, 01 Jan 2030 12:00:00 GMT", "x-amz-version-id": "v1",
           "x-amz-meta-owner": "ada"}  # fmt: skip


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


def body_of(request: httpx.Request) -> bytes:
    return request.content


def test_key_paths_keep_slashes_and_encode_the_rest() -> None:
    assert key_path("a b/c?d#e%f") == "a%20b/c%3Fd%23e%25f"
    assert key_path("a/../b/./c") == "a/%2E%2E/b/%2E/c"
    assert key_path("dir/") == "dir/"


# --- buckets and access keys --------------------------------------------------------------------


def test_bucket_calls(api: FakeAPI) -> None:
    api.on("POST /storage/buckets", ok(BUCKET, 201))
    api.on("GET /storage/buckets", listed([BUCKET], total=2, has_more=True), listed([BUCKET]))
    api.on("PATCH /storage/buckets/photos/versioning", ok(BUCKET))
    api.on("PATCH /storage/buckets/photos", ok(BUCKET))
    api.on("DELETE /storage/buckets/photos", httpx.Response(204))
    client = api.client()
    assert client.buckets.create("photos") == BUCKET
    assert sent(api.requests[-1]) == {"name": "photos"}
    client.buckets.create("photos", region="eu", versioning=True, public_read=True,
                          idempotency_key="k1")  # fmt: skip
    assert sent(api.requests[-1]) == {"name": "photos", "region": "eu", "versioning": True,
                                      "public_read": True}  # fmt: skip
    assert api.requests[-1].headers["Idempotency-Key"] == "k1"
    assert client.buckets.list(limit=1).has_more
    api.on("GET /storage/buckets", listed([BUCKET], total=2, has_more=True), listed([BUCKET]))
    assert len(list(client.buckets.iterate(page_size=1))) == 2
    client.buckets.set_versioning("photos", False)
    assert sent(api.requests[-1]) == {"status": "Suspended"}
    client.buckets.set_public("photos")
    assert sent(api.requests[-1]) == {"public_read": True}
    client.buckets.set_tags("photos", {"team": "a"})
    assert sent(api.requests[-1]) == {"tags": {"team": "a"}}
    assert client.buckets.delete("photos") is None


def test_lifecycle_rules_and_cluster_status(api: FakeAPI) -> None:
    rule = {"id": "rule-1", "prefix": "tmp/", "status": "Enabled", "expiration_days": 7}
    api.on("POST /storage/buckets/logs/lifecycle", ok(rule, 201))
    api.on("GET /storage/buckets/logs/lifecycle", listed([rule]))
    api.on("DELETE /storage/buckets/logs/lifecycle/rule-1", httpx.Response(204))
    api.on("GET /storage/cluster/status", ok({"mode": "single-node", "s3_endpoint": "http://x"}))
    client = api.client()
    assert client.buckets.add_lifecycle_rule("logs", prefix="tmp/", expiration_days=7) == rule
    assert sent(api.requests[-1]) == {"prefix": "tmp/", "status": "Enabled", "expiration_days": 7}
    client.buckets.add_lifecycle_rule("logs", abort_days=2, rule_id="r", enabled=False)
    assert sent(api.requests[-1]) == {"id": "r", "prefix": "", "status": "Disabled",
                                      "abort_days": 2}  # fmt: skip
    assert client.buckets.lifecycle_rules("logs").items == [rule]
    client.buckets.delete_lifecycle_rule("logs", "rule-1")
    assert client.buckets.cluster_status()["s3_endpoint"] == "http://x"


def test_storage_credentials(api: FakeAPI) -> None:
    cred = {"id": "c-1", "access_key_id": "TCABC", "status": "ACTIVE"}
    api.on("POST /storage/credentials", ok({**cred, "secret_access_key": "s"}, 201))
    api.on("GET /storage/credentials", listed([cred]))
    api.on("GET /storage/credentials/TCABC", ok(cred))
    api.on("DELETE /storage/credentials/TCABC", ok({**cred, "status": "REVOKED"}))
    client = api.client()
    made = client.storage_credentials.create(description="ci", service_account_id="sa-1")
    assert made["secret_access_key"] == "s"
    assert sent(api.requests[-1]) == {"description": "ci", "service_account_id": "sa-1"}
    assert client.storage_credentials.list().items == [cred]
    assert [c["id"] for c in client.storage_credentials.iterate()] == ["c-1"]
    assert client.storage_credentials.get("TCABC") == cred
    assert client.storage_credentials.revoke("TCABC")["status"] == "REVOKED"


# --- objects ------------------------------------------------------------------------------------


def test_put_sends_the_bytes_type_and_metadata(api: FakeAPI, tmp_path: Path) -> None:
    api.on("PUT /storage/photos/a b/c.txt", ok(OBJECT, 201))
    client = api.client()
    made = client.objects.put("photos", "a b/c.txt", b"hello", content_type="text/plain",
                              metadata={"owner": "ada"})  # fmt: skip
    assert made == OBJECT
    request = api.requests[-1]
    assert request.url.raw_path == b"/storage/photos/a%20b/c.txt"
    assert body_of(request) == b"hello" and request.headers["content-type"] == "text/plain"
    assert request.headers["x-amz-meta-owner"] == "ada"
    photo = tmp_path / "c.txt"
    photo.write_bytes(b"from a file")
    client.objects.put("photos", "a b/c.txt", photo)
    assert body_of(api.requests[-1]) == b"from a file"
    assert api.requests[-1].headers["content-type"] == "text/plain"  # guessed from the name
    client.objects.put("photos", "a b/c.txt", io.BytesIO(b"a file object"))
    assert body_of(api.requests[-1]) == b"a file object"
    assert api.requests[-1].headers["content-type"] == "application/octet-stream"


def test_object_tags_calls(api: FakeAPI) -> None:
    tagged = {"bucket": "photos", "key": "a b/c.txt", "version_id": "v1", "tags": {"k": "v"}}
    path = "/storage/buckets/photos/object-tags/a b/c.txt"
    api.on("PUT /storage/photos/a b/c.txt", ok(OBJECT, 201))
    api.on(f"GET {path}", ok(tagged))
    api.on(f"PUT {path}", ok(tagged))
    api.on(f"DELETE {path}", ok({**tagged, "tags": {}}))
    client = api.client()
    client.objects.put("photos", "a b/c.txt", b"x", tags={"team": "a b", "x": "&"})
    assert api.requests[-1].headers["x-amz-tagging"] == "team=a+b&x=%26"
    assert client.objects.tags("photos", "a b/c.txt", version_id="v1") == tagged
    assert api.requests[-1].url.params["version_id"] == "v1"
    assert api.requests[-1].url.raw_path.startswith(
        b"/storage/buckets/photos/object-tags/a%20b/c.txt"
    )
    assert client.objects.set_tags("photos", "a b/c.txt", {"k": "v"}) == tagged
    assert sent(api.requests[-1]) == {"tags": {"k": "v"}}
    assert client.objects.delete_tags("photos", "a b/c.txt")["tags"] == {}


def test_put_streams_a_file_in_chunks_with_progress(api: FakeAPI, tmp_path: Path) -> None:
    api.on("PUT /storage/photos/big", ok(OBJECT, 201))
    big = tmp_path / "big"
    big.write_bytes(os.urandom(3 * MiB + 5))
    seen: list[int] = []
    api.client().objects.put("photos", "big", big, on_progress=seen.append)
    assert seen == [MiB, 2 * MiB, 3 * MiB, 3 * MiB + 5]
    assert body_of(api.requests[-1]) == big.read_bytes()
    assert api.requests[-1].headers["content-length"] == str(3 * MiB + 5)


def test_get_head_delete_with_versions_and_ranges(api: FakeAPI) -> None:
    api.on("GET /storage/photos/a/b.txt", httpx.Response(200, content=b"hello", headers=HEADERS))
    api.on("HEAD /storage/photos/a/b.txt", httpx.Response(200, headers=HEADERS))
    api.on("DELETE /storage/photos/a/b.txt", httpx.Response(204))
    client = api.client()
    assert client.objects.get("photos", "a/b.txt") == b"hello"
    client.objects.get("photos", "a/b.txt", version_id="v1", byte_range=(2, None))
    request = api.requests[-1]
    assert request.headers["range"] == "bytes=2-" and request.url.params["version_id"] == "v1"
    client.objects.get("photos", "a/b.txt", byte_range=(0, 3))
    assert api.requests[-1].headers["range"] == "bytes=0-3"
    assert client.objects.head("photos", "a/b.txt") == {
        "size": 5, "etag": "abc", "content_type": "text/plain",
        "last_modified": "Tue, 01 Jan 2030 12:00:00 GMT", "version_id": "v1",
        "metadata": {"owner": "ada"},
    }  # fmt: skip
    client.objects.delete("photos", "a/b.txt", version_id="v1")
    assert api.requests[-1].url.params["version_id"] == "v1"


def test_missing_objects_raise_not_found(api: FakeAPI, tmp_path: Path) -> None:
    api.on("GET /storage/photos/gone", fail(404, "NOT_FOUND", "The specified key does not exist."))
    api.on("HEAD /storage/photos/gone", httpx.Response(404))
    client = api.client()
    with pytest.raises(NotFoundError, match="does not exist"):
        client.objects.get("photos", "gone")
    with pytest.raises(NotFoundError):
        client.objects.head("photos", "gone")
    with pytest.raises(NotFoundError):
        client.objects.download("photos", "gone", tmp_path / "out")
    assert list(tmp_path.iterdir()) == []


def test_download_streams_to_a_file_with_progress(api: FakeAPI, tmp_path: Path) -> None:
    payload = os.urandom(2 * MiB + 3)
    headers = {**HEADERS, "content-length": str(len(payload))}
    api.on("GET /storage/photos/big", httpx.Response(200, content=payload, headers=headers))
    seen: list[int] = []
    dest = tmp_path / "big.bin"
    dest.write_bytes(b"old contents")
    info = api.client().objects.download("photos", "big", dest, on_progress=seen.append)
    assert dest.read_bytes() == payload and info["size"] == len(payload)
    assert seen[-1] == len(payload)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.bin"]


def test_list_and_iterate_follow_the_cursor(api: FakeAPI) -> None:
    first = {"objects": [{"key": "a"}, {"key": "c"}], "prefixes": ["b/"], "next_cursor": "Yw"}
    second = {"objects": [{"key": "d"}], "prefixes": [], "next_cursor": None}
    api.on("GET /storage/photos", ok(first), ok(second))
    client = api.client()
    assert client.objects.list("photos", prefix="p", delimiter="/", limit=2) == first
    assert dict(api.requests[-1].url.params) == {"prefix": "p", "delimiter": "/", "limit": "2"}
    api.on("GET /storage/photos", ok(first), ok(second))
    items = list(client.objects.iterate("photos", delimiter="/", page_size=2))
    assert items == [{"key": "a"}, {"prefix": "b/"}, {"key": "c"}, {"key": "d"}]
    assert api.requests[-1].url.params["cursor"] == "Yw"


def test_versions_and_presign(api: FakeAPI) -> None:
    page = {"versions": [{"version_id": "v2"}], "next_cursor": "v2"}
    last = {"versions": [{"version_id": "v1"}], "next_cursor": None}
    api.on("GET /storage/versions/photos/a/b.txt", ok(page), ok(last))
    api.on("POST /storage/presign/photos/a/b.txt", ok({"url": "http://x", "expires_at": "t"}))
    client = api.client()
    assert client.objects.versions("photos", "a/b.txt", limit=1) == page
    api.on("GET /storage/versions/photos/a/b.txt", ok(page), ok(last))
    found = [v["version_id"] for v in client.objects.iterate_versions("photos", "a/b.txt")]
    assert found == ["v2", "v1"]
    assert client.objects.presign("photos", "a/b.txt", method="put", expires_in=60)["url"]
    assert sent(api.requests[-1]) == {"method": "PUT", "expires_in": 60}


# --- multipart ----------------------------------------------------------------------------------


def parts_api(api: FakeAPI, fail_part: int | None = None) -> None:
    api.on("POST /storage/multipart/init/photos/big.bin", ok({"upload_id": "u-1"}, 201))

    def part(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["part_number"])
        if number == fail_part:
            return fail(503, "BACKEND_UNAVAILABLE", "disk full")
        digest = hashlib.md5(request.content).hexdigest()  # noqa: S324
        return ok({"part_number": number, "etag": digest, "size": len(request.content)})

    api.on("PUT /storage/multipart/upload/u-1/parts", part)
    api.on("POST /storage/multipart/complete/u-1", ok({**OBJECT, "key": "big.bin"}))
    api.on("DELETE /storage/multipart/abort/u-1", httpx.Response(204))


def test_upload_file_goes_multipart_above_the_threshold(api: FakeAPI, tmp_path: Path) -> None:
    parts_api(api)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * MiB))
    seen: list[int] = []
    client = api.client()
    made = client.objects.upload_file("photos", "big.bin", big, part_size=5 * MiB,
                                      threshold=6 * MiB, metadata={"a": "b"},
                                      on_progress=seen.append)  # fmt: skip
    assert made["key"] == "big.bin"
    assert sent(api.requests[0]) == {
        "content_type": "application/octet-stream",
        "metadata": {"a": "b"},
    }
    sizes = [len(r.content) for r in api.sent("PUT /storage/multipart/upload/u-1/parts")]
    assert sizes == [5 * MiB, 5 * MiB, MiB]
    completed = sent(api.requests[-1])["parts"]
    assert [p["part_number"] for p in completed] == [1, 2, 3]
    assert completed[0]["etag"] == hashlib.md5(big.read_bytes()[: 5 * MiB]).hexdigest()  # noqa: S324
    assert seen[-1] == 11 * MiB and seen == sorted(seen)


def test_small_files_are_one_put(api: FakeAPI, tmp_path: Path) -> None:
    api.on("PUT /storage/photos/small.txt", ok(OBJECT, 201))
    small = tmp_path / "small.txt"
    small.write_bytes(b"tiny")
    api.client().objects.upload_file("photos", "small.txt", small)
    assert [r.method for r in api.requests] == ["PUT"]


def test_a_failed_part_aborts_the_upload(api: FakeAPI, tmp_path: Path) -> None:
    parts_api(api, fail_part=2)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (3 * MiB))
    client = api.client()
    with pytest.raises(Exception, match="disk full"):
        client.objects.upload_file("photos", "big.bin", big, part_size=MiB, threshold=MiB)
    assert api.requests[-1].method == "DELETE"
    assert api.requests[-1].url.path == "/storage/multipart/abort/u-1"


def test_multipart_primitives(api: FakeAPI) -> None:
    parts_api(api)
    client = api.client()
    upload = client.objects.create_multipart("photos", "big.bin", content_type="video/mp4")
    assert upload["upload_id"] == "u-1"
    assert sent(api.requests[-1]) == {"content_type": "video/mp4"}
    part = client.objects.upload_part("u-1", 1, b"data")
    assert part["part_number"] == 1 and api.requests[-1].url.params["part_number"] == "1"
    client.objects.complete_multipart("u-1", [(1, part["etag"])])
    assert sent(api.requests[-1]) == {"parts": [{"part_number": 1, "etag": part["etag"]}]}
    client.objects.abort_multipart("u-1")


async def test_the_async_client_transfers_too(api: FakeAPI, tmp_path: Path) -> None:
    parts_api(api)
    payload = b"async bytes"
    api.on("GET /storage/photos/k", httpx.Response(200, content=payload, headers=HEADERS))
    api.on("GET /storage/photos", ok({"objects": [{"key": "k"}], "next_cursor": None}))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * MiB))
    async with api.async_client() as client:
        assert await client.objects.get("photos", "k") == payload
        await client.objects.download("photos", "k", tmp_path / "k")
        assert (tmp_path / "k").read_bytes() == payload
        assert [i async for i in client.objects.iterate("photos")] == [{"key": "k"}]
        await client.objects.upload_file("photos", "big.bin", big, part_size=MiB, threshold=MiB)
    sizes = [len(r.content) for r in api.sent("PUT /storage/multipart/upload/u-1/parts")]
    assert sizes == [MiB, MiB, MiB]


# --- the real routes ----------------------------------------------------------------------------


@pytest.fixture
async def cloud_client(h: Harness, owner: Account) -> AsyncIterator[AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    async with AsyncClient("http://cloud.test", api_key=owner.key, transport=transport) as c:
        yield c


async def test_round_trip_through_the_routes(
    h: Harness, owner: Account, cloud_client: AsyncClient, tmp_path: Path
) -> None:
    c = cloud_client
    await c.buckets.create("photos", versioning=True)
    with pytest.raises(ConflictError):
        await c.buckets.create("photos")
    keys = ["a/../b", "x/./y", "sp ace?#%", "dir/", "ünï/cødé"]
    for key in keys:
        assert (await c.objects.put("photos", key, key.encode()))["key"] == key
        assert await c.objects.get("photos", key) == key.encode()
    listed_keys = [
        i.get("key") or i["prefix"] async for i in c.objects.iterate("photos", page_size=2)
    ]
    assert listed_keys == sorted(keys, key=str.encode)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * MiB + 7))
    made = await c.objects.upload_file("photos", "big.bin", big, part_size=5 * MiB,
                                       threshold=6 * MiB, content_type="video/mp4")  # fmt: skip
    assert made["etag"].endswith("-3") and made["content_type"] == "video/mp4"
    await c.objects.download("photos", "big.bin", tmp_path / "out.bin")
    assert (tmp_path / "out.bin").read_bytes() == big.read_bytes()
    head = await c.objects.head("photos", "big.bin")
    assert head["size"] == big.stat().st_size and head["version_id"] == made["version_id"]
    got = await h.cloud.objects.open(owner.principal, "photos", "big.bin", body=False)
    assert got.version.etag.strip('"') == made["etag"]
    await c.objects.put("photos", "big.bin", b"v2")
    versions = [v["version_id"] async for v in c.objects.iterate_versions("photos", "big.bin")]
    assert versions[1] == made["version_id"] and len(versions) == 2
    with pytest.raises(ValidationError):
        await c.buckets.add_lifecycle_rule("photos")
    assert (await c.buckets.add_lifecycle_rule("photos", noncurrent_days=3))["id"] == "rule-1"


async def test_presigned_urls_from_the_sdk_work_without_credentials(
    cloud_client: AsyncClient, h: Harness
) -> None:
    await cloud_client.buckets.create("photos")
    await cloud_client.objects.put("photos", "a.txt", b"shared")
    signed = await cloud_client.objects.presign("photos", "a.txt", expires_in=60)
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    async with httpx.AsyncClient(transport=transport) as anonymous:
        assert (await anonymous.get(signed["url"])).content == b"shared"
        put = await cloud_client.objects.presign("photos", "new.txt", method="PUT")
        assert (await anonymous.put(put["url"], content=b"new")).status_code == 201
    assert await cloud_client.objects.get("photos", "new.txt") == b"new"
