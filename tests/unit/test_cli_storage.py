"""`cloud storage ...` over the SDK on a MockTransport: buckets, ls, cp both ways with a
progress bar, rm, versions, versioning, presign, lifecycle rules and S3 access keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.test_cli_compute import FakeAPI, ok, page, run
from tests.unit.test_cli_network import sent, table
from tests.unit.test_cli_volumes import refused
from thecloud.entrypoints.cli import context
from thecloud.sdk import Client

BUCKET = {"id": "b-1", "name": "photos", "region": "us-east-1", "versioning": "Enabled",
          "public_read": False, "tags": {}, "lifecycle": [],
          "created_at": "2030-01-01T00:00:00Z"}  # fmt: skip
OBJECT = {"key": "a.txt", "size": 5, "etag": "abc", "last_modified": "2030-01-01T00:00:00Z",
          "content_type": "text/plain", "version_id": "v1", "is_latest": True,
          "delete_marker": False, "metadata": {}}  # fmt: skip
HEAD = {"content-length": "5", "etag": '"abc"', "content-type": "text/plain",
        "last-modified": "Tue, 01 Jan 2030 00:00:00 GMT", "x-amz-version-id": "v1"}  # fmt: skip


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAPI:
    fake = FakeAPI()

    def make(*args: Any, **kwargs: Any) -> Client:
        return Client(*args, transport=httpx.MockTransport(fake), **kwargs)

    monkeypatch.setattr(context, "make_client", make)
    monkeypatch.setenv("CLOUD_CONFIG", str(tmp_path / "config.json"))
    for name in ("CLOUD_API_URL", "CLOUD_API_KEY", "CLOUD_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    return fake


def test_mb_and_rb(api: FakeAPI) -> None:
    api.on("POST /storage/buckets", ok(BUCKET, 201))
    api.on("DELETE /storage/buckets/photos", httpx.Response(204))
    made = run("storage", "mb", "photos", "--versioning", "--public")
    assert made.exit_code == 0, made.output
    assert sent(api.last("POST /storage/buckets")) == {"name": "photos", "versioning": True,
                                                       "public_read": True}  # fmt: skip
    assert table(made.stdout) == [
        ["NAME", "REGION", "VERSIONING", "PUBLIC", "READ", "CREATED", "AT"],
        ["photos", "us-east-1", "Enabled", "no", "2030-01-01T00:00:00Z"],
    ]
    removed = run("storage", "rb", "s3://photos")
    assert (removed.exit_code, removed.stderr) == (0, "Removed bucket s3://photos.\n")


def test_a_refusal_is_one_error_line(api: FakeAPI) -> None:
    message = "The bucket you tried to delete is not empty"
    api.on("DELETE /storage/buckets/photos", refused(409, "CONFLICT", message))
    result = run("storage", "rb", "photos")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error [CONFLICT]: The bucket you tried to delete is not")


def test_ls_buckets_then_objects_with_folders(api: FakeAPI) -> None:
    api.on("GET /storage/buckets", page([BUCKET]))
    listing = {"objects": [OBJECT], "prefixes": ["2024/"], "next_cursor": None}
    api.on("GET /storage/photos", ok(listing))
    buckets = run("storage", "ls")
    assert buckets.exit_code == 0, buckets.output
    assert table(buckets.stdout)[1][0] == "photos"
    objects = run("storage", "ls", "s3://photos/")
    assert objects.exit_code == 0, objects.output
    assert dict(api.last("GET /storage/photos").url.params) == {"delimiter": "/", "limit": "1000"}
    assert table(objects.stdout) == [
        ["KEY", "SIZE", "LAST", "MODIFIED", "ETAG"],
        ["2024/", "PRE", "-", "-"],
        ["a.txt", "5", "2030-01-01T00:00:00Z", "abc"],
    ]
    deep = run("storage", "ls", "photos/2024/", "--recursive", "-o", "json")
    assert dict(api.last("GET /storage/photos").url.params) == {"prefix": "2024/", "limit": "1000"}
    assert json.loads(deep.stdout) == [{"prefix": "2024/"}, OBJECT]


def test_cp_uploads_a_file_with_a_progress_bar(api: FakeAPI, tmp_path: Path) -> None:
    api.on("PUT /storage/photos/2024/a.txt", ok({**OBJECT, "key": "2024/a.txt"}, 201))
    local = tmp_path / "a.txt"
    local.write_bytes(b"hello")
    result = run("storage", "cp", str(local), "s3://photos/2024/", "--meta", "owner=ada")
    assert result.exit_code == 0, result.output
    request = api.last("PUT /storage/photos/2024/a.txt")
    assert request.content == b"hello" and request.headers["x-amz-meta-owner"] == "ada"
    assert request.headers["content-type"] == "text/plain"
    assert "a.txt" in result.stderr and "5/5 bytes" in result.stderr
    assert result.stderr.endswith(f"Uploaded {local} to s3://photos/2024/a.txt (5 bytes).\n")
    as_json = run("storage", "cp", str(local), "s3://photos/2024/a.txt", "-o", "json")
    assert json.loads(as_json.stdout)["key"] == "2024/a.txt"


def test_cp_downloads_into_a_directory(api: FakeAPI, tmp_path: Path) -> None:
    api.on("HEAD /storage/photos/docs/a.txt", httpx.Response(200, headers=HEAD))
    api.on("GET /storage/photos/docs/a.txt", httpx.Response(200, content=b"hello", headers=HEAD))
    result = run("storage", "cp", "s3://photos/docs/a.txt", str(tmp_path), "--version-id", "v1")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.txt").read_bytes() == b"hello"
    assert api.last("GET /storage/photos/docs/a.txt").url.params["version_id"] == "v1"
    assert result.stderr.endswith(f"to {tmp_path / 'a.txt'} (5 bytes).\n")
    renamed = run("storage", "cp", "s3://photos/docs/a.txt", str(tmp_path / "b.txt"))
    assert renamed.exit_code == 0 and (tmp_path / "b.txt").read_bytes() == b"hello"


def test_cp_needs_one_local_and_one_remote_side(api: FakeAPI, tmp_path: Path) -> None:
    assert run("storage", "cp", "a", "b").exit_code == 2
    assert run("storage", "cp", "s3://a/b", "s3://c/d").exit_code == 2
    assert run("storage", "cp", str(tmp_path / "missing"), "s3://photos/").exit_code == 2
    assert run("storage", "cp", "s3://photos/a", str(tmp_path / "no" / "dir" / "f")).exit_code == 2
    assert api.requests == []


def test_rm_versions_and_versioning(api: FakeAPI) -> None:
    api.on("DELETE /storage/photos/a.txt", httpx.Response(204))
    versions = {"versions": [OBJECT, {**OBJECT, "version_id": "v0", "is_latest": False}],
                "next_cursor": None}  # fmt: skip
    api.on("GET /storage/versions/photos/a.txt", ok(versions))
    api.on("PATCH /storage/buckets/photos/versioning", ok({**BUCKET, "versioning": "Suspended"}))
    removed = run("storage", "rm", "s3://photos/a.txt", "--version-id", "v0")
    assert (removed.exit_code, removed.stderr) == (0, "Deleted s3://photos/a.txt version v0.\n")
    assert api.last("DELETE /storage/photos/a.txt").url.params["version_id"] == "v0"
    listed = run("storage", "versions", "photos/a.txt")
    assert listed.exit_code == 0, listed.output
    assert [row[0] for row in table(listed.stdout)[1:]] == ["v1", "v0"]
    suspended = run("storage", "versioning", "photos", "suspend")
    assert suspended.exit_code == 0, suspended.output
    assert sent(api.last("PATCH /storage/buckets/photos/versioning")) == {"status": "Suspended"}
    assert run("storage", "versioning", "photos", "maybe").exit_code == 2
    assert run("storage", "rm", "photos").exit_code == 2


def test_presign_prints_the_url(api: FakeAPI) -> None:
    signed = {"url": "http://x/storage/presigned/photos/a.txt?sig", "method": "GET",
              "expires_at": "2030-01-01T01:00:00Z"}  # fmt: skip
    api.on("POST /storage/presign/photos/a.txt", ok(signed))
    result = run("storage", "presign", "s3://photos/a.txt")
    assert (result.exit_code, result.stdout) == (0, signed["url"] + "\n")
    assert sent(api.last("POST /storage/presign/photos/a.txt")) == {
        "method": "GET",
        "expires_in": 3600,
    }
    as_json = run("storage", "presign", "s3://photos/a.txt", "--put", "--expires", "60",
                  "-o", "json")  # fmt: skip
    assert json.loads(as_json.stdout) == signed
    assert sent(api.last("POST /storage/presign/photos/a.txt")) == {
        "method": "PUT",
        "expires_in": 60,
    }
    assert run("storage", "presign", "s3://photos/a.txt", "--expires", "0").exit_code == 2


def test_lifecycle_add_list_rm(api: FakeAPI) -> None:
    rule = {"id": "rule-1", "prefix": "tmp/", "status": "Enabled", "expiration_days": 7,
            "noncurrent_days": None, "abort_days": None}  # fmt: skip
    api.on("POST /storage/buckets/logs/lifecycle", ok(rule, 201))
    api.on("GET /storage/buckets/logs/lifecycle", page([rule]))
    api.on("DELETE /storage/buckets/logs/lifecycle/rule-1", httpx.Response(204))
    added = run("storage", "lifecycle", "add", "logs", "--prefix", "tmp/", "--expire-days", "7")
    assert added.exit_code == 0, added.output
    assert sent(api.last("POST /storage/buckets/logs/lifecycle")) == {
        "prefix": "tmp/", "status": "Enabled", "expiration_days": 7}  # fmt: skip
    listed = run("storage", "lifecycle", "list", "logs")
    assert table(listed.stdout)[1][:4] == ["rule-1", "tmp/", "Enabled", "7"]
    removed = run("storage", "lifecycle", "rm", "logs", "rule-1")
    assert (removed.exit_code, removed.stderr) == (0, "Removed lifecycle rule rule-1 of logs.\n")


def test_credentials_create_shows_the_secret_once_and_how_to_use_it(api: FakeAPI) -> None:
    made = {"id": "c-1", "access_key_id": "TCKEY", "secret_access_key": "SeCrEt",
            "status": "ACTIVE", "description": "ci"}  # fmt: skip
    api.on("POST /storage/credentials", ok(made, 201))
    api.on("GET /storage/cluster/status", ok({"s3_endpoint": "http://localhost:9000"}))
    result = run("storage", "credentials", "create", "-d", "ci")
    assert result.exit_code == 0, result.output
    assert sent(api.last("POST /storage/credentials")) == {"description": "ci"}
    assert "SeCrEt" in result.stdout and "TCKEY" in result.stdout
    assert "aws configure set aws_secret_access_key SeCrEt" in result.stderr
    assert "--endpoint-url http://localhost:9000 s3 ls" in result.stderr
    assert 'endpoint_url="http://localhost:9000"' in result.stderr
    as_json = json.loads(run("storage", "credentials", "create", "-o", "json").stdout)
    assert as_json == {**made, "s3_endpoint": "http://localhost:9000"}


def test_credentials_list_and_revoke(api: FakeAPI) -> None:
    cred = {
        "id": "c-1",
        "access_key_id": "TCKEY",
        "status": "ACTIVE",
        "description": "ci",
        "principal_type": "user",
        "created_at": "2030-01-01T00:00:00Z",
        "tenant_id": "t",
    }
    api.on("GET /storage/credentials", page([cred]))
    api.on("DELETE /storage/credentials/TCKEY", ok({**cred, "status": "REVOKED"}))
    listed = run("storage", "credentials", "list")
    assert table(listed.stdout)[1][:3] == ["TCKEY", "ACTIVE", "ci"]
    revoked = run("storage", "credentials", "revoke", "TCKEY")
    assert revoked.exit_code == 0 and table(revoked.stdout)[1][1] == "REVOKED"


def test_status(api: FakeAPI) -> None:
    status = {"mode": "single-node", "nodes": 1, "healthy": True, "s3_endpoint": "http://h:9000"}
    api.on("GET /storage/cluster/status", ok(status))
    assert json.loads(run("storage", "status", "-o", "json").stdout) == status


def test_lifecycle_add_with_tags(api: FakeAPI) -> None:
    rule = {"id": "rule-1", "prefix": "", "tags": {"scratch": "yes", "team": "a"},
            "status": "Enabled", "expiration_days": 1, "noncurrent_days": None,
            "abort_days": None}  # fmt: skip
    api.on("POST /storage/buckets/logs/lifecycle", ok(rule, 201))
    added = run("storage", "lifecycle", "add", "logs", "--expire-days", "1",
                "--tag", "scratch=yes", "--tag", "team=a")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert sent(api.last("POST /storage/buckets/logs/lifecycle")) == {
        "prefix": "", "status": "Enabled", "expiration_days": 1,
        "tags": {"scratch": "yes", "team": "a"}}  # fmt: skip
    assert run("storage", "lifecycle", "add", "logs", "--expire-days", "1",
               "--tag", "novalue").exit_code == 2  # fmt: skip


def test_object_tags_show_set_and_remove(api: FakeAPI) -> None:
    tagged = {"bucket": "photos", "key": "a/b.txt", "version_id": "null",
              "tags": {"team": "a", "env": ""}}  # fmt: skip
    path = "/storage/buckets/photos/object-tags/a/b.txt"
    api.on(f"GET {path}", ok(tagged))
    api.on(f"PUT {path}", ok(tagged))
    api.on(f"DELETE {path}", ok({**tagged, "tags": {}}))
    shown = run("storage", "tags", "s3://photos/a/b.txt")
    assert shown.exit_code == 0, shown.output
    assert [row[:2] for row in table(shown.stdout)[1:]] == [["team", "a"], ["env"]]  # "" blank
    done = run("storage", "tag", "s3://photos/a/b.txt", "team=a", "env=")
    assert done.exit_code == 0, done.output
    assert sent(api.last(f"PUT {path}")) == {"tags": {"team": "a", "env": ""}}
    removed = run("storage", "untag", "photos/a/b.txt")
    assert (removed.exit_code, removed.stderr) == (0, "Removed the tags of s3://photos/a/b.txt.\n")
