"""The S3 endpoint with boto3 on its default settings, over HTTP and over HTTPS (where botocore
sends aws-chunked bodies with trailing CRC32 checksums): buckets, objects, listings,
versioning, multipart, copies, presigned URLs (SigV2 and SigV4), checksums, errors."""

from __future__ import annotations

import hashlib
import io
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.conftest import Server

MiB = 1024 * 1024


@pytest.fixture(params=["http", "https"])
def endpoint(request: pytest.FixtureRequest) -> Server:
    fixture = "server" if request.param == "http" else "tls_server"
    found: Server = request.getfixturevalue(fixture)
    return found


@pytest.fixture
def s3(endpoint: Server) -> Any:
    return endpoint.s3(endpoint.register("s3"))


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    yield name


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_buckets_create_list_head_delete(s3: Any) -> None:
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.head_bucket(Bucket=name)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket=name)
    assert code_of(exc) == "BucketAlreadyOwnedByYou"
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(ClientError) as exc:
        s3.delete_bucket(Bucket=name)
    assert code_of(exc) == "BucketNotEmpty"
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket=name)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_every_answer_has_its_own_request_id(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    answers = [s3.head_object(Bucket=bucket, Key="k") for _ in range(20)]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="missing")
    ids = [a["ResponseMetadata"]["RequestId"] for a in answers]
    ids.append(exc.value.response["ResponseMetadata"]["RequestId"])
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 16 and int(i, 16) >= 0 and i == i.upper() for i in ids)


def test_bad_bucket_name_is_a_clear_400(s3: Any) -> None:
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="Bad_Name")
    assert code_of(exc) == "InvalidBucketName"
    assert "3-63 characters" in exc.value.response["Error"]["Message"]


def test_put_get_head_with_metadata_range_and_checksums(s3: Any, bucket: str) -> None:
    body = b"hello world " * 1000
    put = s3.put_object(
        Bucket=bucket, Key="dir/hello.txt", Body=body, ContentType="text/plain",
        Metadata={"colour": "blue"}, ContentDisposition="attachment",
        ChecksumAlgorithm="SHA256",
    )  # fmt: skip
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'  # noqa: S324
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="dir/hello.txt", ChecksumMode="ENABLED")
    assert got["Body"].read() == body
    assert (got["ContentType"], got["Metadata"], got["ContentDisposition"]) == (
        "text/plain", {"colour": "blue"}, "attachment",
    )  # fmt: skip
    assert got["ChecksumSHA256"] == put["ChecksumSHA256"]
    part = s3.get_object(Bucket=bucket, Key="dir/hello.txt", Range="bytes=6-10")
    assert (part["Body"].read(), part["ContentRange"]) == (b"world", f"bytes 6-10/{len(body)}")
    tail = s3.get_object(Bucket=bucket, Key="dir/hello.txt", Range="bytes=-3")
    assert tail["Body"].read() == body[-3:]
    head = s3.head_object(Bucket=bucket, Key="dir/hello.txt")
    assert head["ContentLength"] == len(body)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="dir/hello.txt", Range=f"bytes={len(body)}-")
    assert code_of(exc) == "InvalidRange"


def test_every_checksum_algorithm_is_verified_and_returned(s3: Any, bucket: str) -> None:
    # CRC32C too, but botocore needs its optional CRT extension to compute that one
    for algorithm in ("CRC32", "SHA1", "SHA256"):
        put = s3.put_object(Bucket=bucket, Key=algorithm, Body=b"abc", ChecksumAlgorithm=algorithm)
        head = s3.head_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
        assert head[f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]


def test_a_wrong_content_md5_is_bad_digest_and_stores_nothing(s3: Any, bucket: str) -> None:
    wrong = "1B2M2Y8AsgTpgAmY7PhCfg=="  # the MD5 of b""
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"not empty", ContentMD5=wrong)
    assert code_of(exc) == "BadDigest"
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="k")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_conditional_requests(s3: Any, bucket: str) -> None:
    etag = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="k", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"0000"')
    assert code_of(exc) == "PreconditionFailed"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=modified)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304


