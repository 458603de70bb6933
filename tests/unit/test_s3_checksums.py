"""Checksums: the values S3 clients compute, and the errors S3 gives when they differ."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from botocore.httpchecksum import Crc32Checksum, Sha1Checksum, Sha256Checksum

from thecloud.domain.errors import CloudError
from thecloud.entrypoints.s3.checksums import (
    Checksums,
    check_checksums,
    requested_algorithm,
)

DATA = b"The quick brown fox jumps over the lazy dog" * 1000


def summed(data: bytes, *algorithms: str, pieces: int = 7) -> Checksums:
    sums = Checksums(algorithms)
    step = max(1, len(data) // pieces)
    for at in range(0, len(data), step):
        sums.update(data[at : at + step])
    return sums


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


@pytest.mark.parametrize(
    ("algorithm", "botocore_checksum"),
    [("CRC32", Crc32Checksum), ("SHA1", Sha1Checksum), ("SHA256", Sha256Checksum)],
)
def test_values_match_what_botocore_sends(algorithm: str, botocore_checksum: type) -> None:
    theirs = botocore_checksum()
    theirs.update(DATA)
    assert summed(DATA, algorithm).base64(algorithm) == theirs.b64digest()


def test_crc32c_matches_the_standard_check_value() -> None:
    sums = summed(b"123456789", "crc32c", pieces=4)
    assert sums.digest("CRC32C") == bytes.fromhex("e3069283")
    assert Checksums(["CRC32C"]).base64("CRC32C") == "AAAAAA=="


def test_md5_is_always_computed() -> None:
    sums = summed(DATA)
    assert sums.algorithms == ()
    assert sums.md5_hex() == hashlib.md5(DATA).hexdigest()  # noqa: S324
    assert sums.md5_digest() == hashlib.md5(DATA).digest()  # noqa: S324
    with pytest.raises(ValueError, match="CRC32 was not computed"):
        sums.base64("CRC32")


def test_large_bodies_are_summed_fast() -> None:
    block, started = b"x" * (1 << 20), time.perf_counter()
    sums = Checksums(["CRC32", "CRC32C", "SHA256"])
    for _ in range(32):
        sums.update(block)
    assert time.perf_counter() - started < 2.0  # C speed: ~0.1 s for 32 MiB here


# --- which algorithm a request names ------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "algorithm"),
    [
        ({}, ""),
        ({"x-amz-checksum-crc32": "x"}, "CRC32"),
        ({"x-amz-sdk-checksum-algorithm": "crc32c"}, "CRC32C"),
        ({"x-amz-trailer": "x-amz-checksum-sha256"}, "SHA256"),
        ({"x-amz-sdk-checksum-algorithm": "SHA1", "x-amz-checksum-sha1": "x"}, "SHA1"),
        ({"x-amz-checksum-algorithm": "SHA256"}, "SHA256"),
        ({"x-amz-checksum-mode": "ENABLED", "x-amz-checksum-type": "FULL_OBJECT"}, ""),
    ],
)
def test_the_requested_algorithm(headers: dict[str, str], algorithm: str) -> None:
    assert requested_algorithm(headers) == algorithm
    assert Checksums.for_request(headers).algorithms == ((algorithm,) if algorithm else ())


def test_a_default_algorithm_applies_when_the_request_names_none() -> None:
    assert Checksums.for_request({}, "SHA1").algorithms == ("SHA1",)
    assert Checksums.for_request({"x-amz-checksum-crc32": "x"}, "SHA1").algorithms == ("CRC32",)


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"x-amz-checksum-crc32": "a", "x-amz-checksum-sha1": "b"}, "multiple checksum types"),
        ({"x-amz-checksum-crc32": "a", "x-amz-trailer": "x-amz-checksum-sha1"}, "multiple"),
        ({"x-amz-sdk-checksum-algorithm": "SHA256", "x-amz-checksum-crc32": "a"}, "is SHA256"),
        ({"x-amz-sdk-checksum-algorithm": "MD5"}, "x-amz-sdk-checksum-algorithm: 'MD5' is not a"),
        ({"x-amz-checksum-xxhash64": "a"}, "x-amz-checksum-xxhash64: 'xxhash64' is not a"),
        ({"x-amz-sdk-checksum-algorithm": "CRC64NVME"}, "CRC64NVME checksums are not supported"),
        ({"x-amz-checksum-crc64nvme": "AAAAAAAAAAA="}, "CRC64NVME checksums are not supported"),
        ({"x-amz-trailer": "x-amz-checksum-crc64nvme"}, "CRC64NVME checksums are not supported"),
    ],
)
def test_a_request_naming_checksums_wrongly_is_refused(headers: dict[str, str], says: str) -> None:
    with pytest.raises(CloudError) as caught:
        requested_algorithm(headers)
    assert caught.value.details["s3_code"] == "InvalidRequest"
    assert says in str(caught.value)


# --- checking what the client sent ----------------------------------------------------------


def test_matching_checksums_are_kept_without_md5() -> None:
    sums = summed(DATA, "CRC32")
    crc = sums.base64("CRC32")
    headers = {"content-md5": b64(sums.md5_digest()), "x-amz-checksum-crc32": crc}
    assert check_checksums(sums, headers, {}) == {"CRC32": crc}
    assert check_checksums(sums, {"content-md5": b64(sums.md5_digest())}, {}) == {}
    trailer = {"x-amz-trailer": "x-amz-checksum-crc32"}
    assert check_checksums(sums, trailer, {"x-amz-checksum-crc32": crc}) == {"CRC32": crc}
    named = {"x-amz-sdk-checksum-algorithm": "CRC32"}  # no value sent: the computed one is kept
    assert check_checksums(sums, named, {}) == {"CRC32": crc}


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_a_checksum_that_does_not_match_is_a_bad_digest(algorithm: str) -> None:
    sums, other = summed(DATA, algorithm), summed(DATA + b"!", algorithm)
    for headers, trailers in [
        ({f"x-amz-checksum-{algorithm.lower()}": other.base64(algorithm)}, {}),
        (
            {"x-amz-trailer": f"x-amz-checksum-{algorithm.lower()}"},
            {f"x-amz-checksum-{algorithm.lower()}": other.base64(algorithm)},
        ),
    ]:
        with pytest.raises(CloudError) as caught:
            check_checksums(sums, headers, trailers)
        assert caught.value.details["s3_code"] == "BadDigest"
        expected = f"The {algorithm} you specified did not match the calculated checksum."
        assert str(caught.value) == expected


def test_a_content_md5_that_does_not_match_is_a_bad_digest() -> None:
    sums = summed(DATA)
    with pytest.raises(CloudError) as caught:
        check_checksums(sums, {"content-md5": b64(hashlib.md5(b"x").digest())}, {})  # noqa: S324
    assert caught.value.details["s3_code"] == "BadDigest"
    assert str(caught.value) == "The Content-MD5 you specified did not match what we received."


@pytest.mark.parametrize("content_md5", ["nope", b64(b"short"), "ZZZZ" * 6, ""])
def test_a_content_md5_that_is_not_one_is_an_invalid_digest(content_md5: str) -> None:
    with pytest.raises(CloudError, match="The Content-MD5 you specified is not valid") as caught:
        check_checksums(summed(DATA), {"content-md5": content_md5}, {})
    assert caught.value.details["s3_code"] == "InvalidDigest"


@pytest.mark.parametrize("value", ["not base64!", b64(b"12345"), b64(b"123")])
def test_a_checksum_value_of_the_wrong_form_is_refused(value: str) -> None:
    sums = summed(DATA, "CRC32")
    with pytest.raises(CloudError, match="Value for x-amz-checksum-crc32 header is invalid") as e:
        check_checksums(sums, {"x-amz-checksum-crc32": value}, {})
    assert e.value.details["s3_code"] == "InvalidRequest"


def test_a_declared_trailer_must_come() -> None:
    sums = summed(DATA, "SHA256")
    with pytest.raises(CloudError, match="x-amz-checksum-sha256 in x-amz-trailer was not sent"):
        check_checksums(sums, {"x-amz-trailer": "x-amz-checksum-sha256"}, {})
