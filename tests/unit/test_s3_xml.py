"""The S3 XML wire format against botocore itself: our responses through its parsers (and a
whole boto3-style client), its request bodies through ours; plus malformed and hostile input."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.parsers import RestXMLParser
from botocore.serialize import create_serializer

from thecloud.domain.errors import PayloadTooLarge
from thecloud.domain.objects import (
    Bucket,
    MultipartUpload,
    ObjectVersion,
    Part,
    S3Invalid,
    Segment,
    Versioning,
)
from thecloud.entrypoints.s3 import xml_in, xml_out
from thecloud.entrypoints.s3.xml_in import malformed

_SESSION = botocore.session.get_session()
_MODEL = _SESSION.get_service_model("s3")
T0 = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
ETAG = '"9b2cf535f27731c974343645a3985328"'
TRICKY_KEYS = [
    "plain.txt",
    "a b.txt",
    "a+b.txt",
    "100%.csv",
    "한글/x.txt",
    "odd <&>\"' chars",
    "carriage\rreturn",
    "tab\tand\nnewline",
    "emoji-🎉",
]


# --- helpers ------------------------------------------------------------------------------


def parsed(operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    """What botocore's own response parser makes of a body (ResponseMetadata dropped)."""
    shape = _MODEL.operation_model(operation).output_shape
    response = {"body": body, "headers": {}, "status_code": status}
    out: dict[str, Any] = RestXMLParser().parse(response, shape)
    out.pop("ResponseMetadata", None)
    return out


def serialized(operation: str, params: dict[str, Any]) -> bytes:
    """The request body exactly as botocore serialises it for the s3 service model."""
    request = create_serializer("rest-xml").serialize_to_request(
        params, _MODEL.operation_model(operation)
    )
    body: bytes = request["body"]
    return body


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self) -> Iterator[bytes]:
        yield self.body


class _Canned:
    """A real botocore s3 client (handlers and all) whose HTTP layer answers with a body."""

    def __init__(self, render: Any) -> None:
        self.render = render
        self.queries: list[dict[str, str]] = []
        self.client = _SESSION.create_client(
            "s3",
            region_name="us-east-1",
            endpoint_url="http://s3.test",
            aws_access_key_id="AKIDEXAMPLE",
            aws_secret_access_key="secret",
        )
        self.client.meta.events.register("before-send.s3", self._send)

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.queries.append(query)
        return AWSResponse(request.url, 200, {}, _Raw(self.render(query)))


def obj(key: str, **changes: Any) -> ObjectVersion:
    version = ObjectVersion(
        id="o1",
        tenant_id="t1",
        bucket_id="b1",
        key=key,
        version_id="v1",
        seq=1,
        is_latest=True,
        delete_marker=False,
        size=11,
        etag=ETAG,
        last_modified=T0,
        created_by="u1",
    )
    return replace(version, **changes)


def upload(key: str = "big.bin", **changes: Any) -> MultipartUpload:
    base = MultipartUpload(
        id="up-1", tenant_id="t1", bucket_id="b1", key=key, initiated_at=T0, created_by="u1"
    )
    return replace(base, **changes)


def part(number: int, **changes: Any) -> Part:
    segment = Segment(blob_id="blob", size=5, sealed_key="k")
    base = Part(
        id=f"p{number}",
        tenant_id="t1",
        upload_id="up-1",
        number=number,
        size=5 * 1024**2,
        etag=f'"etag{number}"',
        last_modified=T0,
        segment=segment,
    )
    return replace(base, **changes)


def s3_code(exc: pytest.ExceptionInfo[Exception]) -> object:
    assert isinstance(exc.value, S3Invalid)
    return exc.value.details["s3_code"]


# --- rendering: errors, buckets, bucket configuration -------------------------------------


def test_error_is_what_botocore_reports() -> None:
    body = xml_out.error(
        "NoSuchKey", "The <specified> key & co", "/b/k", "REQ1", {"Key": "k&1", "bad name": 1}
    )
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>')
    assert b"xmlns" not in body and b"bad name" not in body
    error = parsed("GetObject", body, status=404)["Error"]
    assert error["Code"] == "NoSuchKey"
    assert error["Message"] == "The <specified> key & co"
    assert error["Resource"] == "/b/k" and error["Key"] == "k&1"


