"""Object storage over the REST API, the SDK and the `cloud storage` CLI against the running
server, checked through its S3 endpoint with boto3 (and the other way round): one set of
buckets and objects, whichever door they came in by."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.e2e.conftest import Server, assert_error
from thecloud.sdk import Client

MiB = 1024 * 1024


@pytest.fixture
def sdk(server: Server, user: dict[str, str]) -> Iterator[Client]:
    with Client(server.url, api_key=user["api_key"]) as client:
        yield client


@pytest.fixture
def s3(server: Server, user: dict[str, str]) -> Any:
    """boto3 on the S3 endpoint (THECLOUD_S3_PORT of the server), as the same user."""
    return server.s3(user)


@pytest.fixture
def bucket(sdk: Client) -> str:
    name = f"rest-{uuid.uuid4().hex[:12]}"
    sdk.buckets.create(name)
    return name


def test_cluster_status_names_the_s3_endpoint_boto3_uses(server: Server, sdk: Client) -> None:
    status = sdk.buckets.cluster_status()
    assert status["mode"] == "single-node" and status["healthy"] is True
    assert status["s3_endpoint"] == server.s3_url


def test_uploaded_with_the_sdk_read_with_boto3(sdk: Client, s3: Any, bucket: str) -> None:
    body = os.urandom(3 * MiB + 11)  # more than the API's JSON body limit: streamed
    made = sdk.objects.put(bucket, "dir/data bin", body, content_type="application/x-test",
                           metadata={"colour": "blue"})  # fmt: skip
    assert made["etag"] == hashlib.md5(body).hexdigest()  # noqa: S324
    got = s3.get_object(Bucket=bucket, Key="dir/data bin")
    assert got["Body"].read() == body
    assert got["ETag"] == f'"{made["etag"]}"' and got["ContentType"] == "application/x-test"
    assert got["Metadata"] == {"colour": "blue"}
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="dir/")["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("dir/data bin", len(body))]
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_uploaded_with_boto3_read_with_the_sdk(
    sdk: Client, s3: Any, bucket: str, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"from boto3", ContentType="text/plain",
                  Metadata={"owner": "ada"})  # fmt: skip
    assert sdk.objects.get(bucket, "a.txt") == b"from boto3"
    head = sdk.objects.head(bucket, "a.txt")
    assert (head["size"], head["content_type"], head["metadata"]) == (
        10, "text/plain", {"owner": "ada"},
    )  # fmt: skip
    big = os.urandom(12 * MiB)
    config = TransferConfig(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(big), bucket, "big.bin", Config=config)
    dest = tmp_path / "big.bin"
    seen: list[int] = []
    info = sdk.objects.download(bucket, "big.bin", dest, on_progress=seen.append)
    assert dest.read_bytes() == big and info["etag"].endswith("-3") and seen[-1] == len(big)
    assert sdk.objects.get(bucket, "big.bin", byte_range=(5, 9)) == big[5:10]
    keys = [i.get("key") or i["prefix"] for i in sdk.objects.iterate(bucket, page_size=1)]
    assert keys == ["a.txt", "big.bin"]


def test_sdk_multipart_upload_is_one_object_for_boto3(
    sdk: Client, s3: Any, bucket: str, tmp_path: Path
) -> None:
    source = tmp_path / "video.mp4"
    source.write_bytes(os.urandom(11 * MiB + 5))
    made = sdk.objects.upload_file(bucket, "video.mp4", source, part_size=5 * MiB,
                                   threshold=6 * MiB)  # fmt: skip
    assert made["etag"].endswith("-3") and made["content_type"] == "video/mp4"
    got = s3.get_object(Bucket=bucket, Key="video.mp4")
    assert got["Body"].read() == source.read_bytes() and got["ContentType"] == "video/mp4"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_versions_and_deletes_agree(sdk: Client, s3: Any, bucket: str) -> None:
    sdk.buckets.set_versioning(bucket, True)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    first = sdk.objects.put(bucket, "k", b"v1")["version_id"]
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"v2")["VersionId"]
    s3.delete_object(Bucket=bucket, Key="k")
    found = sdk.objects.versions(bucket, "k")["versions"]
    assert [v["delete_marker"] for v in found] == [True, False, False]
    assert [v["version_id"] for v in found[1:]] == [second, first]
    assert sdk.objects.get(bucket, "k", version_id=first) == b"v1"
    sdk.objects.delete(bucket, "k", version_id=found[0]["version_id"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    boto_versions = s3.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]
    assert [v["VersionId"] for v in boto_versions] == [second, first]


def test_lifecycle_rules_are_the_s3_configuration(sdk: Client, s3: Any, bucket: str) -> None:
    sdk.buckets.add_lifecycle_rule(bucket, prefix="tmp/", expiration_days=7)
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["ID"] == "rule-1" and rules[0]["Expiration"]["Days"] == 7
    assert rules[0]["Status"] == "Enabled"
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "old", "Filter": {"Prefix": "a/"}, "Status": "Enabled",
         "NoncurrentVersionExpiration": {"NoncurrentDays": 3}},
    ]})  # fmt: skip
    listed = sdk.buckets.lifecycle_rules(bucket).items
    assert listed == [
        {
            "id": "old",
            "prefix": "a/",
            "status": "Enabled",
            "expiration_days": None,
            "noncurrent_days": 3,
            "abort_days": None,
            "tags": {},
        }
    ]
    sdk.buckets.delete_lifecycle_rule(bucket, "old")
    with pytest.raises(ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    # a tag filter, whichever way it comes in
    sdk.buckets.add_lifecycle_rule(bucket, rule_id="scratch", expiration_days=1,
                                   tags={"scratch": "yes"})  # fmt: skip
    tagged = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert tagged["Filter"] == {"Tag": {"Key": "scratch", "Value": "yes"}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "and", "Filter": {"And": {"Prefix": "logs/", "Tags": [
            {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}},
         "Status": "Enabled", "Expiration": {"Days": 2}},
    ]})  # fmt: skip
    listed = sdk.buckets.lifecycle_rules(bucket).items
    assert (listed[0]["prefix"], listed[0]["tags"]) == ("logs/", {"a": "1", "b": "2"})
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": "no", "Filter": {"Tag": {"Key": "a", "Value": "1"}}, "Status": "Enabled",
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        ]})  # fmt: skip
    assert exc.value.response["Error"]["Code"] == "InvalidRequest"


def test_presigned_urls_over_plain_http(server: Server, sdk: Client, bucket: str) -> None:
    sdk.objects.put(bucket, "shared.txt", b"for anyone")
    signed = sdk.objects.presign(bucket, "shared.txt", expires_in=600)
    short = sdk.objects.presign(bucket, "shared.txt", expires_in=1)
    upload = sdk.objects.presign(bucket, "dropped.bin", method="PUT", expires_in=600)
    with httpx.Client(timeout=30) as anonymous:
        assert anonymous.get(signed["url"]).content == b"for anyone"
        assert anonymous.put(upload["url"], content=b"x" * (2 * MiB)).status_code == 201
        forged = signed["url"].replace("shared.txt", "dropped.bin")
        assert "does not match" in str(assert_error(anonymous.get(forged), 403, "FORBIDDEN"))
        deadline = time.monotonic() + 10
        while anonymous.get(short["url"]).status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "expired" in str(assert_error(anonymous.get(short["url"]), 403, "FORBIDDEN"))
    assert sdk.objects.head(bucket, "dropped.bin")["size"] == 2 * MiB


def test_rest_bucket_delete_and_other_tenants(
    server: Server, user: dict[str, str], sdk: Client, s3: Any, bucket: str
) -> None:
    sdk.objects.put(bucket, "k", b"x")
    with server.api(server.register("other")) as other:
        assert_error(other.get(f"/storage/{bucket}/k"), 404, "NOT_FOUND")
    with server.api(user) as mine:
        assert_error(mine.delete(f"/storage/buckets/{bucket}"), 409, "CONFLICT")
        s3.delete_object(Bucket=bucket, Key="k")
        assert mine.delete(f"/storage/buckets/{bucket}").status_code == 204
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=bucket)


def test_revoked_credentials_stop_boto3(server: Server, sdk: Client) -> None:
    made = sdk.storage_credentials.create(description="e2e")
    s3 = boto3.client("s3", endpoint_url=server.s3_url, region_name="us-east-1",
                      aws_access_key_id=made["access_key_id"],
                      aws_secret_access_key=made["secret_access_key"])  # fmt: skip
    s3.list_buckets()
    sdk.storage_credentials.revoke(made["access_key_id"])
    with pytest.raises(ClientError) as exc:
        s3.list_buckets()
    assert exc.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def cloud(server: Server, user: dict[str, str], home: Path, *args: str) -> str:
    env = {**os.environ, "CLOUD_CONFIG": str(home / "config.json"), "CLOUD_API_URL": server.url,
           "CLOUD_API_KEY": user["api_key"], "COLUMNS": "200"}  # fmt: skip
    env.pop("CLOUD_TENANT_ID", None)
    done = subprocess.run(
        [sys.executable, "-m", "thecloud.entrypoints.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"cloud {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_the_cli_copies_both_ways(
    server: Server, user: dict[str, str], s3: Any, tmp_path: Path
) -> None:
    name = f"cli-{uuid.uuid4().hex[:12]}"
    cloud(server, user, tmp_path, "storage", "mb", name, "--versioning")
    local = tmp_path / "notes.txt"
    local.write_text("written by the cli\n")
    cloud(server, user, tmp_path, "storage", "cp", str(local), f"s3://{name}/docs/")
    got = s3.get_object(Bucket=name, Key="docs/notes.txt")
    assert got["Body"].read() == b"written by the cli\n" and got["ContentType"] == "text/plain"
    s3.put_object(Bucket=name, Key="docs/from-boto3.txt", Body=b"hi")
    listing = cloud(server, user, tmp_path, "storage", "ls", f"s3://{name}/docs/")
    assert "from-boto3.txt" in listing and "notes.txt" in listing
    out = tmp_path / "out"
    out.mkdir()
    cloud(server, user, tmp_path, "storage", "cp", f"s3://{name}/docs/from-boto3.txt", str(out))
    assert (out / "from-boto3.txt").read_bytes() == b"hi"
    url = cloud(server, user, tmp_path, "storage", "presign", f"s3://{name}/docs/notes.txt")
    assert httpx.get(url.strip()).content == b"written by the cli\n"


def test_object_tags_over_rest_the_sdk_and_the_cli(
    server: Server, user: dict[str, str], sdk: Client, s3: Any, bucket: str, tmp_path: Path
) -> None:
    made = sdk.objects.put(bucket, "a/b.txt", b"tagged", tags={"team": "a", "x": "y z"})
    assert made["tags"] == {"team": "a", "x": "y z"}
    tags = s3.get_object_tagging(Bucket=bucket, Key="a/b.txt")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"team": "a", "x": "y z"}
    s3.put_object_tagging(Bucket=bucket, Key="a/b.txt",
                          Tagging={"TagSet": [{"Key": "from", "Value": "boto3"}]})  # fmt: skip
    assert sdk.objects.tags(bucket, "a/b.txt")["tags"] == {"from": "boto3"}
    assert sdk.objects.set_tags(bucket, "a/b.txt", {"n": "1"})["tags"] == {"n": "1"}
    assert sdk.objects.head(bucket, "a/b.txt")["etag"] == made["etag"]
    with httpx.Client(base_url=server.url, headers={"X-API-Key": user["api_key"]}) as api:
        r = api.put(f"/storage/buckets/{bucket}/object-tags/a/b.txt",
                    json={"tags": {f"k{i}": "v" for i in range(11)}})  # fmt: skip
        assert r.status_code == 400 and "at most 10 tags" in r.text
        r = api.get(f"/storage/buckets/{bucket}/object-tags/missing")
        assert r.status_code == 404
        listed = api.get(f"/storage/{bucket}", params={"prefix": "a/"}).json()["data"]
        assert listed["objects"][0]["tags"] == {"n": "1"}
        downloaded = api.get(f"/storage/{bucket}/a/b.txt")
        assert downloaded.headers["x-amz-tagging-count"] == "1"

    cloud(server, user, tmp_path, "storage", "tag", f"s3://{bucket}/a/b.txt", "env=prod", "k=")
    assert sdk.objects.tags(bucket, "a/b.txt")["tags"] == {"env": "prod", "k": ""}
    shown = cloud(server, user, tmp_path, "storage", "tags", f"s3://{bucket}/a/b.txt")
    assert "env" in shown and "prod" in shown
    local = tmp_path / "up.txt"
    local.write_text("with tags\n")
    cloud(server, user, tmp_path, "storage", "cp", str(local), f"s3://{bucket}/up.txt",
          "--tag", "source=cli")  # fmt: skip
    assert s3.get_object_tagging(Bucket=bucket, Key="up.txt")["TagSet"] == [
        {"Key": "source", "Value": "cli"}
    ]
    cloud(server, user, tmp_path, "storage", "untag", f"s3://{bucket}/a/b.txt")
    assert s3.get_object_tagging(Bucket=bucket, Key="a/b.txt")["TagSet"] == []
