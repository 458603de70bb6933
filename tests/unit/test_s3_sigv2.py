"""SigV2 for S3: boto3's header signatures and its default presigned URLs verify; changes don't."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from botocore.auth import HmacV1Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.unit.test_s3_sigv4 import (
    AKID,
    HTTP,
    KEY,
    SECRET,
    as_received,
    refused,
    s3_client,
    scope_of,
    sent_by_boto3,
    verified,
    with_header,
)
from thecloud.domain.errors import CloudError
from thecloud.entrypoints.s3.request import AuthScheme, S3Request
from thecloud.entrypoints.s3.sigv2 import canonical_resources, sign, string_to_sign
from thecloud.entrypoints.s3.sigv4 import parse_auth

OPERATIONS: list[tuple[str, dict[str, Any]]] = [
    (
        "put_object",
        {
            "Bucket": "bkt",
            "Key": KEY,
            "Body": b"abc",
            "ContentType": "text/plain",
            "Metadata": {"Colour": "blue  and  green"},
            "ContentMD5": "kAFQmDzST7DWlj99KOF/cg==",
        },
    ),
    ("get_object", {"Bucket": "bkt", "Key": KEY, "Range": "bytes=0-1"}),
    (
        "get_object",
        {
            "Bucket": "bkt",
            "Key": "k",
            "VersionId": "v 1+2",
            "ResponseContentType": "text/html",
            "ResponseContentDisposition": 'attachment; filename="ü.txt"',
        },
    ),
    ("list_objects_v2", {"Bucket": "bkt", "Prefix": "a b+ü/"}),
    ("create_multipart_upload", {"Bucket": "bkt", "Key": KEY}),
    (
        "upload_part",
        {"Bucket": "bkt", "Key": "k", "UploadId": "u 1", "PartNumber": 3, "Body": b"x"},
    ),
    ("delete_objects", {"Bucket": "bkt", "Delete": {"Objects": [{"Key": "a"}]}}),
    ("get_bucket_encryption", {"Bucket": "bkt"}),  # botocore does not sign ?encryption
    ("get_object_tagging", {"Bucket": "bkt", "Key": "k"}),
    ("get_bucket_acl", {"Bucket": "bkt"}),
]


@pytest.mark.parametrize(("operation", "params"), OPERATIONS, ids=[op for op, _ in OPERATIONS])
def test_what_boto3_signs_with_sigv2_verifies(operation: str, params: dict[str, Any]) -> None:
    req = as_received(sent_by_boto3(HTTP, operation, "s3", **params))
    assert req.headers["authorization"].startswith(f"AWS {AKID}:")
    ctx = verified(req)
    assert (ctx.scheme, ctx.access_key_id, ctx.signing_key) == (AuthScheme.SIGV2_HEADER, AKID, b"")


@pytest.mark.parametrize(
    ("operation", "params"), OPERATIONS[:6], ids=[op for op, _ in OPERATIONS[:6]]
)
def test_virtual_hosted_sigv2_signs_the_bucket_from_the_host(
    operation: str, params: dict[str, Any]
) -> None:
    req = as_received(sent_by_boto3(HTTP, operation, "s3", addressing="virtual", **params))
    assert req.host == "bkt.localhost:9000" and not req.raw_path.startswith("/bkt")
    verified(req, bucket_from_host="bkt")
    refused("SignatureDoesNotMatch", req)
    refused("SignatureDoesNotMatch", req, bucket_from_host="other")


def test_a_virtual_hosted_bucket_listing_signs_bucket_slash() -> None:
    req = as_received(sent_by_boto3(HTTP, "list_objects", "s3", addressing="virtual", Bucket="bkt"))
    assert req.raw_path == "/"
    verified(req, bucket_from_host="bkt")
    assert canonical_resources(req, "bkt") == ["/bkt/"]


def test_sub_resources_are_signed_and_other_parameters_are_not() -> None:
    req = S3Request.from_scope(
        scope_of("GET", "http://h/b/k?versionId=v%201&uploads&prefix=x&acl=&response-expires=1", {})
    )
    assert canonical_resources(req, None) == ["/b/k?acl=&response-expires=1&uploads&versionId=v 1"]
    encryption = S3Request.from_scope(scope_of("GET", "http://h/b?encryption", {}))
    assert canonical_resources(encryption, None) == ["/b", "/b?encryption", "/b/", "/b/?encryption"]


def test_the_string_to_sign_has_the_parts_s3_names() -> None:
    req = S3Request.from_scope(
        scope_of(
            "PUT",
            "http://h/b/k?uploadId=1&partNumber=2",
            {
                "Content-MD5": "md5==",
                "Content-Type": "text/plain",
                "Date": "Thu, 01 Jan 2026 00:00:00 GMT",
                "X-Amz-Meta-B": "2",
                "x-amz-meta-a": " 1  1 ",
                "Range": "bytes=0-1",
            },
        )
    )
    expected = (
        "PUT\nmd5==\ntext/plain\nThu, 01 Jan 2026 00:00:00 GMT\nx-amz-meta-a:1  1\n"
        "x-amz-meta-b:2\n/b/k?partNumber=2&uploadId=1"
    )
    assert (
        string_to_sign(
            req, AuthScheme.SIGV2_HEADER, req.headers["date"], "/b/k?partNumber=2&uploadId=1"
        )
        == expected
    )


def _hmac_v1(url: str, headers: dict[str, str]) -> S3Request:
    request = AWSRequest(method="GET", url=url, headers=headers)
    HmacV1Auth(Credentials(AKID, SECRET)).add_auth(request)
    return as_received(request)


def test_with_x_amz_date_the_date_line_is_empty() -> None:
    now = datetime.now(UTC)
    req = _hmac_v1("http://h/b/k", {})
    when = format_datetime(now, usegmt=True)
    to_sign = f"GET\n\n\n\nx-amz-date:{when}\n/b/k"
    signed = with_header(
        with_header(req, "x-amz-date", when), "authorization", f"AWS {AKID}:{sign(SECRET, to_sign)}"
    )
    assert verified(signed).scheme is AuthScheme.SIGV2_HEADER
    refused("RequestTimeTooSkewed", signed, now=now + timedelta(minutes=16))


CHANGES = {
    "signature": lambda r: with_header(r, "authorization", r.headers["authorization"][:-3] + "AA="),
    "content type": lambda r: with_header(r, "content-type", "text/html"),
    "amz header": lambda r: with_header(r, "x-amz-meta-colour", "red"),
    "new amz header": lambda r: with_header(r, "x-amz-acl", "public-read"),
    "path": lambda r: dataclasses.replace(r, raw_path="/bkt/other"),
    "sub-resource": lambda r: dataclasses.replace(r, raw_query="acl", query=[("acl", "")]),
    "method": lambda r: dataclasses.replace(r, method="POST"),
    "date": lambda r: with_header(r, "date", r.headers["date"].replace(" GMT", " +0000")),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_changed_sigv2_request_does_not_verify(change: str) -> None:
    req = as_received(
        sent_by_boto3(
            HTTP,
            "put_object",
            "s3",
            Bucket="bkt",
            Key="k",
            Body=b"a",
            ContentType="text/plain",
            Metadata={"colour": "blue"},
        )
    )
    verified(req)
    refused("SignatureDoesNotMatch", CHANGES[change](req))


def test_the_wrong_secret_does_not_verify_and_the_string_to_sign_is_shown() -> None:
    req = as_received(sent_by_boto3(HTTP, "get_object", "s3", Bucket="bkt", Key="k"))
    error = refused("SignatureDoesNotMatch", req, secret="nope")
    assert str(error.details["string_to_sign"]).endswith("\n/bkt/k")


@pytest.mark.parametrize("minutes", [16, -16])
def test_sigv2_header_auth_allows_15_minutes_of_skew(minutes: int) -> None:
    req = as_received(sent_by_boto3(HTTP, "get_object", "s3", Bucket="bkt", Key="k"))
    verified(req, now=datetime.now(UTC) + timedelta(minutes=minutes // 2))
    refused("RequestTimeTooSkewed", req, now=datetime.now(UTC) + timedelta(minutes=minutes))


def test_sigv2_header_auth_needs_a_date() -> None:
    req = as_received(sent_by_boto3(HTTP, "get_object", "s3", Bucket="bkt", Key="k"))
    assert "Date" in str(refused("AccessDenied", with_header(req, "date", None)))


# --- presigned URLs: what boto3 and `aws s3 presign` make by default ----------------------


def presigned(operation: str, expires: int = 300, **params: Any) -> tuple[str, S3Request]:
    client, _ = s3_client(HTTP)  # no signature_version: boto3's default
    url = client.generate_presigned_url(operation, Params=params, ExpiresIn=expires)
    method = {"put_object": "PUT"}.get(operation, "GET")
    return url, S3Request.from_scope(scope_of(method, url, {}))


def test_boto3_presigns_with_sigv2_by_default_and_it_verifies_until_expiry() -> None:
    url, req = presigned(
        "get_object", 60, Bucket="bkt", Key=KEY, ResponseContentDisposition='a; b="ü"'
    )
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url
    ctx = verified(req)
    assert (ctx.scheme, ctx.payload_hash) == (AuthScheme.SIGV2_QUERY, "UNSIGNED-PAYLOAD")
    late = datetime.now(UTC) + timedelta(seconds=61)
    assert str(refused("AccessDenied", req, now=late)) == "Request has expired"


def test_a_sigv2_presigned_put_carries_content_type_and_metadata_in_its_query() -> None:
    url, req = presigned(
        "put_object", Bucket="bkt", Key="k", ContentType="text/plain", Metadata={"a": "b"}
    )
    assert "content-type=text%2Fplain" in url and "x-amz-meta-a=b" in url
    verified(req)
    verified(with_header(req, "content-type", "text/plain"))
    refused("SignatureDoesNotMatch", with_header(req, "content-type", "image/png"))
    refused("SignatureDoesNotMatch", with_header(req, "x-amz-meta-a", "c"))


def test_a_changed_sigv2_presigned_url_does_not_verify() -> None:
    _, req = presigned("get_object", Bucket="bkt", Key="k", ResponseContentType="text/plain")
    changed = req.raw_query.replace("text%2Fplain", "text%2Fhtml")
    refused("SignatureDoesNotMatch", dataclasses.replace(req, raw_query=changed))
    refused("SignatureDoesNotMatch", dataclasses.replace(req, raw_path="/bkt/k2"))
    later = [(k, str(int(v) + 1) if k == "Expires" else v) for k, v in req.query]
    refused("SignatureDoesNotMatch", dataclasses.replace(req, query=later))


def test_an_unencoded_plus_in_the_signature_still_verifies() -> None:
    for n in range(40):  # find a URL whose signature has a '+' and send it raw
        url, req = presigned("get_object", 300 + n, Bucket="bkt", Key="k")
        if "%2B" in url.split("Signature=")[1].split("&")[0]:
            raw = req.raw_query.replace("%2B", "+")
            verified(S3Request.from_scope(scope_of("GET", url.split("?")[0] + "?" + raw, {})))
            return
    pytest.fail("no presigned signature with a '+' in 40 tries")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("AWSAccessKeyId=AK&Signature=x", "Expires is missing"),
        ("AWSAccessKeyId=AK&Signature=x&Expires=soon", "Expires must be a number"),
        ("AWSAccessKeyId=AK&AWSAccessKeyId=B&Signature=x&Expires=1", "given more than once"),
    ],
)
def test_malformed_sigv2_query_auth_says_what_is_wrong(query: str, says: str) -> None:
    req = S3Request.from_scope(scope_of("GET", f"http://h/b/k?{query}", {}))
    with pytest.raises(CloudError) as caught:
        parse_auth(req)
    assert caught.value.details["s3_code"] == "AuthorizationQueryParametersError"
    assert says in str(caught.value)


def test_sigv2_cannot_sign_aws_chunks() -> None:
    req = as_received(sent_by_boto3(HTTP, "get_object", "s3", Bucket="bkt", Key="k"))
    changed = with_header(req, "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    assert "Signature Version 4" in str(refused("InvalidRequest", changed))


def test_an_expires_beyond_year_9999_is_not_a_crash() -> None:
    query = "AWSAccessKeyId=AK&Signature=x&Expires=99999999999999999999"
    req = S3Request.from_scope(scope_of("GET", f"http://h/b/k?{query}", {}))
    refused("SignatureDoesNotMatch", req)
