"""aws-chunked bodies: AWS's published vectors, boto3's trailers, any split, any tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.unit.test_s3_sigv4 import (
    AKID,
    HTTPS,
    SECRET,
    as_received,
    body_of,
    sent_by_boto3,
    verified,
)
from thecloud.domain.errors import CloudError
from thecloud.entrypoints.s3.checksums import Checksums, check_checksums
from thecloud.entrypoints.s3.chunked import (
    AwsChunkedDecoder,
    PlainBody,
    body_decoder,
    stored_content_encoding,
)
from thecloud.entrypoints.s3.request import (
    EMPTY_SHA256,
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    S3Request,
    SigningContext,
)

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
DOC_CHUNKS = [  # AWS's example: 66560 bytes of 'a' in chunks of 65536, 1024 and 0
    (65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
    (1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
    (0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
]
# aws-c-auth's (CRT) test of the same request with trailers first/second/third
CRT_TRAILERS = b"first:1st\r\nsecond:2nd\r\nthird:3rd\r\n"
CRT_TRAILER_SIGNATURE = "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c"


def doc_context() -> SigningContext:
    """AWS's published streaming PUT, verified by our SigV4 check at its own time."""
    signed_headers = (
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class"
    )
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": STREAMING_SIGNED,
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
        f"aws4_request,SignedHeaders={signed_headers},Signature={DOC_SEED}",
    }
    req = S3Request.from_scope(
        {
            "method": "PUT",
            "raw_path": b"/examplebucket/chunkObject.txt",
            "query_string": b"",
            "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        }
    )
    return verified(req, DOC_SECRET, datetime(2013, 5, 24, 0, 5, tzinfo=UTC))  # type: ignore[no-any-return]


def doc_body(corrupt: bool = False) -> bytes:
    body = b""
    for size, signature in DOC_CHUNKS:
        data = bytearray(b"a" * size)
        if corrupt and size == 1024:
            data[10] = ord("b")
        body += f"{size:x};chunk-signature={signature}\r\n".encode() + data + b"\r\n"
    return body


def feed_all(decoder: AwsChunkedDecoder, body: bytes, sizes: list[int] | None = None) -> bytes:
    out, at = bytearray(), 0
    for size in sizes or [len(body)]:
        for piece in decoder.feed(body[at : at + size]):
            out += piece
        at += size
    for piece in decoder.feed(body[at:]):
        out += piece
    return bytes(out)


def random_splits(total: int, seed: int) -> list[int]:
    rng, sizes = random.Random(seed), []
    while sum(sizes) < total:
        sizes.append(rng.choice([1, 2, 3, 7, 64, 1000, 70000]))
    return sizes


def test_aws_published_streaming_example_verifies_and_decodes() -> None:
    ctx = doc_context()
    assert (ctx.seed_signature, ctx.payload_hash) == (DOC_SEED, STREAMING_SIGNED)
    decoder = AwsChunkedDecoder(ctx, signed=True, expect_trailer=None, decoded_length=66560)
    assert feed_all(decoder, doc_body()) == b"a" * 66560
    assert decoder.finish() == {} and decoder.decoded_bytes == 66560


@pytest.mark.parametrize("seed", range(6))
def test_any_split_of_the_input_decodes_the_same(seed: int) -> None:
    body = doc_body()
    decoder = AwsChunkedDecoder(doc_context(), signed=True, expect_trailer=None)
    assert feed_all(decoder, body, random_splits(len(body), seed)) == b"a" * 66560
    assert decoder.finish() == {}


def test_one_byte_feeds_decode_and_a_signed_chunk_is_released_only_when_verified() -> None:
    body = doc_body()
    decoder = AwsChunkedDecoder(doc_context(), signed=True, expect_trailer=None)
    first_end = len(f"10000;chunk-signature={DOC_CHUNKS[0][1]}\r\n") + 65536 + 2
    released = [decoder.feed(body[i : i + 1]) for i in range(first_end)]
    assert all(not pieces for pieces in released[:-1])
    assert released[-1] == [b"a" * 65536]
    out = b"".join(p for i in range(first_end, len(body)) for p in decoder.feed(body[i : i + 1]))
    assert out == b"a" * 1024 and decoder.finish() == {}


def test_a_changed_byte_fails_its_chunk_signature() -> None:
    decoder = AwsChunkedDecoder(doc_context(), signed=True, expect_trailer=None)
    body = doc_body(corrupt=True)
    first_end = len(f"10000;chunk-signature={DOC_CHUNKS[0][1]}\r\n") + 65536 + 2
    assert decoder.feed(body[:first_end]) == [b"a" * 65536]
    with pytest.raises(CloudError, match="signature of chunk 2") as caught:
        decoder.feed(body[first_end:])
    assert caught.value.details["s3_code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (DOC_CHUNKS[1][1], DOC_CHUNKS[1][1][:-1] + "0"),  # a wrong signature
        (DOC_CHUNKS[1][1], DOC_CHUNKS[0][1]),  # chunk 1's signature replayed
        (f";chunk-signature={DOC_CHUNKS[2][1]}", ""),  # an unsigned final chunk
    ],
)
def test_a_wrong_or_missing_chunk_signature_is_refused(old: str, new: str) -> None:
    body = doc_body().replace(old.encode(), new.encode())
    decoder = AwsChunkedDecoder(doc_context(), signed=True, expect_trailer=None)
    with pytest.raises(CloudError) as caught:
        feed_all(decoder, body)
    assert caught.value.details["s3_code"] == "SignatureDoesNotMatch"