def test_listing_v1_v2_prefix_delimiter_and_pages(s3: Any, bucket: str) -> None:
    keys = [f"logs/2026/{i:03}.txt" for i in range(25)] + ["logs/top.txt", "readme", "é.txt"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, PaginationConfig={"PageSize": 7}
    )
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
    assert listed == sorted(keys, key=lambda k: k.encode())
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["logs/"]
    assert [o["Key"] for o in top["Contents"]] == ["readme", "é.txt"]
    under = s3.list_objects(Bucket=bucket, Prefix="logs/", Delimiter="/")
    assert [p["Prefix"] for p in under["CommonPrefixes"]] == ["logs/2026/"]
    v1 = s3.get_paginator("list_objects").paginate(Bucket=bucket, Prefix="logs/2026/",
                                                   PaginationConfig={"PageSize": 10})  # fmt: skip
    assert sum(len(p["Contents"]) for p in v1) == 25
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="logs/top.txt")
    assert [o["Key"] for o in after["Contents"]] == ["readme", "é.txt"]


def test_versioning_versions_markers_and_specific_versions(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    marker = s3.delete_object(Bucket=bucket, Key="doc")
    assert marker["DeleteMarker"] is True
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="doc")
    assert code_of(exc) == "NoSuchKey"
    listed = s3.list_object_versions(Bucket=bucket, Prefix="doc")
    assert [v["VersionId"] for v in listed["Versions"]] == [v2, v1]
    assert listed["DeleteMarkers"][0]["IsLatest"] is True
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=v1)["Body"].read() == b"one"
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    put = s3.put_object(Bucket=bucket, Key="doc", Body=b"null one")
    assert put.get("VersionId") in (None, "null")


def test_multipart_upload_file_and_the_low_level_calls(s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * (21 * MiB // 256)
    config = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=5 * MiB)
    s3.upload_fileobj(io.BytesIO(data), bucket, "big.bin", Config=config)
    head = s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == len(data) and head["ETag"].endswith('-5"')
    out = io.BytesIO()
    s3.download_fileobj(bucket, "big.bin", out, Config=config)
    assert hashlib.sha256(out.getvalue()).digest() == hashlib.sha256(data).digest()
    up = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key="parts", UploadId=up, PartNumber=1, Body=b"a")
    last = s3.upload_part(Bucket=bucket, Key="parts", UploadId=up, PartNumber=2, Body=b"b")
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [up]
    assert [
        p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key="parts", UploadId=up)["Parts"]
    ] == [1, 2]
    parts = [{"PartNumber": 1, "ETag": small["ETag"]}, {"PartNumber": 2, "ETag": last["ETag"]}]
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="parts", UploadId=up,
                                     MultipartUpload={"Parts": parts})  # fmt: skip
    assert code_of(exc) == "EntityTooSmall"
    with pytest.raises(ClientError) as exc:
        s3.complete_multipart_upload(Bucket=bucket, Key="parts", UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": '"00"'}]})  # fmt: skip
    assert code_of(exc) == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="parts", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": last["ETag"]}]})  # fmt: skip
    assert done["ETag"].endswith('-1"')
    assert s3.get_object(Bucket=bucket, Key="parts")["Body"].read() == b"b"
    aborted = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
    with pytest.raises(ClientError) as exc:
        s3.list_parts(Bucket=bucket, Key="gone", UploadId=aborted)
    assert code_of(exc) == "NoSuchUpload"


def test_upload_part_copy_and_copy_object(s3: Any, bucket: str) -> None:
    src = bytes(range(256)) * (6 * MiB // 256)
    s3.put_object(Bucket=bucket, Key="src", Body=src, Metadata={"m": "1"})
    copied = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert copied["CopyObjectResult"]["ETag"] == s3.head_object(Bucket=bucket, Key="src")["ETag"]
    assert s3.head_object(Bucket=bucket, Key="dst")["Metadata"] == {"m": "1"}
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src",
                   MetadataDirective="REPLACE", Metadata={"m": "2"})  # fmt: skip
    assert s3.head_object(Bucket=bucket, Key="dst2")["Metadata"] == {"m": "2"}
    up = s3.create_multipart_upload(Bucket=bucket, Key="joined")["UploadId"]
    first = s3.upload_part_copy(Bucket=bucket, Key="joined", UploadId=up, PartNumber=1,
                                CopySource={"Bucket": bucket, "Key": "src"},
                                CopySourceRange=f"bytes=0-{5 * MiB - 1}")  # fmt: skip
    second = s3.upload_part(Bucket=bucket, Key="joined", UploadId=up, PartNumber=2, Body=b"end")
    s3.complete_multipart_upload(Bucket=bucket, Key="joined", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
                  {"PartNumber": 2, "ETag": second["ETag"]}]})  # fmt: skip
    assert s3.get_object(Bucket=bucket, Key="joined")["Body"].read() == src[: 5 * MiB] + b"end"