def test_list_buckets() -> None:
    bucket = Bucket(
        id="b1",
        tenant_id="t1",
        name="photos",
        region="eu-west-1",
        versioning=Versioning.OFF,
        public_read=False,
        created_by="u1",
        created_at=T0,
        updated_at=T0,
    )
    out = parsed("ListBuckets", xml_out.list_buckets([bucket], "owner-1", "alice"))
    assert out == {
        "Buckets": [{"Name": "photos", "CreationDate": T0, "BucketRegion": "eu-west-1"}],
        "Owner": {"ID": "owner-1", "DisplayName": "alice"},
    }
    empty = parsed("ListBuckets", xml_out.list_buckets([], "owner-1", prefix="p"))
    assert empty == {"Buckets": [], "Owner": {"ID": "owner-1"}, "Prefix": "p"}


@pytest.mark.parametrize(("region", "seen"), [("us-east-1", None), ("eu-west-1", "eu-west-1")])
def test_location_through_a_boto3_client(region: str, seen: str | None) -> None:
    canned = _Canned(lambda _: xml_out.location(region))
    assert canned.client.get_bucket_location(Bucket="b").get("LocationConstraint") == seen


def test_versioning() -> None:
    assert parsed("GetBucketVersioning", xml_out.versioning(Versioning.OFF)) == {}
    out = parsed("GetBucketVersioning", xml_out.versioning(Versioning.SUSPENDED))
    assert out == {"Status": "Suspended"}


def test_tagging_round_trip() -> None:
    tag_set = [{"Key": "team", "Value": "a&b <c>"}, {"Key": "empty", "Value": ""}]
    tags = xml_in.tagging(
        serialized("PutBucketTagging", {"Bucket": "b", "Tagging": {"TagSet": tag_set}})
    )
    assert tags == {"team": "a&b <c>", "empty": ""}
    assert parsed("GetBucketTagging", xml_out.tagging(tags)) == {"TagSet": tag_set}


def test_cors_round_trip() -> None:
    rules = [
        {
            "ID": "web",
            "AllowedHeaders": ["*"],
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedOrigins": ["https://*.example.com", "http://localhost:3000"],
            "ExposeHeaders": ["ETag", "x-amz-request-id"],
            "MaxAgeSeconds": 3000,
        },
        {"AllowedMethods": ["PUT", "POST", "DELETE"], "AllowedOrigins": ["*"]},
    ]
    body = serialized("PutBucketCors", {"Bucket": "b", "CORSConfiguration": {"CORSRules": rules}})
    mine = xml_in.cors(body)
    assert mine[0] == {
        "id": "web",
        "allowed_origins": ["https://*.example.com", "http://localhost:3000"],
        "allowed_methods": ["GET", "HEAD"],
        "allowed_headers": ["*"],
        "expose_headers": ["ETag", "x-amz-request-id"],
        "max_age_seconds": 3000,
    }
    assert mine[1]["id"] == "" and mine[1]["max_age_seconds"] is None
    assert parsed("GetBucketCors", xml_out.cors(mine)) == {"CORSRules": rules}


def test_encryption_round_trip() -> None:
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    body = serialized(
        "PutBucketEncryption", {"Bucket": "b", "ServerSideEncryptionConfiguration": config}
    )
    algorithm = xml_in.encryption(body)
    out = parsed("GetBucketEncryption", xml_out.encryption(algorithm))
    assert out == {
        "ServerSideEncryptionConfiguration": {
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BucketKeyEnabled": False,
                }
            ]
        }
    }


