"""The object storage REST routes in-process, on the in-memory platform: buckets and their
settings, streamed objects, listings, versions, multipart uploads, presigned URLs, lifecycle
rules; errors in the envelope; the same data the services (and so the S3 endpoint) hold."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.unit.conftest import Account, Harness
from thecloud.entrypoints.api.app import create_app
from thecloud.sdk.resources.objects import key_path

MiB = 1024 * 1024


@pytest.fixture
async def api(h: Harness, owner: Account) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    headers = {"X-API-Key": owner.key}
    async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test",
                                 headers=headers) as client:  # fmt: skip
        yield client


@pytest.fixture
async def anon(h: Harness) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://cloud.test") as client:
        yield client


async def as_user(h: Harness, key: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(h.cloud, migrate=False))
    return httpx.AsyncClient(transport=transport, base_url="http://cloud.test",
                             headers={"X-API-Key": key})  # fmt: skip


def data(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()["data"]


def error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "meta"} and body["error"]["code"] == code, body
    found: dict[str, Any] = body["error"]
    return found


async def bucket(api: httpx.AsyncClient, name: str = "photos", **extra: object) -> Any:
    return data(await api.post("/storage/buckets", json={"name": name, **extra}), 201)


# --- buckets ------------------------------------------------------------------------------------


async def test_bucket_create_get_list_settings_and_delete(api: httpx.AsyncClient) -> None:
    made = await bucket(api, versioning=True, public_read=True)
    assert made["name"] == "photos" and made["region"] == "us-east-1"
    assert made["versioning"] == "Enabled" and made["public_read"] is True
    assert "tenant_id" not in made and "version" not in made
    error(await api.post("/storage/buckets", json={"name": "photos"}), 409, "CONFLICT")
    await bucket(api, "videos")
    r = await api.get("/storage/buckets", params={"limit": 1})
    assert [b["name"] for b in data(r)] == ["photos"]
    assert r.json()["meta"] | {"request_id": 0, "timestamp": 0} == {
        "request_id": 0, "timestamp": 0, "total": 2, "limit": 1, "offset": 0, "has_more": True,
    }  # fmt: skip
    assert data(await api.get("/storage/buckets/videos"))["versioning"] == "Disabled"
    assert (await api.delete("/storage/buckets/videos")).status_code == 204
    error(await api.get("/storage/buckets/videos"), 404, "NOT_FOUND")


async def test_versioning_takes_a_status_or_the_original_enabled_flag(
    api: httpx.AsyncClient,
) -> None:
    await bucket(api)
    path = "/storage/buckets/photos/versioning"
    assert data(await api.patch(path, json={"status": "Enabled"}))["versioning"] == "Enabled"
    assert data(await api.patch(path, json={"enabled": False}))["versioning"] == "Suspended"
    assert data(await api.patch(path, json={"enabled": True}))["versioning"] == "Enabled"
    for bad in ({}, {"status": "Enabled", "enabled": True}, {"status": "On"}, {"x": 1}):
        error(await api.patch(path, json=bad), 400, "INVALID_INPUT")


async def test_patch_sets_public_read_and_tags(api: httpx.AsyncClient) -> None:
    await bucket(api)
    changed = data(
        await api.patch(
            "/storage/buckets/photos", json={"public_read": True, "tags": {"team": "a"}}
        )
    )
    assert changed["public_read"] is True and changed["tags"] == {"team": "a"}
    error(await api.patch("/storage/buckets/photos", json={}), 400, "INVALID_INPUT")
    bad_tags = {"tags": {"": "empty key"}}
    error(await api.patch("/storage/buckets/photos", json=bad_tags), 400, "INVALID_INPUT")


async def test_unknown_fields_and_bad_names_are_400(api: httpx.AsyncClient) -> None:
    r = await api.post("/storage/buckets", json={"name": "photos", "colour": "red"})
    assert "unknown field 'colour'" in error(r, 400, "INVALID_INPUT")["message"]
    r = await api.post("/storage/buckets", json={"name": "Bad_Name"})
    assert error(r, 400, "INVALID_INPUT")["details"]["s3_code"] == "InvalidBucketName"


async def test_a_bucket_with_objects_is_not_deleted(api: httpx.AsyncClient) -> None:
    await bucket(api)
    data(await api.put("/storage/photos/a.txt", content=b"a"), 201)
    r = await api.delete("/storage/buckets/photos")
    assert error(r, 409, "CONFLICT")["details"]["s3_code"] == "BucketNotEmpty"


async def test_cluster_status_is_one_node_and_names_the_s3_endpoint(
    api: httpx.AsyncClient,
) -> None:
    status = data(await api.get("/storage/cluster/status"))
    assert status == {"mode": "single-node", "nodes": 1, "healthy": True,
                      "s3_endpoint": "http://cloud.test:9000"}  # fmt: skip


# --- objects ------------------------------------------------------------------------------------


async def test_put_get_head_keep_type_metadata_and_etag(
    h: Harness, owner: Account, api: httpx.AsyncClient
) -> None:
    await bucket(api)
    headers = {"content-type": "text/plain", "x-meta-owner": "ada", "x-amz-meta-team": "blue",
               "content-disposition": "inline"}  # fmt: skip
    made = data(await api.put("/storage/photos/docs/a.txt", content=b"hello world",
                              headers=headers), 201)  # fmt: skip
    md5 = hashlib.md5(b"hello world").hexdigest()  # noqa: S324
    assert made["etag"] == md5 and made["size"] == 11 and made["version_id"] == "null"
    assert made["metadata"] == {"owner": "ada", "team": "blue"}
    r = await api.get("/storage/photos/docs/a.txt")
    assert r.status_code == 200 and r.content == b"hello world"
    assert r.headers["etag"] == f'"{md5}"' and r.headers["content-type"] == "text/plain"
    assert r.headers["x-amz-meta-owner"] == "ada" and r.headers["content-disposition"] == "inline"
    assert r.headers["last-modified"].endswith("GMT")
    head = await api.head("/storage/photos/docs/a.txt")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == "11"
    got = await h.cloud.objects.open(owner.principal, "photos", "docs/a.txt")
    assert got.body is not None and b"".join([c async for c in got.body]) == b"hello world"


async def test_ranges_are_206_and_past_the_end_416(api: httpx.AsyncClient) -> None:
    await bucket(api)
    data(await api.put("/storage/photos/n", content=b"0123456789"), 201)
    r = await api.get("/storage/photos/n", headers={"range": "bytes=2-4"})
    assert r.status_code == 206 and r.content == b"234"
    assert r.headers["content-range"] == "bytes 2-4/10"
    r = await api.get("/storage/photos/n", headers={"range": "bytes=-3"})
    assert r.status_code == 206 and r.content == b"789"
    error(await api.get("/storage/photos/n", headers={"range": "bytes=10-"}), 416,
          "RANGE_NOT_SATISFIABLE")  # fmt: skip


async def test_content_md5_is_checked(api: httpx.AsyncClient) -> None:
    await bucket(api)
    good = base64.b64encode(hashlib.md5(b"abc").digest()).decode()  # noqa: S324
    data(await api.put("/storage/photos/k", content=b"abc", headers={"content-md5": good}), 201)
    bad = base64.b64encode(hashlib.md5(b"abd").digest()).decode()  # noqa: S324
    r = await api.put("/storage/photos/k", content=b"abc", headers={"content-md5": bad})
    assert error(r, 400, "INVALID_INPUT")["details"]["s3_code"] == "BadDigest"
    for header in ("nope", b"\xe9t\xe9"):
        r = await api.put("/storage/photos/k", content=b"abc", headers={"content-md5": header})
        assert error(r, 400, "INVALID_INPUT")["details"]["s3_code"] == "InvalidDigest"
    assert (await api.get("/storage/photos/k")).content == b"abc"


async def test_object_bodies_are_not_capped_by_the_json_body_limit(
    h: Harness, api: httpx.AsyncClient
) -> None:
    limit = h.cloud.settings.max_body_bytes
    await bucket(api)
    big = b"x" * (limit + MiB)
    assert data(await api.put("/storage/photos/big", content=big), 201)["size"] == len(big)
    assert (await api.get("/storage/photos/big")).content == big
    huge = {"name": "photos2", "region": "x" * (limit + 1)}
    error(await api.post("/storage/buckets", json=huge), 413, "PAYLOAD_TOO_LARGE")


async def test_keys_with_odd_characters_round_trip(api: httpx.AsyncClient) -> None:
    await bucket(api)
    for key in ("a b/c?d#e%f", "dir/", "ünï/cødé", "a/../b"):
        path = "/storage/photos/" + key_path(key)
        assert data(await api.put(path, content=key.encode()), 201)["key"] == key
        assert (await api.get(path)).content == key.encode()


async def test_delete_unversioned_and_versioned(api: httpx.AsyncClient) -> None:
    await bucket(api)
    data(await api.put("/storage/photos/a", content=b"1"), 201)
    assert (await api.delete("/storage/photos/a")).status_code == 204
    error(await api.get("/storage/photos/a"), 404, "NOT_FOUND")
    await api.patch("/storage/buckets/photos/versioning", json={"status": "Enabled"})
    first = data(await api.put("/storage/photos/b", content=b"v1"), 201)["version_id"]
    data(await api.put("/storage/photos/b", content=b"v2"), 201)
    r = await api.delete("/storage/photos/b")
    assert r.status_code == 204 and r.headers["x-amz-delete-marker"] == "true"
    error(await api.get("/storage/photos/b"), 404, "NOT_FOUND")
    old = await api.get("/storage/photos/b", params={"version_id": first})
    assert old.content == b"v1" and old.headers["x-amz-version-id"] == first
    deleted = await api.delete("/storage/photos/b", params={"version_id": first})
    assert deleted.status_code == 204
    error(await api.get("/storage/photos/b", params={"version_id": first}), 404, "NOT_FOUND")


async def test_versions_of_one_key_newest_first_paged_by_cursor(api: httpx.AsyncClient) -> None:
    await bucket(api, versioning=True)
    ids = [data(await api.put("/storage/photos/k", content=bytes([n])), 201)["version_id"]
           for n in range(3)]  # fmt: skip
    data(await api.put("/storage/photos/k2", content=b"other key, same prefix"), 201)
    await api.delete("/storage/photos/k")
    first = data(await api.get("/storage/versions/photos/k", params={"limit": 2}))
    assert [v["delete_marker"] for v in first["versions"]] == [True, False]
    assert first["versions"][1]["version_id"] == ids[2] and first["next_cursor"] == ids[2]
    rest = data(await api.get("/storage/versions/photos/k",
                              params={"limit": 2, "cursor": first["next_cursor"]}))  # fmt: skip
    assert [v["version_id"] for v in rest["versions"]] == [ids[1], ids[0]]
    assert rest["next_cursor"] is None and {v["key"] for v in rest["versions"]} == {"k"}


async def test_listing_with_prefix_delimiter_and_cursor(api: httpx.AsyncClient) -> None:
    await bucket(api)
    for key in ("a/1", "a/2", "b", "c/x/y", "d"):
        data(await api.put(f"/storage/photos/{key}", content=b"."), 201)
    page = data(await api.get("/storage/photos", params={"delimiter": "/"}))
    assert page["prefixes"] == ["a/", "c/"] and [o["key"] for o in page["objects"]] == ["b", "d"]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await api.get("/storage/photos", params=params)
        seen += [o["key"] for o in data(r)["objects"]]
        cursor = r.json()["meta"]["next_cursor"]
        assert r.json()["meta"]["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert seen == ["a/1", "a/2", "b", "c/x/y", "d"]
    under = data(await api.get("/storage/photos", params={"prefix": "a/", "after": "a/1"}))
    assert [o["key"] for o in under["objects"]] == ["a/2"]
    for bad in ("!!", "Ù\x19", "_w"):  # not base64, not ASCII, not UTF-8
        error(await api.get("/storage/photos", params={"cursor": bad}), 400, "INVALID_INPUT")


# --- access -------------------------------------------------------------------------------------


async def test_other_tenants_see_nothing_and_public_buckets_read_anonymously(
    h: Harness, api: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    await bucket(api)
    data(await api.put("/storage/photos/a", content=b"secret"), 201)
    stranger = await h.register("stranger")
    async with await as_user(h, stranger.key) as other:
        error(await other.get("/storage/photos/a"), 404, "NOT_FOUND")
        error(await other.get("/storage/buckets/photos"), 404, "NOT_FOUND")
        error(await other.put("/storage/photos/b", content=b"x"), 404, "NOT_FOUND")
        assert data(await other.get("/storage/buckets")) == []
    error(await anon.get("/storage/photos/a"), 403, "FORBIDDEN")
    error(await anon.get("/storage/buckets"), 401, "UNAUTHORIZED")
    await api.patch("/storage/buckets/photos", json={"public_read": True})
    assert (await anon.get("/storage/photos/a")).content == b"secret"
    assert [o["key"] for o in data(await anon.get("/storage/photos"))["objects"]] == ["a"]
    error(await anon.put("/storage/photos/a", content=b"x"), 401, "UNAUTHORIZED")


async def test_a_viewer_reads_but_does_not_write(
    h: Harness, owner: Account, api: httpx.AsyncClient
) -> None:
    await bucket(api)
    data(await api.put("/storage/photos/a", content=b"a"), 201)
    viewer = await h.register("viewer")
    await h.cloud.tenants.invite(owner.principal, owner.tenant_id, viewer.email, "viewer")
    async with await as_user(h, viewer.key) as v:
        v.headers["X-Tenant-ID"] = owner.tenant_id
        assert (await v.get("/storage/photos/a")).content == b"a"
        error(await v.put("/storage/photos/b", content=b"b"), 403, "FORBIDDEN")
        error(await v.delete("/storage/photos/a"), 403, "FORBIDDEN")
        r = await v.post("/storage/presign/photos/b", json={"method": "PUT"})
        error(r, 403, "FORBIDDEN")


# --- multipart ----------------------------------------------------------------------------------


async def test_multipart_upload_init_parts_complete(
    h: Harness, owner: Account, api: httpx.AsyncClient
) -> None:
    await bucket(api)
    init = data(
        await api.post(
            "/storage/multipart/init/photos/big.bin",
            json={"content_type": "video/mp4", "metadata": {"a": "b"}},
        ),
        201,
    )
    upload = init["upload_id"]
    chunks = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"tail"]
    parts = []
    for n in (2, 1, 3):
        r = await api.put(f"/storage/multipart/upload/{upload}/parts",
                          params={"part_number": n}, content=chunks[n - 1])  # fmt: skip
        parts.append({"part_number": n, "etag": data(r)["etag"]})
    parts.sort(key=lambda p: int(str(p["part_number"])))
    made = data(await api.post(f"/storage/multipart/complete/{upload}", json={"parts": parts}))
    assert made["size"] == 10 * MiB + 4 and made["etag"].endswith("-3")
    assert made["content_type"] == "video/mp4" and made["metadata"] == {"a": "b"}
    assert (await api.get("/storage/photos/big.bin")).content == b"".join(chunks)
    got = await h.cloud.objects.open(owner.principal, "photos", "big.bin", body=False)
    assert got.version.parts_count == 3
    error(await api.post(f"/storage/multipart/complete/{upload}", json={"parts": parts}), 404,
          "NOT_FOUND")  # fmt: skip


async def test_multipart_refusals(h: Harness, api: httpx.AsyncClient) -> None:
    await bucket(api)
    upload = data(await api.post("/storage/multipart/init/photos/k"), 201)["upload_id"]
    path = f"/storage/multipart/upload/{upload}/parts"
    small = data(await api.put(path, params={"part_number": 1}, content=b"small"))
    last = data(await api.put(path, params={"part_number": 2}, content=b"last"))
    parts = [{"part_number": p["part_number"], "etag": p["etag"]} for p in (small, last)]
    r = await api.post(f"/storage/multipart/complete/{upload}", json={"parts": parts})
    assert error(r, 400, "INVALID_INPUT")["details"]["s3_code"] == "EntityTooSmall"
    wrong = [{"part_number": 1, "etag": "0" * 32}]
    r = await api.post(f"/storage/multipart/complete/{upload}", json={"parts": wrong})
    assert error(r, 400, "INVALID_INPUT")["details"]["s3_code"] == "InvalidPart"
    error(await api.put(path, params={"part_number": 0}, content=b"x"), 400, "INVALID_INPUT")
    error(await api.put(path, content=b"x"), 400, "INVALID_INPUT")
    stranger = await h.register("stranger")
    async with await as_user(h, stranger.key) as other:
        r = await other.put(path, params={"part_number": 1}, content=b"x")
        assert error(r, 404, "NOT_FOUND")["details"]["s3_code"] == "NoSuchUpload"
        error(await other.delete(f"/storage/multipart/abort/{upload}"), 404, "NOT_FOUND")
    assert (await api.delete(f"/storage/multipart/abort/{upload}")).status_code == 204
    error(await api.put(path, params={"part_number": 1}, content=b"x"), 404, "NOT_FOUND")
    error(await api.delete("/storage/multipart/abort/not-an-id"), 404, "NOT_FOUND")


# --- presigned URLs -----------------------------------------------------------------------------


def local(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc == "cloud.test"
    return f"{parts.path}?{parts.query}"


async def test_presigned_get_and_put_need_no_credentials(
    api: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    await bucket(api)
    data(await api.put("/storage/photos/a b.txt", content=b"shared"), 201)
    signed = data(await api.post("/storage/presign/photos/a b.txt", json={"expires_in": 60}))
    assert signed["method"] == "GET" and signed["expires_at"] == "2030-01-01T12:01:00Z"
    assert (await anon.get(local(signed["url"]))).content == b"shared"
    r = await anon.get(local(signed["url"]), headers={"range": "bytes=0-1"})
    assert r.status_code == 206 and r.content == b"sh"
    put = data(await api.post("/storage/presign/photos/up.bin", json={"method": "PUT"}))
    made = data(await anon.put(local(put["url"]), content=b"uploaded"), 201)
    assert made["key"] == "up.bin"
    assert (await api.get("/storage/photos/up.bin")).content == b"uploaded"
    error(await anon.put(local(signed["url"]), content=b"x"), 403, "FORBIDDEN")


async def test_presigned_urls_refuse_tampering_expiry_and_lost_rights(
    h: Harness, owner: Account, api: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    await bucket(api)
    data(await api.put("/storage/photos/a", content=b"a"), 201)
    data(await api.put("/storage/photos/b", content=b"b"), 201)
    url = local(data(await api.post("/storage/presign/photos/a", json={"expires_in": 60}))["url"])
    for forged in (url.replace("/a?", "/b?"), url.replace("expires=", "expires=9"),
                   url.split("&signature")[0]):  # fmt: skip
        message = error(await anon.get(forged), 403, "FORBIDDEN")["message"]
        assert "signature does not match" in message
    h.clock.advance(61)
    assert "expired" in error(await anon.get(url), 403, "FORBIDDEN")["message"]
    member = await h.register("member")
    await h.cloud.tenants.invite(owner.principal, owner.tenant_id, member.email, "developer")
    async with await as_user(h, member.key) as m:
        m.headers["X-Tenant-ID"] = owner.tenant_id
        theirs = local(data(await m.post("/storage/presign/photos/b"))["url"])
    assert (await anon.get(theirs)).content == b"b"
    bindings = await h.cloud.rbac.list_bindings(owner.principal, _everything())
    binding = next(b for b in bindings.items if b.principal_id == member.id)
    await h.cloud.rbac.unbind(owner.principal, binding.id)
    error(await anon.get(theirs), 403, "FORBIDDEN")


async def test_presign_checks_its_input(api: httpx.AsyncClient) -> None:
    await bucket(api)
    for body in ({"method": "DELETE"}, {"expires_in": 0}, {"expires_in": 604801}, {"x": 1}):
        error(await api.post("/storage/presign/photos/a", json=body), 400, "INVALID_INPUT")
    error(await api.post("/storage/presign/nope/a"), 404, "NOT_FOUND")


def _everything() -> Any:
    from thecloud.domain.common import ListQuery, PageRequest

    return ListQuery(page=PageRequest(limit=1000, offset=0))


# --- lifecycle ----------------------------------------------------------------------------------


async def test_lifecycle_rules_add_list_delete_and_apply(
    h: Harness, api: httpx.AsyncClient
) -> None:
    await bucket(api)
    path = "/storage/buckets/photos/lifecycle"
    rule = data(await api.post(path, json={"prefix": "tmp/", "status": "Enabled",
                                           "expiration_days": 1}), 201)  # fmt: skip
    assert rule == {
        "id": "rule-1",
        "prefix": "tmp/",
        "tags": {},
        "status": "Enabled",
        "expiration_days": 1,
        "noncurrent_days": None,
        "abort_days": None,
    }
    named = {"id": "keep", "status": "Disabled", "abort_days": 3}
    assert data(await api.post(path, json=named), 201)["id"] == "keep"
    error(await api.post(path, json=named), 409, "CONFLICT")
    for bad in ({"status": "Enabled"}, {"status": "On", "expiration_days": 1},
                {"status": "Enabled", "expiration_days": 0}, {"expiration_days": 1},
                {"status": "Enabled", "expiration_days": 10**9}):  # fmt: skip
        error(await api.post(path, json=bad), 400, "INVALID_INPUT")
    assert [r["id"] for r in data(await api.get(path))] == ["rule-1", "keep"]
    assert data(await api.get("/storage/buckets/photos"))["lifecycle"][1]["id"] == "keep"
    data(await api.put("/storage/photos/tmp/old", content=b"x"), 201)
    data(await api.put("/storage/photos/kept", content=b"x"), 201)
    h.clock.advance(days=2)
    assert await h.cloud.object_reaper.apply_lifecycle() == 1
    listed = data(await api.get("/storage/photos"))["objects"]
    assert [o["key"] for o in listed] == ["kept"]
    assert (await api.delete(f"{path}/keep")).status_code == 204
    error(await api.delete(f"{path}/keep"), 404, "NOT_FOUND")
    assert [r["id"] for r in data(await api.get(path))] == ["rule-1"]