def test_delete_objects_in_one_call(s3: Any, bucket: str) -> None:
    for key in ("a", "b", "c"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    done = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}]})
    assert sorted(d["Key"] for d in done["Deleted"]) == ["a", "b"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["c"]


def test_presigned_urls_sigv2_and_sigv4_expire(endpoint: Server, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="p.txt", Body=b"presigned")
    verify = ssl.create_default_context(cafile=endpoint.ca_file) if endpoint.ca_file else True
    v2 = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p.txt"})
    assert "Signature=" in v2 and "AWSAccessKeyId=" in v2
    assert httpx.get(v2, verify=verify).content == b"presigned"
    v4_client = endpoint.s3(endpoint.register("v4b"), signature_version="s3v4")
    v4_client.create_bucket(Bucket=bucket + "-v4")
    v4_client.put_object(Bucket=bucket + "-v4", Key="k", Body=b"v4")
    params = {"Bucket": bucket + "-v4", "Key": "k"}
    url = v4_client.generate_presigned_url("get_object", Params=params, ExpiresIn=1)
    assert "X-Amz-Signature=" in url
    assert httpx.get(url, verify=verify).content == b"v4"
    put_url = v4_client.generate_presigned_url(
        "put_object", Params={"Bucket": bucket + "-v4", "Key": "up"}
    )
    assert httpx.put(put_url, content=b"uploaded", verify=verify).status_code == 200
    assert v4_client.get_object(Bucket=bucket + "-v4", Key="up")["Body"].read() == b"uploaded"
    time.sleep(2.1)
    expired = httpx.get(url, verify=verify)
    assert expired.status_code == 403 and b"expired" in expired.content


def test_signature_errors_and_revoked_keys(endpoint: Server) -> None:
    user = endpoint.register("sig")
    key_id, secret = endpoint.s3_credentials(user)
    common = {"endpoint_url": endpoint.s3_url, "region_name": "us-east-1",
              "verify": endpoint.ca_file or True}  # fmt: skip
    wrong = boto3.client(
        "s3", aws_access_key_id=key_id, aws_secret_access_key=secret + "x", **common
    )
    with pytest.raises(ClientError) as exc:
        wrong.list_buckets()
    assert code_of(exc) == "SignatureDoesNotMatch"
    right = boto3.client("s3", aws_access_key_id=key_id, aws_secret_access_key=secret,
                         config=Config(signature_version="s3v4"), **common)  # fmt: skip
    right.list_buckets()
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    right.create_bucket(Bucket=bucket)
    right.put_object(Bucket=bucket, Key="k", Body=b"shared")
    link = right.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    verify = ssl.create_default_context(cafile=endpoint.ca_file) if endpoint.ca_file else True
    for _ in range(3):  # a link used again and again (its signature is checked once)
        assert httpx.get(link, verify=verify).content == b"shared"
    with endpoint.api(user) as api:
        assert api.delete(f"/storage/credentials/{key_id}").status_code == 200
    with pytest.raises(ClientError) as exc:
        right.list_buckets()
    assert code_of(exc) == "InvalidAccessKeyId"
    revoked = httpx.get(link, verify=verify)  # the same link, its key gone
    assert revoked.status_code == 403 and b"InvalidAccessKeyId" in revoked.content


def test_tenants_are_isolated_and_public_read_is_anonymous(endpoint: Server, s3: Any,
                                                           bucket: str) -> None:  # fmt: skip
    s3.put_object(Bucket=bucket, Key="k", Body=b"mine")
    other = endpoint.s3(endpoint.register("other"))
    with pytest.raises(ClientError) as exc:
        other.get_object(Bucket=bucket, Key="k")
    assert code_of(exc) == "NoSuchBucket"
    assert bucket not in [b["Name"] for b in other.list_buckets()["Buckets"]]
    with pytest.raises(ClientError) as exc:
        other.create_bucket(Bucket=bucket)
    assert code_of(exc) == "BucketAlreadyExists"
    anonymous = boto3.client("s3", endpoint_url=endpoint.s3_url, region_name="us-east-1",
                             verify=endpoint.ca_file or True,
                             config=Config(signature_version=UNSIGNED))  # fmt: skip
    with pytest.raises(ClientError) as exc:
        anonymous.get_object(Bucket=bucket, Key="k")
    assert code_of(exc) == "AccessDenied"
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert anonymous.get_object(Bucket=bucket, Key="k")["Body"].read() == b"mine"
    assert other.get_object(Bucket=bucket, Key="k")["Body"].read() == b"mine"
    with pytest.raises(ClientError) as exc:
        anonymous.put_object(Bucket=bucket, Key="k", Body=b"theirs")
    assert code_of(exc) == "AccessDenied"


def test_bucket_settings_tagging_cors_encryption_lifecycle(s3: Any, bucket: str) -> None:
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "team", "Value": "a"}]
    rules = [{"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"]}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedMethods"] == ["GET"]
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rule = {"ID": "old-logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
            "Expiration": {"Days": 30}}  # fmt: skip
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert got[0]["ID"] == "old-logs" and got[0]["Expiration"]["Days"] == 30