def test_lifecycle_round_trip() -> None:
    rules = [
        {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
         "Expiration": {"Days": 30}, "NoncurrentVersionExpiration": {"NoncurrentDays": 7}},
        {"ID": "uploads", "Filter": {}, "Status": "Disabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
        {"Prefix": "tmp/", "Status": "Enabled", "Expiration": {"Days": 1}},
    ]  # fmt: skip
    body = serialized(
        "PutBucketLifecycleConfiguration",
        {"Bucket": "b", "LifecycleConfiguration": {"Rules": rules}},
    )
    mine = xml_in.lifecycle(body)
    assert mine == [
        {"id": "logs", "prefix": "logs/", "status": "Enabled", "expiration_days": 30,
         "noncurrent_days": 7, "abort_days": None, "tags": {}},
        {"id": "uploads", "prefix": "", "status": "Disabled", "expiration_days": None,
         "noncurrent_days": None, "abort_days": 2, "tags": {}},
        {"id": "rule-1", "prefix": "tmp/", "status": "Enabled", "expiration_days": 1,
         "noncurrent_days": None, "abort_days": None, "tags": {}},
    ]  # fmt: skip
    out = parsed("GetBucketLifecycleConfiguration", xml_out.lifecycle(mine))["Rules"]
    assert out[0] == {
        "ID": "logs",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
    }
    assert out[1]["Filter"] == {"Prefix": ""}
    assert out[1]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    assert out[2]["ID"] == "rule-1" and out[2]["Filter"] == {"Prefix": "tmp/"}


def test_lifecycle_tag_filters_round_trip() -> None:
    rules = [
        {"ID": "one-tag", "Filter": {"Tag": {"Key": "temp", "Value": "yes"}},
         "Status": "Enabled", "Expiration": {"Days": 3}},
        {"ID": "and", "Filter": {"And": {"Prefix": "logs/", "Tags": [
            {"Key": "a", "Value": "1"}, {"Key": "b", "Value": ""}]}},
         "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 2}},
        {"ID": "and-no-prefix", "Filter": {"And": {"Tags": [
            {"Key": "a", "Value": "1"}, {"Key": "c", "Value": "3"}]}},
         "Status": "Enabled", "Expiration": {"Days": 1}},
    ]  # fmt: skip
    mine = xml_in.lifecycle(_lifecycle(*rules))
    assert [(r["prefix"], r["tags"]) for r in mine] == [
        ("", {"temp": "yes"}), ("logs/", {"a": "1", "b": ""}), ("", {"a": "1", "c": "3"}),
    ]  # fmt: skip
    out = parsed("GetBucketLifecycleConfiguration", xml_out.lifecycle(mine))["Rules"]
    assert [r["Filter"] for r in out] == [r["Filter"] for r in rules]


# --- rendering: listings ------------------------------------------------------------------


def _render_v2(query: dict[str, str]) -> bytes:
    objects = [
        obj(k, size=i, checksums={"CRC32": "AAAAAA=="} if i == 0 else {})
        for i, k in enumerate(TRICKY_KEYS)
    ]
    return xml_out.list_objects_v2(
        "photos",
        objects,
        ["dir one/", "dir+two/"],
        prefix=query.get("prefix", ""),
        delimiter=query.get("delimiter", ""),
        max_keys=int(query.get("max-keys", 1000)),
        is_truncated=True,
        continuation_token=query.get("continuation-token", ""),
        next_continuation_token="tok/+=",
        start_after=query.get("start-after", ""),
        encoding_type=query.get("encoding-type", ""),
        fetch_owner=query.get("fetch-owner") == "true",
        owner_id="owner-1",
    )


def test_list_objects_v2_as_a_boto3_user_sees_it() -> None:
    canned = _Canned(_render_v2)
    out = canned.client.list_objects_v2(
        Bucket="photos", Prefix="a b+c%", Delimiter="/", StartAfter="x y", ContinuationToken="t0"
    )
    assert canned.queries[0]["encoding-type"] == "url"  # botocore asks for it, then decodes
    assert [c["Key"] for c in out["Contents"]] == TRICKY_KEYS
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["dir one/", "dir+two/"]
    assert (out["Prefix"], out["Delimiter"], out["StartAfter"]) == ("a b+c%", "/", "x y")
    assert out["ContinuationToken"] == "t0" and out["NextContinuationToken"] == "tok/+="
    assert out["KeyCount"] == len(TRICKY_KEYS) + 2 and out["IsTruncated"] is True
    first = out["Contents"][0]
    assert first == {
        "Key": "plain.txt",
        "LastModified": T0,
        "ETag": ETAG,
        "ChecksumAlgorithm": ["CRC32"],
        "ChecksumType": "FULL_OBJECT",
        "Size": 0,
        "StorageClass": "STANDARD",
    }
    with_owner = canned.client.list_objects_v2(Bucket="photos", FetchOwner=True)
    assert with_owner["Contents"][1]["Owner"] == {"ID": "owner-1"}


def test_list_objects_v2_without_url_encoding_escapes_everything() -> None:
    canned = _Canned(_render_v2)
    out = canned.client.list_objects_v2(Bucket="photos", EncodingType="url")
    assert out["Contents"][2]["Key"] == "a%2Bb.txt"  # asked for by the user: left encoded
    body = _render_v2({})
    assert b"carriage&#13;return" in body and b"&lt;&amp;&gt;&quot;" in body
    plain = parsed("ListObjectsV2", body)
    assert [c["Key"] for c in plain["Contents"]] == TRICKY_KEYS
    assert "EncodingType" not in plain and "Owner" not in plain["Contents"][0]


def test_list_objects_v1_as_a_boto3_user_sees_it() -> None:
    def render(query: dict[str, str]) -> bytes:
        return xml_out.list_objects_v1(
            "photos",
            [obj(k) for k in TRICKY_KEYS],
            ["p q/"],
            prefix=query.get("prefix", ""),
            delimiter=query.get("delimiter", ""),
            marker=query.get("marker", ""),
            next_marker="a+b.txt",
            max_keys=2,
            is_truncated=True,
            encoding_type=query.get("encoding-type", ""),
            owner_id="owner-1",
            owner_name="alice",
        )

    canned = _Canned(render)
    out = canned.client.list_objects(Bucket="photos", Prefix="p q", Delimiter="/", Marker="m n")
    assert [c["Key"] for c in out["Contents"]] == TRICKY_KEYS
    assert out["Contents"][0]["Owner"] == {"ID": "owner-1", "DisplayName": "alice"}
    assert (out["Marker"], out["NextMarker"], out["Delimiter"]) == ("m n", "a+b.txt", "/")
    assert out["Prefix"] == "p%20q"  # as on S3: botocore leaves ListObjects' Prefix encoded
    assert out["CommonPrefixes"] == [{"Prefix": "p q/"}]
    assert out["MaxKeys"] == 2 and out["IsTruncated"] is True and out["Name"] == "photos"


def test_list_object_versions_as_a_boto3_user_sees_it() -> None:
    versions = [
        obj("a b", version_id="v3", delete_marker=True, size=0, etag=""),
        obj("a b", version_id="v2", is_latest=False, last_modified=T0 - timedelta(days=1)),
        obj("c&d", version_id="null", checksums={"SHA256": "abc", "CRC32": "x-2"}),
    ]

    def render(query: dict[str, str]) -> bytes:
        return xml_out.list_object_versions(
            "photos",
            versions,
            ["z z/"],
            key_marker=query.get("key-marker", ""),
            version_id_marker=query.get("version-id-marker", ""),
            next_key_marker="c&d",
            next_version_id_marker="null",
            max_keys=3,
            is_truncated=True,
            encoding_type=query.get("encoding-type", ""),
            owner_id="owner-1",
        )

    out = _Canned(render).client.list_object_versions(
        Bucket="photos", KeyMarker="k m", VersionIdMarker="v0"
    )
    owner = {"ID": "owner-1"}
    assert out["DeleteMarkers"] == [
        {"Owner": owner, "Key": "a b", "VersionId": "v3", "IsLatest": True, "LastModified": T0}
    ]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in out["Versions"]] == [
        ("a b", "v2", False),
        ("c&d", "null", True),
    ]
    assert out["Versions"][0]["LastModified"] == T0 - timedelta(days=1)
    assert out["Versions"][1]["ChecksumAlgorithm"] == ["SHA256", "CRC32"]
    assert out["Versions"][1]["ChecksumType"] == "COMPOSITE"
    assert out["Versions"][0]["Owner"] == owner and out["Versions"][0]["ETag"] == ETAG
    assert (out["KeyMarker"], out["VersionIdMarker"]) == ("k m", "v0")
    assert (out["NextKeyMarker"], out["NextVersionIdMarker"]) == ("c&d", "null")
    assert out["CommonPrefixes"] == [{"Prefix": "z z/"}]


def test_timestamps_are_utc_with_milliseconds() -> None:
    east = timezone(timedelta(hours=9))
    local = datetime(2026, 11, 21, 21, 0, 0, 123456, tzinfo=east)
    naive = datetime(2026, 11, 21, 12, 0, 0)
    body = xml_out.copy_object_result(ETAG, local)
    assert b"<LastModified>2026-11-21T12:00:00.000Z</LastModified>" in body
    assert b"<LastModified>2026-11-21T12:00:00.000Z</LastModified>" in xml_out.copy_part_result(
        ETAG, naive
    )


# --- rendering: multipart, copies, batch delete -------------------------------------------


def test_initiate_and_complete_multipart() -> None:
    out = parsed("CreateMultipartUpload", xml_out.initiate_multipart("b", "a&b", "up-1"))
    assert out == {"Bucket": "b", "Key": "a&b", "UploadId": "up-1"}
    body = xml_out.complete_multipart(
        "http://s3.test/b/a%26b", "b", "a&b", '"abc-2"', {"CRC32": "AAAA-2"}
    )
    assert parsed("CompleteMultipartUpload", body) == {
        "Location": "http://s3.test/b/a%26b",
        "Bucket": "b",
        "Key": "a&b",
        "ETag": '"abc-2"',
        "ChecksumCRC32": "AAAA-2",
        "ChecksumType": "COMPOSITE",
    }


def test_list_parts() -> None:
    parts = [part(1, checksums={"CRC32C": "abc="}), part(2)]
    body = xml_out.list_parts(
        "b",
        upload(checksum_algorithm="CRC32C"),
        parts,
        part_number_marker=0,
        max_parts=2,
        is_truncated=True,
        owner_id="owner-1",
    )
    out = parsed("ListParts", body)
    assert out["Parts"][0] == {
        "PartNumber": 1,
        "LastModified": T0,
        "ETag": '"etag1"',
        "Size": 5 * 1024**2,
        "ChecksumCRC32C": "abc=",
    }
    assert (out["PartNumberMarker"], out["NextPartNumberMarker"], out["MaxParts"]) == (0, 2, 2)
    assert out["IsTruncated"] is True and out["UploadId"] == "up-1" and out["Key"] == "big.bin"
    assert out["Initiator"] == {"ID": "u1"} and out["Owner"] == {"ID": "owner-1"}
    assert out["StorageClass"] == "STANDARD" and out["ChecksumAlgorithm"] == "CRC32C"


def test_list_multipart_uploads() -> None:
    body = xml_out.list_multipart_uploads(
        "b",
        [upload("a b"), upload("c", id="up-2", checksum_algorithm="SHA256")],
        ["d/"],
        delimiter="/",
        next_key_marker="c",
        next_upload_id_marker="up-2",
        max_uploads=2,
        is_truncated=True,
        encoding_type="url",
        owner_id="owner-1",
    )
    out = parsed("ListMultipartUploads", body)
    assert out["Uploads"][0] == {
        "Key": "a%20b",
        "UploadId": "up-1",
        "Initiator": {"ID": "u1"},
        "Owner": {"ID": "owner-1"},
        "StorageClass": "STANDARD",
        "Initiated": T0,
    }
    assert out["Uploads"][1]["ChecksumAlgorithm"] == "SHA256"
    assert (out["KeyMarker"], out["UploadIdMarker"]) == ("", "")
    assert (out["NextKeyMarker"], out["NextUploadIdMarker"]) == ("c", "up-2")
    assert out["CommonPrefixes"] == [{"Prefix": "d/"}] and out["EncodingType"] == "url"
    assert out["Bucket"] == "b" and out["MaxUploads"] == 2 and out["Delimiter"] == "/"


def test_copy_results() -> None:
    out = parsed("CopyObject", xml_out.copy_object_result(ETAG, T0, {"SHA256": "s="}))
    assert out == {
        "CopyObjectResult": {
            "LastModified": T0,
            "ETag": ETAG,
            "ChecksumSHA256": "s=",
            "ChecksumType": "FULL_OBJECT",
        }
    }
    out = parsed("UploadPartCopy", xml_out.copy_part_result(ETAG, T0))
    assert out == {"CopyPartResult": {"LastModified": T0, "ETag": ETAG}}


def test_delete_result() -> None:
    deleted = [("a&b", None, False, None), ("c", "v1", True, "dm1")]
    errors = [("d", "v9", "AccessDenied", "Access <Denied>")]
    out = parsed("DeleteObjects", xml_out.delete_result(deleted, errors, quiet=False))
    assert out == {
        "Deleted": [
            {"Key": "a&b"},
            {"Key": "c", "VersionId": "v1", "DeleteMarker": True, "DeleteMarkerVersionId": "dm1"},
        ],
        "Errors": [
            {"Key": "d", "VersionId": "v9", "Code": "AccessDenied", "Message": "Access <Denied>"}
        ],
    }
    quiet = parsed("DeleteObjects", xml_out.delete_result(deleted, [], quiet=True))
    assert quiet == {}


# --- parsing: request bodies as botocore serialises them ----------------------------------


def test_complete_multipart_body() -> None:
    parts = [
        {"PartNumber": 1, "ETag": '"e1"', "ChecksumCRC32": "AAAA", "ChecksumSHA256": "s1"},
        {"PartNumber": 3, "ETag": "e3"},
    ]
    body = serialized(
        "CompleteMultipartUpload",
        {"Bucket": "b", "Key": "k", "UploadId": "u", "MultipartUpload": {"Parts": parts}},
    )
    assert xml_in.complete_multipart(body) == [
        (1, '"e1"', {"CRC32": "AAAA", "SHA256": "s1"}),
        (3, '"e3"', {}),  # unquoted ETags are accepted, as by S3, and quoted here
    ]


@pytest.mark.parametrize("numbers", [[2, 1], [1, 1]])
def test_complete_multipart_wants_ascending_parts(numbers: list[int]) -> None:
    parts = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>e</ETag></Part>" for n in numbers)
    with pytest.raises(S3Invalid) as exc:
        xml_in.complete_multipart(
            f"<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>".encode()
        )
    assert s3_code(exc) == "InvalidPartOrder"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"<CompleteMultipartUpload/>", "MalformedXML"),
        (b"<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
         "MalformedXML"),
        (b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
         b"</CompleteMultipartUpload>", "MalformedXML"),
        (b"<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>e</ETag></Part>"
         b"</CompleteMultipartUpload>", "InvalidArgument"),
    ],
)  # fmt: skip
def test_complete_multipart_rejects(body: bytes, code: str) -> None:
    with pytest.raises(S3Invalid) as exc:
        xml_in.complete_multipart(body)
    assert s3_code(exc) == code