def test_a_signed_chunk_from_another_seed_is_refused() -> None:
    ctx = doc_context()
    other = SigningContext(
        ctx.scheme, AKID, ctx.payload_hash, ctx.signing_key, "0" * 64, ctx.scope, ctx.amz_date
    )
    with pytest.raises(CloudError, match="signature of chunk 1"):
        AwsChunkedDecoder(other, signed=True, expect_trailer=None).feed(doc_body())


def test_aws_crt_trailer_vector_verifies() -> None:
    trailer_signature = f"x-amz-trailer-signature:{CRT_TRAILER_SIGNATURE}\r\n\r\n".encode()
    body = doc_body()[:-2] + CRT_TRAILERS + trailer_signature  # the trailers end the last chunk
    decoder = AwsChunkedDecoder(doc_context(), signed=True, expect_trailer="first, second,third")
    assert feed_all(decoder, body, random_splits(len(body), 9)) == b"a" * 66560
    assert decoder.finish() == {"first": "1st", "second": "2nd", "third": "3rd"}
    tampered = body.replace(b"2nd", b"2ND")
    decoder = AwsChunkedDecoder(doc_context(), signed=True, expect_trailer="first,second,third")
    with pytest.raises(CloudError, match="x-amz-trailer-signature does not match"):
        feed_all(decoder, tampered)


# --- signed bodies built from the spec over a request signed by botocore -------------------


class _StreamingAuth(S3SigV4Auth):
    streaming = STREAMING_SIGNED_TRAILER

    def payload(self, request: Any) -> str:
        return self.streaming


def streaming_context(payload_hash: str = STREAMING_SIGNED_TRAILER) -> SigningContext:
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Trailer": "x-amz-checksum-crc32"}
    request = AWSRequest(method="PUT", url="http://localhost:9000/bkt/k", headers=headers)
    auth = _StreamingAuth(Credentials(AKID, SECRET), "s3", "us-east-1")
    auth.streaming = payload_hash
    auth.add_auth(request)
    return verified(as_received(request))  # type: ignore[no-any-return]


def _sign(ctx: SigningContext, kind: str, previous: str, *hashes: str) -> str:
    to_sign = "\n".join([kind, ctx.amz_date, ctx.scope, previous, *hashes])
    return hmac.new(ctx.signing_key, to_sign.encode(), hashlib.sha256).hexdigest()


def signed_body(ctx: SigningContext, payload: bytes, chunk: int, trailers: dict[str, str]) -> bytes:
    body, previous = bytearray(), ctx.seed_signature
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for data in pieces:
        digest = hashlib.sha256(data).hexdigest()
        previous = _sign(ctx, "AWS4-HMAC-SHA256-PAYLOAD", previous, EMPTY_SHA256, digest)
        body += f"{len(data):x};chunk-signature={previous}\r\n".encode() + data + b"\r\n"
    if trailers:
        canonical = "".join(f"{k}:{v}\n" for k, v in sorted(trailers.items())).encode()
        signature = _sign(
            ctx, "AWS4-HMAC-SHA256-TRAILER", previous, hashlib.sha256(canonical).hexdigest()
        )
        del body[-2:]  # the trailers follow the final chunk's header
        body += (
            canonical.replace(b"\n", b"\r\n")
            + f"x-amz-trailer-signature:{signature}\r\n\r\n".encode()
        )
    return bytes(body)


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


PAYLOAD = bytes(range(256)) * 40  # 10240 bytes