def test_cors_preflight_and_the_headers_of_actual_requests(server: Server) -> None:
    s3 = server.s3(server.register("cors"), signature_version="s3v4")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"for the page")
    rules = [
        {"AllowedOrigins": ["https://*.app.example"], "AllowedMethods": ["GET", "HEAD"],
         "AllowedHeaders": ["x-amz-*", "content-type"], "ExposeHeaders": ["ETag"],
         "MaxAgeSeconds": 600},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT"]},
    ]  # fmt: skip
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    page = "https://web.app.example"
    url = f"{server.s3_url}/{bucket}/k"

    asked = {"origin": page, "access-control-request-method": "GET",
             "access-control-request-headers": "X-Amz-Date, Content-Type"}  # fmt: skip
    pre = httpx.options(url, headers=asked)
    assert pre.status_code == 200, pre.text
    assert pre.headers["access-control-allow-origin"] == page
    assert pre.headers["access-control-allow-methods"] == "GET, HEAD"
    assert pre.headers["access-control-allow-headers"] == "x-amz-date, content-type"
    assert pre.headers["access-control-max-age"] == "600"
    assert pre.headers["access-control-allow-credentials"] == "true"
    for refused in (
        {**asked, "origin": "https://evil.example"},
        {**asked, "access-control-request-method": "DELETE"},
        {**asked, "access-control-request-headers": "authorization-extra"},
    ):
        denied = httpx.options(url, headers=refused)
        assert denied.status_code == 403 and b"AccessForbidden" in denied.content
    anyone = httpx.options(
        url, headers={"origin": "http://x", "access-control-request-method": "PUT"}
    )
    assert anyone.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in anyone.headers

    signed = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    got = httpx.get(signed, headers={"origin": page})
    assert got.content == b"for the page"
    assert got.headers["access-control-allow-origin"] == page
    assert got.headers["access-control-expose-headers"] == "ETag"
    assert "Origin" in got.headers["vary"]
    missing = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "none"})
    error = httpx.get(missing, headers={"origin": page})  # the page can read the error too
    assert error.status_code == 404 and error.headers["access-control-allow-origin"] == page
    for other in ({"origin": "https://evil.example"}, {}):
        plain = httpx.get(signed, headers=other)
        assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers
    s3.delete_bucket_cors(Bucket=bucket)
    assert "access-control-allow-origin" not in httpx.get(signed, headers={"origin": page}).headers


def _bytes_read(pid: int) -> int:
    """What the process has read so far, files and sockets (rchar of /proc/<pid>/io)."""
    with open(f"/proc/{pid}/io") as io_stats:
        return next(int(line.split()[1]) for line in io_stats if line.startswith("rchar:"))


def test_a_download_the_client_abandons_stops_reading_the_object(server: Server) -> None:
    s3 = server.s3(server.register("leave"), signature_version="s3v4")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    size = 96 * MiB
    s3.put_object(Bucket=bucket, Key="big", Body=b"z" * size)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "big"})
    before = _bytes_read(server.process.pid)
    with httpx.stream("GET", url) as r:
        assert r.status_code == 200 and int(r.headers["content-length"]) == size
        next(r.iter_raw(MiB))  # the first MiB, then the client hangs up
    time.sleep(1.5)  # long enough for the server to read the whole object, had it gone on
    read = _bytes_read(server.process.pid) - before
    assert read < size // 3, f"the server read {read / MiB:.0f} MiB for a client that left"
    assert s3.get_object(Bucket=bucket, Key="big", Range="bytes=0-3")["Body"].read() == b"zzzz"