def test_delete_objects_body() -> None:
    objects = [{"Key": " spaced & <odd> "}, {"Key": "x", "VersionId": "v1"}, {"Key": "한글"}]
    body = serialized(
        "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": objects, "Quiet": True}}
    )
    keys, quiet = xml_in.delete_objects(body)
    assert keys == [(" spaced & <odd> ", None), ("x", "v1"), ("한글", None)] and quiet is True
    loud = serialized("DeleteObjects", {"Bucket": "b", "Delete": {"Objects": objects[:1]}})
    assert xml_in.delete_objects(loud)[1] is False


@pytest.mark.parametrize("count", [0, 1001])
def test_delete_objects_counts(count: int) -> None:
    objects = "<Object><Key>k</Key></Object>" * count
    with pytest.raises(S3Invalid) as exc:
        xml_in.delete_objects(f"<Delete>{objects}</Delete>".encode())
    assert s3_code(exc) == "MalformedXML"


def test_delete_objects_refuses_conditions_it_cannot_honour() -> None:
    body = serialized(
        "DeleteObjects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "k", "ETag": ETAG}]}}
    )
    with pytest.raises(S3Invalid, match="conditional"):
        xml_in.delete_objects(body)


def test_versioning_body() -> None:
    for status in ("Enabled", "Suspended"):
        config = {"Status": status, "MFADelete": "Disabled"}
        body = serialized("PutBucketVersioning", {"Bucket": "b", "VersioningConfiguration": config})
        assert xml_in.versioning(body) == status
    mfa = {"Status": "Enabled", "MFADelete": "Enabled"}
    body = serialized("PutBucketVersioning", {"Bucket": "b", "VersioningConfiguration": mfa})
    with pytest.raises(S3Invalid, match="MFA delete is not supported") as exc:
        xml_in.versioning(body)
    assert s3_code(exc) == "InvalidArgument"
    with pytest.raises(S3Invalid, match="Status must be Enabled or Suspended"):
        xml_in.versioning(b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>")


def test_tagging_rejects_duplicate_keys() -> None:
    tag = "<Tag><Key>k</Key><Value>v</Value></Tag>"
    with pytest.raises(S3Invalid) as exc:
        xml_in.tagging(f"<Tagging><TagSet>{tag}{tag}</TagSet></Tagging>".encode())
    assert s3_code(exc) == "InvalidTag"
    with pytest.raises(S3Invalid, match="TagSet"):
        xml_in.tagging(b"<Tagging/>")


def test_cors_rejects() -> None:
    rule = {"AllowedMethods": ["PATCH"], "AllowedOrigins": ["*"]}
    body = serialized("PutBucketCors", {"Bucket": "b", "CORSConfiguration": {"CORSRules": [rule]}})
    with pytest.raises(S3Invalid, match="Unsupported method is PATCH"):
        xml_in.cors(body)
    with pytest.raises(S3Invalid, match="AllowedOrigin") as exc:
        xml_in.cors(b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod>"
                    b"</CORSRule></CORSConfiguration>")  # fmt: skip
    assert s3_code(exc) == "MalformedXML"
    with pytest.raises(S3Invalid, match="more than one wildcard"):
        xml_in.cors(b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>"
                    b"*.*</AllowedOrigin></CORSRule></CORSConfiguration>")  # fmt: skip


@pytest.mark.parametrize(
    ("default", "code", "words"),
    [
        ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k"}, "InvalidArgument", "not supported"),
        ({"SSEAlgorithm": "aws:kms:dsse"}, "InvalidArgument", "not supported"),
        ({"SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}, "InvalidArgument", "only"),
        ({"SSEAlgorithm": "DES"}, "MalformedXML", "SSEAlgorithm"),
    ],
)
def test_encryption_rejects(default: dict[str, str], code: str, words: str) -> None:
    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}
    body = serialized(
        "PutBucketEncryption", {"Bucket": "b", "ServerSideEncryptionConfiguration": config}
    )
    with pytest.raises(S3Invalid, match=words) as exc:
        xml_in.encryption(body)
    assert s3_code(exc) == code


def _lifecycle(*rules: dict[str, Any]) -> bytes:
    return serialized(
        "PutBucketLifecycleConfiguration",
        {"Bucket": "b", "LifecycleConfiguration": {"Rules": list(rules)}},
    )


@pytest.mark.parametrize(
    ("rule", "code", "words"),
    [
        ({"Filter": {"ObjectSizeGreaterThan": 10}, "Status": "Enabled",
          "Expiration": {"Days": 1}}, "InvalidArgument", "Filter/ObjectSizeGreaterThan"),
        ({"Filter": {"And": {"Prefix": "a", "ObjectSizeLessThan": 5}},
          "Status": "Enabled", "Expiration": {"Days": 1}}, "InvalidArgument", "Filter/And"),
        ({"Filter": {"And": {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}},
          "Status": "Enabled", "Expiration": {"Days": 1}}, "InvalidRequest", "twice"),
        ({"Filter": {}, "Status": "Enabled", "Expiration": {"Date": datetime(2030, 1, 1)}},
         "InvalidArgument", "Expiration/Date"),
        ({"Filter": {}, "Status": "Enabled",
          "Transitions": [{"Days": 1, "StorageClass": "GLACIER"}]}, "InvalidArgument", "Transit"),
        ({"Filter": {}, "Status": "Enabled", "Expiration": {"Days": 0}}, "InvalidArgument",
         "positive integer"),
        ({"Filter": {}, "Status": "On", "Expiration": {"Days": 1}}, "MalformedXML", "Status"),
        ({"Filter": {}, "Status": "Enabled"}, "InvalidRequest", "At least one action"),
    ],
)  # fmt: skip
def test_lifecycle_rejects(rule: dict[str, Any], code: str, words: str) -> None:
    with pytest.raises(S3Invalid, match=words) as exc:
        xml_in.lifecycle(_lifecycle(rule))
    assert s3_code(exc) == code


def test_lifecycle_rule_ids_and_counts() -> None:
    rule = {"ID": "same", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}
    with pytest.raises(S3Invalid, match="must be unique"):
        xml_in.lifecycle(_lifecycle(rule, rule))
    unnamed = {"Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}
    named = [
        r["id"] for r in xml_in.lifecycle(_lifecycle({**rule, "ID": "rule-1"}, unnamed, unnamed))
    ]
    assert named == ["rule-1", "rule-2", "rule-3"]
    too_many = [{**rule, "ID": f"r{i}"} for i in range(1001)]
    with pytest.raises(S3Invalid, match="1-1000 Rules"):
        xml_in.lifecycle(_lifecycle(*too_many))
    both = b"<LifecycleConfiguration><Rule><Prefix/><Filter/><Status>Enabled</Status>"
    with pytest.raises(S3Invalid, match="not both"):
        xml_in.lifecycle(
            both + b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"
        )


def test_create_bucket_body() -> None:
    config = {"LocationConstraint": "eu-west-1"}
    body = serialized("CreateBucket", {"Bucket": "b", "CreateBucketConfiguration": config})
    assert xml_in.create_bucket(body) == "eu-west-1"
    assert xml_in.create_bucket(serialized("CreateBucket", {"Bucket": "b"})) == ""
    assert xml_in.create_bucket(b"  \n") == ""
    assert xml_in.create_bucket(b"<CreateBucketConfiguration/>") == ""


# --- parsing: malformed, hostile and oversized documents ----------------------------------

_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Tagging><TagSet><Tag><Key>k</Key><Value>&lol2;</Value></Tag></TagSet></Tagging>"""
_XXE = b"""<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Tagging><TagSet><Tag><Key>k</Key><Value>&x;</Value></Tag></TagSet></Tagging>"""


@pytest.mark.parametrize(
    "body",
    [
        _LAUGHS,
        _XXE,
        _XXE.decode().encode("utf-16"),  # a DTD hidden in another encoding is not read at all
        b"<!doctype Tagging><Tagging/>",
        b"<Tagging><TagSet><Tag><Key>k</Key><Value>&undefined;</Value></Tag></TagSet></Tagging>",
        b"<Tagging><TagSet>",
        b"not xml at all",
        b"",
        b"\xff\xfe<Tagging/>",
        b"<Other><TagSet/></Other>",
    ],
)
def test_hostile_or_malformed_documents_are_malformed_xml(body: bytes) -> None:
    with pytest.raises(S3Invalid) as exc:
        xml_in.tagging(body)
    assert s3_code(exc) == "MalformedXML"
    assert exc.value.message.startswith("The XML you provided was not well-formed or did not")


def test_oversized_bodies_are_refused_before_parsing() -> None:
    body = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 100 + b"</Delete>"
    with pytest.raises(PayloadTooLarge) as exc:
        xml_in.delete_objects(body, max_bytes=len(body) - 1)
    assert exc.value.details["s3_code"] == "EntityTooLarge"
    assert len(xml_in.delete_objects(body, max_bytes=len(body))[0]) == 100
    with pytest.raises(PayloadTooLarge):
        xml_in.create_bucket(b" " * 11, max_bytes=10)


def test_namespaces_are_optional_and_any_prefix_works() -> None:
    plain = b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
    prefixed = (
        b'<?xml version="1.0" encoding="UTF-8"?><s3:Tagging xmlns:s3="http://s3.amazonaws.com/doc/'
        b'2006-03-01/"><s3:TagSet><s3:Tag><s3:Key>a</s3:Key><s3:Value>1</s3:Value></s3:Tag>'
        b"</s3:TagSet></s3:Tagging>"
    )
    assert xml_in.tagging(plain) == xml_in.tagging(prefixed) == {"a": "1"}


def test_malformed_message_names_the_problem() -> None:
    assert "Status" in malformed("Status must be Enabled").message