def test_a_signed_body_with_a_signed_checksum_trailer_decodes_and_checks() -> None:
    ctx = streaming_context()
    body = signed_body(ctx, PAYLOAD, 4096, {"x-amz-checksum-crc32": crc32(PAYLOAD)})
    headers = {
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-decoded-content-length": "10240",
        "x-amz-content-sha256": STREAMING_SIGNED_TRAILER,
    }
    decoder = body_decoder(ctx, headers)
    sums = Checksums.for_request(headers)
    for size in random_splits(len(body), 3):
        for piece in decoder.feed(body[:size]):
            sums.update(piece)
        body = body[size:]
    trailers = decoder.finish()
    assert check_checksums(sums, headers, trailers) == {"CRC32": crc32(PAYLOAD)}


@pytest.mark.parametrize(
    ("change", "code", "says"),
    [
        (lambda b: b.replace(b"x-amz-checksum-crc32:", b"x-amz-checksum-crc32: "), None, None),
        (
            lambda b: b.replace(b":" + crc32(PAYLOAD).encode(), b":AAAAAA=="),
            "SignatureDoesNotMatch",
            "trailer-signature",
        ),
        (
            lambda b: b.split(b"x-amz-trailer-signature")[0] + b"\r\n",
            "SignatureDoesNotMatch",
            "not signed",
        ),
        (
            lambda b: b.replace(b"x-amz-checksum-crc32", b"x-amz-checksum-sha1"),
            "InvalidArgument",
            "not declared",
        ),
        (lambda b: b + b"x", "InvalidArgument", "after the end"),
        (lambda b: b.replace(b"1000;", b"100g;"), "InvalidArgument", "hex size"),
        (
            lambda b: b.replace(b"1000;", b"0fff;", 1),
            "InvalidArgument",
            "longer than its declared size",
        ),
    ],
)
def test_a_changed_signed_body_is_refused(change: Any, code: str | None, says: str | None) -> None:
    ctx = streaming_context()
    body = change(signed_body(ctx, PAYLOAD, 4096, {"x-amz-checksum-crc32": crc32(PAYLOAD)}))
    decoder = AwsChunkedDecoder(ctx, signed=True, expect_trailer="x-amz-checksum-crc32")
    if code is None:  # spaces around a trailer value are not part of it
        feed_all(decoder, body)
        assert decoder.finish() == {"x-amz-checksum-crc32": crc32(PAYLOAD)}
        return
    with pytest.raises(CloudError, match=says) as caught:
        feed_all(decoder, body)
        decoder.finish()
    assert caught.value.details["s3_code"] == code


def test_a_truncated_body_is_an_incomplete_body() -> None:
    ctx = streaming_context()
    body = signed_body(ctx, PAYLOAD[:100], 40, {"x-amz-checksum-crc32": crc32(PAYLOAD[:100])})
    for end in range(len(body) - 2):
        decoder = AwsChunkedDecoder(ctx, signed=True, expect_trailer="x-amz-checksum-crc32")
        feed_all(decoder, body[:end])
        with pytest.raises(CloudError) as caught:
            decoder.finish()
        assert caught.value.details["s3_code"] == "IncompleteBody", end
    lenient = AwsChunkedDecoder(ctx, signed=True, expect_trailer="x-amz-checksum-crc32")
    feed_all(lenient, body[:-2])  # only the empty line after the trailers is missing
    assert lenient.finish() == {"x-amz-checksum-crc32": crc32(PAYLOAD[:100])}


def test_a_declared_trailer_that_never_comes_is_an_incomplete_body() -> None:
    ctx = streaming_context(STREAMING_SIGNED)
    decoder = AwsChunkedDecoder(ctx, signed=True, expect_trailer="x-amz-checksum-crc32")
    with pytest.raises(
        CloudError, match="x-amz-checksum-crc32 declared in x-amz-trailer"
    ) as caught:
        feed_all(decoder, signed_body(ctx, PAYLOAD, 8192, {}))
    assert caught.value.details["s3_code"] == "IncompleteBody"


@pytest.mark.parametrize(
    ("declared", "says"), [(10239, "more than the 10239"), (10241, "declares 10241")]
)
def test_the_decoded_length_must_match(declared: int, says: str) -> None:
    ctx = streaming_context(STREAMING_SIGNED)
    decoder = AwsChunkedDecoder(ctx, signed=True, expect_trailer=None, decoded_length=declared)
    with pytest.raises(CloudError, match=says):
        feed_all(decoder, signed_body(ctx, PAYLOAD, 8192, {}))
        decoder.finish()