def test_sse_c_needs_the_same_key_over_https(tls_server: Server) -> None:
    s3 = tls_server.s3(tls_server.register("ssec"))
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    key = b"k" * 32
    s3.put_object(Bucket=bucket, Key="secret", Body=b"for my eyes", SSECustomerAlgorithm="AES256",
                  SSECustomerKey=key)  # fmt: skip
    got = s3.get_object(Bucket=bucket, Key="secret", SSECustomerAlgorithm="AES256",
                        SSECustomerKey=key)  # fmt: skip
    assert got["Body"].read() == b"for my eyes"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret")
    assert code_of(exc) == "InvalidRequest"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=b"x" * 32)  # fmt: skip
    assert code_of(exc) == "AccessDenied"


def test_virtual_hosted_style_addressing(server: Server) -> None:
    """`<bucket>.localhost`: the bucket comes from the Host header."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    user = server.register("vhost")
    key_id, secret = server.s3_credentials(user)
    s3 = server.s3(user)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="dir/file.txt", Body=b"virtual")
    port = server.s3_url.rsplit(":", 1)[1]
    empty = hashlib.sha256(b"").hexdigest()
    url = f"http://{bucket}.localhost:{port}/dir/file.txt"
    request = AWSRequest("GET", url, headers={"x-amz-content-sha256": empty})
    S3SigV4Auth(Credentials(key_id, secret), "s3", "us-east-1").add_auth(request)
    headers = {**dict(request.headers.items()), "Host": f"{bucket}.localhost:{port}"}
    r = httpx.get(f"{server.s3_url}/dir/file.txt", headers=headers)
    assert r.status_code == 200, r.text
    assert r.content == b"virtual"


def test_unsupported_sub_resources_never_touch_the_object(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"keep me")
    with pytest.raises(ClientError) as exc:
        s3.put_object_retention(Bucket=bucket, Key="k", Retention={
            "Mode": "GOVERNANCE", "RetainUntilDate": "2100-01-01T00:00:00Z"})  # fmt: skip
    assert code_of(exc) == "NotImplemented"
    with pytest.raises(ClientError) as exc:
        s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "ON"})
    assert code_of(exc) == "NotImplemented"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"keep me"


def test_an_objects_acl_is_its_buckets_and_no_other_is_taken_silently(
    endpoint: Server, s3: Any, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="private")
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ACL="bucket-owner-full-control")
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="private")  # changes nothing: accepted
    refused = [
        lambda: s3.put_object(Bucket=bucket, Key="pub", Body=b"x", ACL="public-read"),
        lambda: s3.put_object(Bucket=bucket, Key="pub", Body=b"x",
                              GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'),
        lambda: s3.copy_object(Bucket=bucket, Key="pub", ACL="public-read",
                               CopySource={"Bucket": bucket, "Key": "k"}),
        lambda: s3.create_multipart_upload(Bucket=bucket, Key="pub", ACL="public-read"),
        lambda: s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read"),
    ]  # fmt: skip
    for call in refused:
        with pytest.raises(ClientError) as exc:
            call()
        assert code_of(exc) == "AccessControlListNotSupported"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="pub")  # nothing was stored
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    verify = ssl.create_default_context(cafile=endpoint.ca_file) if endpoint.ca_file else True
    assert httpx.get(f"{endpoint.s3_url}/{bucket}/k", verify=verify).status_code == 403
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")  # the way to share its objects
    grants = s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL", "READ"]
    assert httpx.get(f"{endpoint.s3_url}/{bucket}/k", verify=verify).content == b"x"
    with pytest.raises(ClientError) as exc:
        s3.get_object_acl(Bucket=bucket, Key="missing")
    assert code_of(exc) == "NoSuchKey"


def test_a_body_refused_before_it_was_sent_leaves_the_connection_usable(
    endpoint: Server,
) -> None:
    """botocore sends PUT bodies after "Expect: 100-continue". A PUT refused before its body
    was asked for gets no "100 Continue", so the body never comes: the next call on that
    connection must not be taken for it (it was: a 400 with no body, or a hang)."""
    s3 = endpoint.s3(endpoint.register("expect"), max_pool_connections=1,
                     retries={"max_attempts": 0}, read_timeout=20)  # fmt: skip
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    for size in (1, MiB):
        body = b"x" * size
        refused: list[Callable[[bytes], object]] = [
            lambda data: s3.put_object(Bucket=name, Key="k", Body=data, ACL="public-read"),
            lambda data: s3.upload_part(Bucket=name, Key="k", UploadId="0" * 32, PartNumber=1,
                                        Body=data),
        ]  # fmt: skip
        for call in refused:
            with pytest.raises(ClientError) as exc:
                call(body)
            assert code_of(exc) in ("AccessControlListNotSupported", "NoSuchUpload")
            assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]  # same connection
    s3.put_object(Bucket=name, Key="k", Body=b"x" * MiB)
    assert s3.head_object(Bucket=name, Key="k")["ContentLength"] == MiB


def tag_set(s3: Any, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def test_object_tags_on_put_copy_multipart_and_versions(s3: Any, bucket: str) -> None:
    made = s3.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="team=a&note=x%20y&empty=")
    assert tag_set(s3, bucket, "k") == {"team": "a", "note": "x y", "empty": ""}
    assert s3.get_object(Bucket=bucket, Key="k")["TagCount"] == 3
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "c", "Value": "3"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == [{"Key": "c", "Value": "3"}]
    head = s3.head_object(Bucket=bucket, Key="k")
    assert head["ETag"] == made["ETag"]  # a tag change is no new object

    s3.copy_object(Bucket=bucket, Key="kept", CopySource={"Bucket": bucket, "Key": "k"})
    s3.copy_object(Bucket=bucket, Key="replaced", CopySource={"Bucket": bucket, "Key": "k"},
                   TaggingDirective="REPLACE", Tagging="z=9")  # fmt: skip
    assert s3.get_object_tagging(Bucket=bucket, Key="kept")["TagSet"] == [
        {"Key": "c", "Value": "3"}
    ]
    assert s3.get_object_tagging(Bucket=bucket, Key="replaced")["TagSet"] == [
        {"Key": "z", "Value": "9"}
    ]
    s3.delete_object_tagging(Bucket=bucket, Key="k")
    assert s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"] == []
    assert "TagCount" not in s3.get_object(Bucket=bucket, Key="k")

    up = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="mp=yes")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=1, Body=b"p")["ETag"]
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up, MultipartUpload=parts)
    assert tag_set(s3, bucket, "mp") == {"mp": "yes"}

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    v1 = s3.put_object(Bucket=bucket, Key="v", Body=b"1", Tagging="v=1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="v", Body=b"2", Tagging="v=2")
    older = {"TagSet": [{"Key": "old", "Value": "yes"}]}
    answer = s3.put_object_tagging(Bucket=bucket, Key="v", VersionId=v1, Tagging=older)
    assert answer["VersionId"] == v1
    old = s3.get_object_tagging(Bucket=bucket, Key="v", VersionId=v1)
    assert (old["VersionId"], old["TagSet"]) == (v1, [{"Key": "old", "Value": "yes"}])
    assert s3.get_object_tagging(Bucket=bucket, Key="v")["TagSet"] == [{"Key": "v", "Value": "2"}]

    bad = [
        lambda: s3.put_object(Bucket=bucket, Key="n", Body=b"", Tagging="aws:x=1"),
        lambda: s3.put_object(Bucket=bucket, Key="n", Body=b"", Tagging="a=1&a=2"),
        lambda: s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={
            "TagSet": [{"Key": f"k{i}", "Value": ""} for i in range(11)]}),
    ]  # fmt: skip
    for call in bad:
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as exc:
        s3.get_object_tagging(Bucket=bucket, Key="n")  # nothing was stored
    assert code_of(exc) == "NoSuchKey"


def test_conditional_writes(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="lock", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="lock", Body=b"2", IfNoneMatch="*")
    assert code_of(exc) == "PreconditionFailed"
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="lock", Body=b"2", IfMatch='"0000"')
    assert code_of(exc) == "PreconditionFailed"
    s3.put_object(Bucket=bucket, Key="lock", Body=b"3", IfMatch=first["ETag"])
    assert s3.get_object(Bucket=bucket, Key="lock")["Body"].read() == b"3"


def test_anonymous_reads_cannot_rewrite_headers(endpoint: Server, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="note.txt", Body=b"<b>hi</b>", ContentType="text/plain")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    verify = ssl.create_default_context(cafile=endpoint.ca_file) if endpoint.ca_file else True
    url = f"{endpoint.s3_url}/{bucket}/note.txt"
    assert httpx.get(url, verify=verify).headers["content-type"] == "text/plain"
    r = httpx.get(url, params={"response-content-type": "text/html"}, verify=verify)
    assert r.status_code == 400 and b"InvalidRequest" in r.content
    r = httpx.put(url, content=b"x", verify=verify)
    assert r.status_code == 403
