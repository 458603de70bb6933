"""Object checksums: MD5 (ETag, Content-MD5) and the x-amz-checksum-* ones, checked as S3 does."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import zlib
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import crc32c

from thecloud.domain.objects import S3Invalid

ALGORITHMS = ("CRC32", "CRC32C", "SHA1", "SHA256")
UNSUPPORTED = ("CRC64NVME",)  # no fast implementation in stdlib or our dependencies
DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "SHA1": 20, "SHA256": 32}
# x-amz-checksum-* headers that carry no checksum value
_NOT_VALUES = frozenset(("x-amz-checksum-mode", "x-amz-checksum-algorithm", "x-amz-checksum-type"))


class _Sum(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class _Crc:
    def __init__(self, function: Callable[[bytes, int], int]) -> None:
        self._function, self._value = function, 0

    def update(self, data: bytes) -> None:
        self._value = self._function(data, self._value)

    def digest(self) -> bytes:
        return (self._value & 0xFFFFFFFF).to_bytes(4, "big")


def _new(algorithm: str) -> _Sum:
    if algorithm == "CRC32":
        return _Crc(zlib.crc32)
    if algorithm == "CRC32C":
        return _Crc(crc32c.crc32c)
    if algorithm == "SHA1":
        return hashlib.sha1()  # noqa: S324 - the checksum S3 clients ask for
    return hashlib.sha256()


class Checksums:
    """MD5 and the requested algorithms (CRC32, CRC32C, SHA1, SHA256) over one body."""

    def __init__(self, algorithms: Iterable[str] = ()) -> None:
        names = {supported_algorithm(name) for name in algorithms}
        self._md5 = hashlib.md5()  # noqa: S324 - S3's ETag and Content-MD5, not security
        self._sums: dict[str, _Sum] = {name: _new(name) for name in sorted(names)}

    @classmethod
    def for_request(cls, headers: Mapping[str, str], default_algorithm: str = "") -> Checksums:
        """The sums a request needs: the algorithm its checksum headers name, else
        `default_algorithm` (a multipart upload's, say)."""
        algorithm = requested_algorithm(headers) or default_algorithm
        return cls([algorithm] if algorithm else [])

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self._sums)

    def update(self, data: bytes) -> None:
        self._md5.update(data)
        for checksum in self._sums.values():
            checksum.update(data)

    def digest(self, algorithm: str) -> bytes:
        if algorithm not in self._sums:
            raise ValueError(f"{algorithm} was not computed (only {', '.join(self._sums)})")
        return self._sums[algorithm].digest()

    def base64(self, algorithm: str) -> str:
        return base64.b64encode(self.digest(algorithm)).decode()

    def md5_digest(self) -> bytes:
        return self._md5.digest()

    def md5_hex(self) -> str:
        return self._md5.hexdigest()


def supported_algorithm(name: str, source: str = "checksum algorithm") -> str:
    """`name` as one of ALGORITHMS; an InvalidRequest naming `source` (a header) if not."""
    algorithm = name.strip().upper()
    if algorithm in ALGORITHMS:
        return algorithm
    if algorithm in UNSUPPORTED:
        raise S3Invalid(
            "InvalidRequest",
            f"{source}: {algorithm} checksums are not supported here; use {', '.join(ALGORITHMS)}",
        )
    raise S3Invalid(
        "InvalidRequest",
        f"{source}: {name!r} is not a checksum algorithm; use one of {', '.join(ALGORITHMS)}",
    )


def requested_algorithm(headers: Mapping[str, str]) -> str:
    """The one checksum algorithm a request names, in an x-amz-checksum-<algo> header or
    trailer, x-amz-sdk-checksum-algorithm or x-amz-checksum-algorithm ("" if none)."""
    carried = _carried_algorithms(headers)
    if len(carried) > 1:
        raise S3Invalid(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header or trailer; multiple checksum types "
            f"are not allowed ({', '.join(sorted(carried))})",
        )
    algorithm = next(iter(carried), "")
    for header in ("x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"):
        named = supported_algorithm(headers[header], header) if headers.get(header) else algorithm
        if algorithm and named != algorithm:
            raise S3Invalid(
                "InvalidRequest", f"{header} is {named} but the request names {algorithm}"
            )
        algorithm = named
    return algorithm


def _carried_algorithms(headers: Mapping[str, str]) -> set[str]:
    names = [n for n in headers if n.startswith("x-amz-checksum-") and n not in _NOT_VALUES]
    names += [n.strip().lower() for n in headers.get("x-amz-trailer", "").split(",")]
    prefix = len("x-amz-checksum-")
    return {supported_algorithm(n[prefix:], n) for n in names if n.startswith("x-amz-checksum-")}


def check_checksums(
    computed: Checksums, headers: Mapping[str, str], trailers: Mapping[str, str]
) -> dict[str, str]:
    """Compare what the client sent (Content-MD5, an x-amz-checksum-<algo> header or trailer)
    with what was computed; the checksums to keep with the object, algorithm -> base64."""
    if "content-md5" in headers:
        _check_md5(computed, headers["content-md5"])
    algorithm = requested_algorithm(headers)
    if not algorithm:
        return {}
    name = f"x-amz-checksum-{algorithm.lower()}"
    sent = headers.get(name, trailers.get(name))
    if sent is None and name in _declared_trailers(headers):
        raise S3Invalid("InvalidRequest", f"The trailer {name} in x-amz-trailer was not sent")
    if sent is not None:
        _check_value(computed, algorithm, name, sent)
    return {algorithm: computed.base64(algorithm)}


def _declared_trailers(headers: Mapping[str, str]) -> list[str]:
    return [n.strip().lower() for n in headers.get("x-amz-trailer", "").split(",")]


def _check_md5(computed: Checksums, content_md5: str) -> None:
    sent = _decode(content_md5, 16)
    if sent is None:
        raise S3Invalid(
            "InvalidDigest",
            f"The Content-MD5 you specified is not valid: {content_md5[:40]!r} is not the "
            "base64 of 16 bytes.",
        )
    if not hmac.compare_digest(sent, computed.md5_digest()):
        raise S3Invalid(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            expected_digest=content_md5,
            calculated_digest=base64.b64encode(computed.md5_digest()).decode(),
        )


def _check_value(computed: Checksums, algorithm: str, name: str, sent: str) -> None:
    digest = _decode(sent, DIGEST_SIZES[algorithm])
    if digest is None:
        raise S3Invalid(
            "InvalidRequest",
            f"Value for {name} header is invalid: {sent[:60]!r} is not the base64 of "
            f"{DIGEST_SIZES[algorithm]} bytes.",
        )
    if not hmac.compare_digest(digest, computed.digest(algorithm)):
        raise S3Invalid(
            "BadDigest",
            f"The {algorithm} you specified did not match the calculated checksum.",
            expected=sent,
            calculated=computed.base64(algorithm),
        )


def _decode(value: str, size: int) -> bytes | None:
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest if len(digest) == size else None
