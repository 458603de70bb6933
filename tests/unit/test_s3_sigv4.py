"""SigV4 for S3: what boto3 really sends verifies, and any change to it does not."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_to_bytes, urlsplit

import boto3
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSPreparedRequest, AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from thecloud.domain.errors import CloudError
from thecloud.entrypoints.s3.request import (
    STREAMING_UNSIGNED_TRAILER,
    decode_query,
    parse_amz_date,
)
from thecloud.entrypoints.s3.sigv4 import (
    AuthScheme,
    S3Request,
    VerifiedRequests,
    canonical_query,
    parse_auth,
    signing_key,
    verify,
)

AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HTTP, HTTPS = "http://localhost:9000", "https://localhost:9000"
KEY = "a b/ü~+=&?!$'()*@:;,%20.txt"  # what botocore must encode, and how
DOC_AKID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented examples (sig-v4-header-based-auth)
DOC_TIME = datetime(2013, 5, 24, tzinfo=UTC)
DOC_HOST = "examplebucket.s3.amazonaws.com"
EMPTY = hashlib.sha256(b"").hexdigest()


# --- capturing what boto3 sends, without a server ---------------------------------------


class _Raw:
    def stream(self, **_: object) -> Any:
        return iter([b""])

    def read(self, *_: object, **__: object) -> bytes:
        return b""


def _fake_send(sent: list[AWSPreparedRequest], request: AWSPreparedRequest, **_: Any) -> Any:
    sent.append(request)
    return AWSResponse(request.url, 200, {"ETag": '"0"'}, _Raw())


@functools.cache
def s3_client(
    endpoint: str, signature_version: str | None = None, addressing: str = "path"
) -> tuple[Any, list[AWSPreparedRequest]]:
    config = Config(signature_version=signature_version, s3={"addressing_style": addressing})
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AKID,
        aws_secret_access_key=SECRET,
        region_name="us-east-1",
        config=config,
    )
    sent: list[AWSPreparedRequest] = []
    client.meta.events.register("before-send", functools.partial(_fake_send, sent))
    return client, sent


def sent_by_boto3(endpoint: str, operation: str, version: str | None = None, **params: Any) -> Any:
    client, sent = s3_client(endpoint, version, params.pop("addressing", "path"))
    sent.clear()
    getattr(client, operation)(**params)
    return sent[-1]


def scope_of(method: str, url: str, headers: Mapping[str, Any]) -> dict[str, Any]:
    """The ASGI scope a server makes of a request: the HTTP client adds Host."""
    parts = urlsplit(url)
    pairs = [("host", parts.netloc), *headers.items()]
    return {
        "type": "http",
        "method": method,
        "path": unquote(parts.path),
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": [
            (k.lower().encode(), v if isinstance(v, bytes) else str(v).encode("latin-1"))
            for k, v in pairs
        ],
    }


def as_received(prepared: AWSPreparedRequest | AWSRequest) -> S3Request:
    return S3Request.from_scope(scope_of(prepared.method, prepared.url, prepared.headers))


def body_of(prepared: AWSPreparedRequest) -> bytes:
    body = prepared.body
    return body.read() if hasattr(body, "read") else (body or b"")


def verified(req: S3Request, secret: str = SECRET, now: datetime | None = None, **kw: Any) -> Any:
    info = parse_auth(req)
    assert info is not None
    return verify(info, req, secret, now or datetime.now(UTC), **kw)


def refused(code: str, req: S3Request, secret: str = SECRET, **kw: Any) -> CloudError:
    with pytest.raises(CloudError) as caught:
        verified(req, secret, **kw)
    assert caught.value.details["s3_code"] == code, caught.value
    return caught.value


def with_header(req: S3Request, name: str, value: str | None) -> S3Request:
    headers = {k: v for k, v in req.headers.items() if k != name}
    headers.update({} if value is None else {name: value})
    return dataclasses.replace(req, headers=headers)


def signed(
    method: str, url: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> S3Request:
    request = AWSRequest(method=method, url=url, headers=headers or {}, data=body)
    S3SigV4Auth(Credentials(AKID, SECRET), "s3", "us-east-1").add_auth(request)
    return as_received(request)


# --- what boto3 sends verifies ------------------------------------------------------------

OPERATIONS: list[tuple[str, dict[str, Any]]] = [
    ("put_object", {"Bucket": "bkt", "Key": KEY, "Body": b"hello world"}),
    (
        "put_object",
        {
            "Bucket": "bkt",
            "Key": "k",
            "Body": b"",
            "ContentType": "text/plain",
            "Metadata": {"Colour": "blue  and  green"},
            "ContentMD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
        },
    ),
    ("get_object", {"Bucket": "bkt", "Key": KEY, "Range": "bytes=0-9"}),
    (
        "get_object",
        {
            "Bucket": "bkt",
            "Key": "k",
            "VersionId": "v 1+2",
            "ResponseContentDisposition": 'attachment; filename="ü b.txt"',
        },
    ),
    ("head_object", {"Bucket": "bkt", "Key": "~tilde~/ключ"}),
    ("list_objects_v2", {"Bucket": "bkt", "Prefix": "a b+ü/=&", "Delimiter": "/"}),
    ("list_objects", {"Bucket": "bkt", "Marker": "m~ %", "MaxKeys": 5}),
    ("create_multipart_upload", {"Bucket": "bkt", "Key": KEY}),
    (
        "upload_part",
        {"Bucket": "bkt", "Key": KEY, "UploadId": "u/1=", "PartNumber": 2, "Body": b"x" * 10},
    ),
    ("delete_objects", {"Bucket": "bkt", "Delete": {"Objects": [{"Key": KEY}]}}),
    ("copy_object", {"Bucket": "bkt", "Key": "dst", "CopySource": {"Bucket": "src", "Key": KEY}}),
    ("put_bucket_versioning", {"Bucket": "bkt", "VersioningConfiguration": {"Status": "Enabled"}}),
]


@pytest.mark.parametrize("endpoint", [HTTP, HTTPS])
@pytest.mark.parametrize(("operation", "params"), OPERATIONS, ids=[op for op, _ in OPERATIONS])
def test_what_boto3_sends_verifies(endpoint: str, operation: str, params: dict[str, Any]) -> None:
    prepared = sent_by_boto3(endpoint, operation, **params)
    req = as_received(prepared)
    ctx = verified(req)
    assert (ctx.scheme, ctx.access_key_id) == (AuthScheme.SIGV4_HEADER, AKID)
    assert ctx.payload_hash == req.headers["x-amz-content-sha256"]
    assert ctx.scope.endswith("/us-east-1/s3/aws4_request") and ctx.seed_signature


def test_virtual_hosted_requests_verify() -> None:
    for operation, params in OPERATIONS[:6]:
        req = as_received(sent_by_boto3(HTTP, operation, addressing="virtual", **params))
        assert req.host == "bkt.localhost:9000"
        verified(req, bucket_from_host="bkt")


def test_boto3_over_http_signs_the_payload_and_sends_a_crc32_header() -> None:
    prepared = sent_by_boto3(HTTP, "put_object", Bucket="bkt", Key=KEY, Body=b"hello world")
    req = as_received(prepared)
    assert req.raw_path == "/bkt/a%20b/%C3%BC~%2B%3D%26%3F%21%24%27%28%29%2A%40%3A%3B%2C%2520.txt"
    assert req.headers["x-amz-content-sha256"] == hashlib.sha256(b"hello world").hexdigest()
    assert req.headers["x-amz-checksum-crc32"] == "DUoRhQ=="
    assert req.headers["x-amz-sdk-checksum-algorithm"] == "CRC32"
    assert "content-encoding" not in req.headers and body_of(prepared) == b"hello world"


def test_boto3_over_https_streams_unsigned_aws_chunks_with_a_crc32_trailer() -> None:
    prepared = sent_by_boto3(HTTPS, "put_object", Bucket="bkt", Key="k", Body=b"hello world")
    req = as_received(prepared)
    assert req.headers["x-amz-content-sha256"] == STREAMING_UNSIGNED_TRAILER
    assert req.headers["content-encoding"] == "aws-chunked"
    assert req.headers["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert req.headers["x-amz-decoded-content-length"] == "11"
    assert "x-amz-checksum-crc32" not in req.headers
    assert body_of(prepared) == b"b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"


def test_a_request_as_uvicorn_received_it_verifies() -> None:
    headers = {
        "host": "localhost:18978",
        "accept-encoding": "identity",
        "expect": "100-continue",
        "transfer-encoding": "chunked",
        "content-encoding": "aws-chunked",
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": "5",
        "x-amz-sdk-checksum-algorithm": "CRC32",
        "x-amz-date": "20261121T122927Z",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261121/us-east-1/s3/"
        "aws4_request, SignedHeaders=content-encoding;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-sdk-checksum-algorithm;x-amz-trailer, "
        "Signature=2f924ce076842a8bac16ab2bcad8a0427af7480c787bb08e20de9e8c08f9e792",
    }
    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/bkt/a b/ü~+=&?.txt",
        "raw_path": b"/bkt/a%20b/%C3%BC~%2B%3D%26%3F.txt",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    ctx = verified(
        S3Request.from_scope(scope), "secret", datetime(2026, 11, 21, 12, 30, tzinfo=UTC)
    )
    assert ctx.payload_hash == STREAMING_UNSIGNED_TRAILER


# --- any change is refused ----------------------------------------------------------------


def _flip(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


TAMPERING: dict[str, Callable[[S3Request], S3Request]] = {
    "signature": lambda r: with_header(r, "authorization", _flip(r.headers["authorization"])),
    "signed header": lambda r: with_header(r, "x-amz-checksum-crc32", "AAAAAA=="),
    "payload hash": lambda r: with_header(r, "x-amz-content-sha256", EMPTY),
    "path": lambda r: dataclasses.replace(r, raw_path=r.raw_path + "x"),
    "path segment": lambda r: dataclasses.replace(r, raw_path=r.raw_path.replace("/", "%2F", 2)),
    "query": lambda r: dataclasses.replace(r, raw_query="versionId=1", query=[("versionId", "1")]),
    "method": lambda r: dataclasses.replace(r, method="POST"),
    "host": lambda r: with_header(r, "host", "other:9000"),
    "signed header gone": lambda r: with_header(r, "x-amz-sdk-checksum-algorithm", None),
}


@pytest.mark.parametrize("change", TAMPERING)
def test_a_changed_request_does_not_verify(change: str) -> None:
    req = as_received(sent_by_boto3(HTTP, "put_object", Bucket="bkt", Key=KEY, Body=b"hi"))
    verified(req)
    error = refused("SignatureDoesNotMatch", TAMPERING[change](req))
    assert "signature" in str(error) or "not in the request" in str(error)


def test_the_wrong_secret_does_not_verify() -> None:
    req = as_received(sent_by_boto3(HTTP, "get_object", Bucket="bkt", Key="k"))
    error = refused("SignatureDoesNotMatch", req, secret=SECRET + "x")
    assert "GET\n/bkt/k\n" in str(error.details["canonical_request"])
    assert str(error.details["string_to_sign"]).startswith("AWS4-HMAC-SHA256\n")


def test_an_unsigned_amz_header_is_refused() -> None:
    req = as_received(sent_by_boto3(HTTP, "get_object", Bucket="bkt", Key="k"))
    error = refused("AccessDenied", with_header(req, "x-amz-copy-source", "other/key"))
    assert "not signed: x-amz-copy-source" in str(error)


@pytest.mark.parametrize(("minutes", "ok"), [(14, True), (-14, True), (16, False), (-16, False)])
def test_header_auth_allows_15_minutes_of_skew(minutes: int, ok: bool) -> None:
    req = signed("GET", "http://localhost:9000/bkt/k", {"X-Amz-Content-SHA256": EMPTY})
    now = datetime.now(UTC) + timedelta(minutes=minutes)
    if ok:
        verified(req, now=now)
    else:
        assert "15 minutes" in str(refused("RequestTimeTooSkewed", req, now=now))


def test_a_credential_date_other_than_the_request_date_is_refused() -> None:
    req = signed("GET", "http://localhost:9000/bkt/k", {"X-Amz-Content-SHA256": EMPTY})
    auth = req.headers["authorization"].replace(f"{AKID}/", f"{AKID}/19990101/", 1)
    auth = auth.replace(f"/19990101/{req.headers['x-amz-date'][:8]}/", "/19990101/")
    error = refused("AuthorizationHeaderMalformed", with_header(req, "authorization", auth))
    assert "credential date 19990101" in str(error)


def test_header_auth_needs_x_amz_content_sha256() -> None:
    req = signed("GET", "http://localhost:9000/bkt/k")
    error = refused("InvalidRequest", with_header(req, "x-amz-content-sha256", None))
    assert "x-amz-content-sha256" in str(error)


def test_a_bad_x_amz_content_sha256_is_refused() -> None:
    req = signed("GET", "http://localhost:9000/bkt/k")
    error = refused("InvalidArgument", with_header(req, "x-amz-content-sha256", "abc"))
    assert "x-amz-content-sha256 is 'abc'" in str(error)


# --- the path as signed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed_path", "sent_path"),
    [
        ("/bkt/test%24file.text", "/bkt/test$file.text"),  # '$' left raw by the client
        ("/bkt/a%21b%28c%29", "/bkt/a!b(c)"),
        ("/bkt/caf%C3%A9", "/bkt/caf%c3%a9"),  # lowercase hex on the wire
        ("/bkt/a~b", "/bkt/a%7Eb"),
        ("/bkt/a%2Fb/c", "/bkt/a%2fb/c"),
    ],
)
def test_a_path_sent_unencoded_verifies_against_its_aws_encoding(
    signed_path: str, sent_path: str
) -> None:
    req = signed("GET", f"http://h{signed_path}", {"X-Amz-Content-SHA256": EMPTY})
    verified(dataclasses.replace(req, raw_path=sent_path))


def test_a_percent_in_a_key_is_not_decoded_twice() -> None:
    req = signed("GET", "http://h/bkt/100%2525", {"X-Amz-Content-SHA256": EMPTY})
    verified(req)
    refused("SignatureDoesNotMatch", dataclasses.replace(req, raw_path="/bkt/100%25"))


def test_canonical_query_sorts_and_encodes_the_aws_way() -> None:
    raw = "prefix=a%20b+c&list-type=2&uploads&delimiter=%2F&b=%7e&a=%2B"
    expected = "a=%2B&b=~&delimiter=%2F&list-type=2&prefix=a%20b%20c&uploads="
    assert canonical_query(raw) == expected
    assert canonical_query("X-Amz-Signature=ab&x=1", exclude="X-Amz-Signature") == "x=1"


# --- AWS's published examples -------------------------------------------------------------


def _doc_request(method: str, path: str, query: str, headers: dict[str, str]) -> S3Request:
    return S3Request.from_scope(
        {
            "method": method,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [(k.encode(), v.encode()) for k, v in {"host": DOC_HOST, **headers}.items()],
        }
    )


def _doc_auth(signed_headers: str, signature: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={DOC_AKID}/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed_headers},Signature={signature}"
    )


DOC_EXAMPLES = {
    "GET object": (
        "GET",
        "/test.txt",
        "",
        {"range": "bytes=0-9"},
        "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    ),
    "GET lifecycle": (
        "GET",
        "/",
        "lifecycle",
        {},
        "host;x-amz-content-sha256;x-amz-date",
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    ),
    "GET bucket": (
        "GET",
        "/",
        "max-keys=2&prefix=J",
        {},
        "host;x-amz-content-sha256;x-amz-date",
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    ),
}


@pytest.mark.parametrize("example", DOC_EXAMPLES)
def test_aws_documented_signatures_verify(example: str) -> None:
    method, path, query, extra, signed_headers, signature = DOC_EXAMPLES[example]
    headers = {**extra, "x-amz-content-sha256": EMPTY, "x-amz-date": "20130524T000000Z"}
    headers["authorization"] = _doc_auth(signed_headers, signature)
    ctx = verified(_doc_request(method, path, query, headers), now=DOC_TIME)
    assert ctx.seed_signature == signature


@pytest.mark.parametrize("path", ["/test%24file.text", "/test$file.text"])
def test_aws_documented_put_verifies_with_the_dollar_encoded_or_not(path: str) -> None:
    payload = hashlib.sha256(b"Welcome to Amazon S3.").hexdigest()
    headers = {
        "date": "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": payload,
        "authorization": _doc_auth(
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        ),
    }
    assert verified(_doc_request("PUT", path, "", headers), now=DOC_TIME).payload_hash == payload


def test_aws_documented_presigned_url_verifies_until_it_expires() -> None:
    query = (
        f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={DOC_AKID}%2F20130524%2Fus-east-1"
        "%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
        "&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )
    req = _doc_request("GET", "/test.txt", query, {})
    ctx = verified(req, now=DOC_TIME + timedelta(hours=23))
    assert (ctx.scheme, ctx.payload_hash) == (AuthScheme.SIGV4_QUERY, "UNSIGNED-PAYLOAD")
    error = refused("AccessDenied", req, now=DOC_TIME + timedelta(days=1, seconds=1))
    assert str(error) == "Request has expired"


# --- presigned URLs -----------------------------------------------------------------------


def presigned(operation: str, expires: int = 300, **params: Any) -> S3Request:
    client, _ = s3_client(HTTP, "s3v4")
    url = client.generate_presigned_url(operation, Params=params, ExpiresIn=expires)
    method = {"put_object": "PUT"}.get(operation, "GET")
    return S3Request.from_scope(scope_of(method, url, {}))


def test_a_boto3_presigned_url_verifies_until_it_expires() -> None:
    req = presigned("get_object", 60, Bucket="bkt", Key=KEY, ResponseContentDisposition='a; b="ü"')
    ctx = verified(req)
    assert (ctx.scheme, ctx.payload_hash) == (AuthScheme.SIGV4_QUERY, "UNSIGNED-PAYLOAD")
    late = datetime.now(UTC) + timedelta(seconds=90)
    assert str(refused("AccessDenied", req, now=late)) == "Request has expired"
    early = datetime.now(UTC) - timedelta(minutes=20)
    assert "not valid yet" in str(refused("AccessDenied", req, now=early))


def test_a_changed_presigned_url_does_not_verify() -> None:
    req = presigned("get_object", Bucket="bkt", Key="k", ResponseContentType="text/plain")
    changed_query = req.raw_query.replace("text%2Fplain", "text%2Fhtml")
    refused("SignatureDoesNotMatch", dataclasses.replace(req, raw_query=changed_query))
    refused("SignatureDoesNotMatch", dataclasses.replace(req, raw_path="/bkt/k2"))
    changed_signature = req.raw_query[:-1] + ("0" if req.raw_query[-1] != "0" else "1")
    query = [(k, _flip(v) if k == "X-Amz-Signature" else v) for k, v in req.query]
    refused(
        "SignatureDoesNotMatch", dataclasses.replace(req, raw_query=changed_signature, query=query)
    )


def test_a_presigned_put_binds_its_signed_content_type() -> None:
    req = presigned("put_object", Bucket="bkt", Key="k", ContentType="text/plain")
    verified(with_header(req, "content-type", "text/plain"))
    refused("SignatureDoesNotMatch", with_header(req, "content-type", "text/html"))
    assert "'content-type' is not in the request" in str(refused("SignatureDoesNotMatch", req))


def test_a_presigned_url_lives_at_most_a_week() -> None:
    request = AWSRequest(method="GET", url="http://h/bkt/k")
    S3SigV4QueryAuth(Credentials(AKID, SECRET), "s3", "us-east-1", expires=604801).add_auth(request)
    with pytest.raises(CloudError, match="less than a week") as caught:
        parse_auth(as_received(request))
    assert caught.value.details["s3_code"] == "AuthorizationQueryParametersError"


# --- verified repeats of presigned requests ----------------------------------------------


def through(
    kept: VerifiedRequests, req: S3Request, secret: str = SECRET, now: datetime | None = None
) -> Any:
    info = kept.parse(req)
    assert info is not None
    return kept.verify(info, req, secret, now or datetime.now(UTC))


def refused_by(
    code: str, kept: VerifiedRequests, req: S3Request, secret: str = SECRET, **kw: Any
) -> CloudError:
    with pytest.raises(CloudError) as caught:
        through(kept, req, secret, **kw)
    assert caught.value.details["s3_code"] == code, caught.value
    return caught.value


def test_a_repeated_presigned_request_is_answered_from_its_first_verification() -> None:
    kept = VerifiedRequests()
    req = presigned("get_object", 60, Bucket="bkt", Key=KEY)
    first = through(kept, req)
    again = S3Request.from_scope(scope_of("GET", f"{HTTP}{req.raw_path}?{req.raw_query}", {}))
    info = kept.parse(again)
    assert info is not None and info is kept.parse(req)  # the first one's, not parsed again
    assert kept.verify(info, again, SECRET, datetime.now(UTC)) is first
    assert verified(again) == first  # what verifying it from scratch gives


def test_a_verified_repeat_still_expires_and_needs_the_same_secret() -> None:
    kept = VerifiedRequests()
    req = presigned("get_object", 60, Bucket="bkt", Key="k")
    through(kept, req)
    late = datetime.now(UTC) + timedelta(seconds=90)
    assert str(refused_by("AccessDenied", kept, req, now=late)) == "Request has expired"
    refused_by("SignatureDoesNotMatch", kept, req, secret=SECRET + "x")  # the key changed
    through(kept, req)


def test_what_a_presigned_signature_covers_is_compared_before_it_is_reused() -> None:
    kept = VerifiedRequests()
    req = presigned("put_object", Bucket="bkt", Key="k", ContentType="text/plain")
    typed = with_header(req, "content-type", "text/plain")
    through(kept, typed)
    refused_by("SignatureDoesNotMatch", kept, with_header(req, "content-type", "text/html"))
    refused_by("SignatureDoesNotMatch", kept, dataclasses.replace(typed, method="GET"))
    refused_by("SignatureDoesNotMatch", kept, dataclasses.replace(typed, raw_path="/bkt/k2"))
    twice = with_header(typed, "authorization", "AWS4-HMAC-SHA256 Credential=x")
    assert refused_by("InvalidArgument", kept, twice)
    through(kept, typed)  # the original is still good


def test_only_presigned_sigv4_requests_are_kept_and_only_so_many() -> None:
    kept = VerifiedRequests(size=2)
    header_signed = signed("GET", f"{HTTP}/bkt/k")
    through(kept, header_signed)
    assert kept.parse(header_signed) is not kept.parse(header_signed)  # parsed each time
    urls = [presigned("get_object", Bucket="bkt", Key=f"k{i}") for i in range(3)]
    for url in urls:
        through(kept, url)
    assert kept.parse(urls[0]) is not kept.parse(urls[0])  # the oldest went
    assert kept.parse(urls[2]) is kept.parse(urls[2])
    length = len(urls[2].raw_path) + len(urls[2].raw_query) + len("host") + len(HTTP) - 7
    assert urls[2].headers["host"] == HTTP.removeprefix("http://")
    short = VerifiedRequests(longest=length - 1)
    through(short, urls[2])
    assert short.parse(urls[2]) is not short.parse(urls[2])  # too long to keep
    just = VerifiedRequests(longest=length)
    through(just, urls[2])
    assert just.parse(urls[2]) is just.parse(urls[2])


# --- parsing ------------------------------------------------------------------------------


def _with_auth(value: str) -> S3Request:
    return S3Request.from_scope(
        {
            "method": "GET",
            "raw_path": b"/b/k",
            "query_string": b"",
            "headers": [(b"host", b"h"), (b"authorization", value.encode())],
        }
    )


GOOD = "Credential=AK/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + "a" * 64


@pytest.mark.parametrize(
    ("authorization", "code", "says"),
    [
        ("Bearer xyz", "InvalidArgument", "Unsupported Authorization Type 'Bearer'"),
        ("AWS4-ECDSA-P256-SHA256 " + GOOD, "InvalidArgument", "Unsupported Authorization Type"),
        (
            "AWS4-HMAC-SHA256 " + GOOD.replace("Credential", "Cred"),
            "AuthorizationHeaderMalformed",
            "'Cred=AK",
        ),
        (
            "AWS4-HMAC-SHA256 " + GOOD.rsplit(", ", 1)[0],
            "AuthorizationHeaderMalformed",
            "no Signature",
        ),
        (
            "AWS4-HMAC-SHA256 " + GOOD.replace("/s3/", "/ec2/"),
            "AuthorizationHeaderMalformed",
            "service 'ec2'",
        ),
        (
            "AWS4-HMAC-SHA256 " + GOOD.replace("aws4_request", "aws5"),
            "AuthorizationHeaderMalformed",
            "Credential",
        ),
        (
            "AWS4-HMAC-SHA256 " + GOOD.replace("20250101", "2025-1-1"),
            "AuthorizationHeaderMalformed",
            "YYYYMMDD",
        ),
        (
            "AWS4-HMAC-SHA256 " + GOOD.replace("=host", "=date"),
            "AuthorizationHeaderMalformed",
            "include host",
        ),
        (
            "AWS4-HMAC-SHA256 " + GOOD.replace("=host", "=Host"),
            "AuthorizationHeaderMalformed",
            "lowercase",
        ),
        ("AWS4-HMAC-SHA256 " + GOOD[:-1], "AuthorizationHeaderMalformed", "64 hexadecimal"),
        ("AWS4-HMAC-SHA256 " + GOOD, "AccessDenied", "valid Date or x-amz-date"),
        ("AWS nocolon", "InvalidArgument", "AwsAccessKeyId:signature"),
    ],
)
def test_a_malformed_authorization_header_says_what_is_wrong(
    authorization: str, code: str, says: str
) -> None:
    with pytest.raises(CloudError) as caught:
        parse_auth(_with_auth(authorization))
    assert caught.value.details["s3_code"] == code
    assert says in str(caught.value)


def _with_query(query: str, headers: dict[str, str] | None = None) -> S3Request:
    pairs = [(k.encode(), v.encode()) for k, v in {"host": "h", **(headers or {})}.items()]
    return S3Request.from_scope(
        {"method": "GET", "raw_path": b"/b/k", "query_string": query.encode(), "headers": pairs}
    )


QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20250101%2Fus-east-1%2Fs3%2F"
    "aws4_request&X-Amz-Date=20250101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=" + "b" * 64
)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (QUERY.replace("&X-Amz-Date=20250101T000000Z", ""), "X-Amz-Date is missing"),
        (QUERY + "&X-Amz-Expires=5", "X-Amz-Expires is given more than once"),
        (QUERY.replace("HMAC-SHA256", "HMAC-SHA1"), 'only supports "AWS4-HMAC-SHA256"'),
        (QUERY.replace("Expires=60", "Expires=-1"), "X-Amz-Expires should be a number"),
        (QUERY.replace("T000000Z", "T0000Z"), "ISO8601 Long Format"),
        (QUERY.replace("%2Fs3%2F", "%2Fsqs%2F"), "service 'sqs'"),
    ],
)
def test_malformed_query_auth_says_what_is_wrong(query: str, says: str) -> None:
    with pytest.raises(CloudError, match=".") as caught:
        parse_auth(_with_query(query))
    assert caught.value.details["s3_code"] == "AuthorizationQueryParametersError"
    assert says in str(caught.value)


def test_parse_auth_tells_the_schemes_apart() -> None:
    assert parse_auth(_with_query("uploads")) is None
    info = parse_auth(_with_query(QUERY + "&X-Amz-Security-Token=tok"))
    assert info is not None and info.scheme is AuthScheme.SIGV4_QUERY
    assert (info.access_key_id, info.expires, info.security_token) == ("AK", 60, "tok")
    assert (info.scope_date, info.region, info.service) == ("20250101", "us-east-1", "s3")
    both = _with_query(QUERY, {"authorization": "AWS4-HMAC-SHA256 " + GOOD})
    with pytest.raises(CloudError, match="Only one auth mechanism allowed"):
        parse_auth(both)


def test_from_scope_keeps_what_was_received() -> None:
    req = S3Request.from_scope(
        {
            "method": "get",
            "path": "/b/a b",
            "raw_path": b"/b/a%20b",
            "server": ("10.0.0.1", 8080),
            "query_string": b"uploads&prefix=a+b%2B&prefix=&list-type=2",
            "headers": [
                (b"X-Amz-Meta-A", b" 1 "),
                (b"x-amz-meta-a", b"2"),
                (b"x-amz-meta-u", "ü".encode()),
            ],
        }
    )
    assert (req.method, req.raw_path, req.host) == ("GET", "/b/a%20b", "10.0.0.1:8080")
    assert req.query == [("uploads", ""), ("prefix", "a b+"), ("prefix", ""), ("list-type", "2")]
    assert req.headers["x-amz-meta-a"] == "1,2"
    assert req.headers["x-amz-meta-u"].encode("latin-1").decode() == "ü"
    no_raw = S3Request.from_scope({"method": "GET", "path": "/b/ü k", "headers": [(b"host", b"h")]})
    assert (no_raw.raw_path, no_raw.host, no_raw.query) == ("/b/%C3%BC%20k", "h", [])


# --- the fast paths give what the general ones give -----------------------------------------

QUERY_PARTS = ["", "a", "a=", "=b", "a=b", "a=b=c", "a+b=c+d", "%41=%42", "%2F=%2f", "%zz=%",
               "k=%FF%FE", "k=%C3%BC", "k=%C3", "ü=ß", "X-Amz-Date=20250101T000000Z", "~._-=~._-",
               "k=a%20b+c", "uploads", "&", "k=%E2%82%AC+%2B"]  # fmt: skip


def _slow_reencode(component: str) -> str:
    return quote(unquote_to_bytes(component.replace("+", " ").encode("latin-1")), safe="-_.~")


@pytest.mark.parametrize("left", QUERY_PARTS)
@pytest.mark.parametrize("right", ["", "x=1", "prefix=a%2Fb", "b+c"])
def test_decode_query_is_parse_qsl_with_blank_values(left: str, right: str) -> None:
    raw = f"{left}&{right}" if right else left
    expected = parse_qsl(raw, keep_blank_values=True, encoding="utf-8", errors="replace")
    assert decode_query(raw) == expected


@pytest.mark.parametrize("part", QUERY_PARTS)
def test_canonical_query_reencodes_every_component_by_aws_rules(part: str) -> None:
    pairs = []
    for piece in part.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((_slow_reencode(name), _slow_reencode(value)))
    assert canonical_query(part) == "&".join(f"{n}={v}" for n, v in sorted(pairs))


@pytest.mark.parametrize(
    "value",
    ["20130524T000000Z", "20241231T235959Z", "20240229T120000Z", "19700101T000000Z"],
)
def test_parse_amz_date_reads_what_strptime_reads(value: str) -> None:
    expected = datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert parse_amz_date(value) == expected


@pytest.mark.parametrize(
    "value",
    ["20131324T000000Z", "20130532T000000Z", "20230229T000000Z", "20130524T240000Z",
     "20130524T006000Z", "20130524T000060Z", "2013052T000000Z", "20130524T000000",
     "20130524 000000Z", "２０１３0524T000000Z", "", "20130524T000000Zx"],
)  # fmt: skip
def test_parse_amz_date_refuses_what_is_not_a_time(value: str) -> None:
    assert parse_amz_date(value) is None


def test_the_day_s_signing_key_is_kept_per_secret_and_scope() -> None:
    derived = signing_key("secret-a", "20250101", "us-east-1")
    assert signing_key("secret-a", "20250101", "us-east-1") == derived
    assert signing_key("secret-b", "20250101", "us-east-1") != derived
    assert signing_key("secret-a", "20250102", "us-east-1") != derived
    assert signing_key("secret-a", "20250101", "eu-west-1") != derived
    key = b"AWS4secret-a"
    for part in ("20250101", "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    assert derived == key