def test_limits_on_signed_chunks_and_lines() -> None:
    ctx = streaming_context(STREAMING_SIGNED)
    decoder = AwsChunkedDecoder(ctx, signed=True, expect_trailer=None, max_signed_chunk=4096)
    with pytest.raises(CloudError, match="signed chunk of 8192 bytes exceeds 4096"):
        decoder.feed(signed_body(ctx, PAYLOAD, 8192, {}))
    with pytest.raises(CloudError, match="longer than 4096 bytes"):
        AwsChunkedDecoder(None, signed=False, expect_trailer=None).feed(b"1" * 5000)
    with pytest.raises(CloudError, match="need AWS Signature Version 4") as caught:
        AwsChunkedDecoder(None, signed=True, expect_trailer=None)
    assert caught.value.details["s3_code"] == "InvalidRequest"


# --- what boto3 sends over https -----------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256"])  # CRC32C needs awscrt
def test_boto3_unsigned_trailer_bodies_decode_and_check(algorithm: str) -> None:
    payload = b"The quick brown fox " * 1000
    prepared = sent_by_boto3(
        HTTPS, "put_object", Bucket="bkt", Key="k", Body=payload, ChecksumAlgorithm=algorithm
    )
    req = as_received(prepared)
    ctx = verified(req)
    decoder, sums = body_decoder(ctx, req.headers), Checksums.for_request(req.headers)
    assert isinstance(decoder, AwsChunkedDecoder) and sums.algorithms == (algorithm,)
    body = body_of(prepared)
    pieces = [p for i in range(len(body)) for p in decoder.feed(body[i : i + 1])]
    assert b"".join(pieces) == payload and len(pieces) == len(
        payload
    )  # unsigned: passed on at once
    for piece in pieces:
        sums.update(piece)
    trailers = decoder.finish()
    assert list(trailers) == [f"x-amz-checksum-{algorithm.lower()}"]
    assert check_checksums(sums, req.headers, trailers) == {algorithm: trailers[list(trailers)[0]]}
    assert sums.md5_hex() == hashlib.md5(payload).hexdigest()  # noqa: S324


def test_a_boto3_body_whose_trailer_does_not_match_is_a_bad_digest() -> None:
    prepared = sent_by_boto3(HTTPS, "put_object", Bucket="bkt", Key="k", Body=b"hello")
    req = as_received(prepared)
    decoder, sums = body_decoder(verified(req), req.headers), Checksums.for_request(req.headers)
    for piece in decoder.feed(body_of(prepared).replace(b"hello", b"jello")):
        sums.update(piece)
    with pytest.raises(CloudError, match="The CRC32 you specified did not match") as caught:
        check_checksums(sums, req.headers, decoder.finish())
    assert caught.value.details["s3_code"] == "BadDigest"


# --- plain bodies --------------------------------------------------------------------------


def test_a_plain_body_is_checked_against_its_sha256() -> None:
    body = PlainBody(hashlib.sha256(b"hello").hexdigest())
    assert body.feed(b"hel") + body.feed(b"") + body.feed(b"lo") == [b"hel", b"lo"]
    assert body.finish() == {}
    wrong = PlainBody(hashlib.sha256(b"hello").hexdigest().upper())
    wrong.feed(b"hellO")
    with pytest.raises(CloudError, match="does not match what was computed") as caught:
        wrong.finish()
    assert caught.value.details["s3_code"] == "XAmzContentSHA256Mismatch"


def test_body_decoder_follows_x_amz_content_sha256() -> None:
    assert isinstance(body_decoder(None, {}), PlainBody)
    assert isinstance(body_decoder(None, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}), PlainBody)
    unsigned = {"x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}
    assert isinstance(body_decoder(None, unsigned), AwsChunkedDecoder)
    with pytest.raises(CloudError, match="need AWS Signature Version 4"):
        body_decoder(None, {"x-amz-content-sha256": STREAMING_SIGNED})
    with pytest.raises(CloudError, match="x-amz-decoded-content-length must be a number"):
        body_decoder(None, {**unsigned, "x-amz-decoded-content-length": "-1"})
    with pytest.raises(CloudError, match="x-amz-content-sha256 is 'sha'"):
        body_decoder(None, {"x-amz-content-sha256": "sha"})


def test_stored_content_encoding_drops_aws_chunked() -> None:
    assert stored_content_encoding("aws-chunked") == ""
    assert stored_content_encoding("aws-chunked, gzip") == "gzip"
    assert stored_content_encoding("gzip,AWS-Chunked,br") == "gzip,br"
