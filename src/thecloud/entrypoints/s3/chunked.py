"""Request bodies: aws-chunked de-framing with chunk and trailer signatures, payload hashes."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from enum import Enum
from typing import Protocol

from thecloud.domain.objects import S3Forbidden, S3Invalid
from thecloud.entrypoints.s3.request import (
    EMPTY_SHA256,
    STREAMING_PAYLOADS,
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    SigningContext,
    check_payload_hash,
)

CHUNK_ALGORITHM = "AWS4-HMAC-SHA256-PAYLOAD"
TRAILER_ALGORITHM = "AWS4-HMAC-SHA256-TRAILER"
TRAILER_SIGNATURE = "x-amz-trailer-signature"
MAX_LINE = 4096  # a chunk header or trailer line
MAX_TRAILERS = 16
MAX_SIGNED_CHUNK = 16 * 1024**2  # a signed chunk is held until its signature is checked
_HEX_SIZE = re.compile(r"[0-9a-fA-F]{1,16}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class BodyDecoder(Protocol):
    def feed(self, data: bytes) -> list[bytes]:
        """The payload bytes `data` completes, in order (possibly none)."""
        ...

    def finish(self) -> dict[str, str]:
        """Check the end of the body; the trailers it carried (lowercase names)."""
        ...


def body_decoder(ctx: SigningContext | None, headers: Mapping[str, str]) -> BodyDecoder:
    """The decoder a request's body needs, from x-amz-content-sha256 (the verified one in
    `ctx`; None for an anonymous request), x-amz-trailer and x-amz-decoded-content-length."""
    declared = headers.get("x-amz-content-sha256", UNSIGNED_PAYLOAD)
    payload_hash = ctx.payload_hash if ctx else check_payload_hash(declared)
    if payload_hash not in STREAMING_PAYLOADS:
        return PlainBody(None if payload_hash == UNSIGNED_PAYLOAD else payload_hash)
    return AwsChunkedDecoder(
        ctx,
        signed=payload_hash != STREAMING_UNSIGNED_TRAILER,
        expect_trailer=headers.get("x-amz-trailer"),
        decoded_length=decoded_length(headers),
    )


def decoded_length(headers: Mapping[str, str]) -> int | None:
    """x-amz-decoded-content-length: the payload size of an aws-chunked body, if given."""
    value = headers.get("x-amz-decoded-content-length")
    if value is None:
        return None
    if not value.isascii() or not value.isdigit():
        raise S3Invalid(
            "InvalidArgument",
            f"x-amz-decoded-content-length must be a number of bytes, not {value!r}",
        )
    return int(value)


def stored_content_encoding(content_encoding: str) -> str:
    """Content-Encoding without aws-chunked (S3 does not keep it with the object)."""
    codings = [c.strip() for c in content_encoding.split(",")]
    return ",".join(c for c in codings if c and c.lower() != "aws-chunked")


class PlainBody:
    """A body sent as it is; a hex x-amz-content-sha256 is checked when it ends."""

    def __init__(self, expected_sha256: str | None = None) -> None:
        self._expected = expected_sha256.lower() if expected_sha256 else None
        self._hash = hashlib.sha256()

    def feed(self, data: bytes) -> list[bytes]:
        if self._expected:
            self._hash.update(data)
        return [data] if data else []

    def finish(self) -> dict[str, str]:
        computed = self._hash.hexdigest()
        if self._expected and not hmac.compare_digest(computed, self._expected):
            raise S3Invalid(
                "XAmzContentSHA256Mismatch",
                "The provided 'x-amz-content-sha256' header does not match what was computed.",
                client_computed=self._expected,
                s3_computed=computed,
            )
        return {}


class _State(Enum):
    HEADER = "chunk header"
    DATA = "chunk data"
    DATA_END = "CRLF after chunk data"
    TRAILER = "trailers"
    DONE = "end"


class AwsChunkedDecoder:
    """Content-Encoding: aws-chunked, fed in any pieces. Signed (STREAMING-AWS4-HMAC-SHA256-*)
    chunks are held until their signature, chained from the seed, checks out; unsigned
    ones are passed on as they come. `finish()` checks the end and returns the trailers."""

    def __init__(
        self,
        ctx: SigningContext | None,
        signed: bool,
        expect_trailer: str | None,
        *,
        decoded_length: int | None = None,
        max_signed_chunk: int = MAX_SIGNED_CHUNK,
    ) -> None:
        if signed and (ctx is None or not ctx.signing_key):
            raise S3Invalid(
                "InvalidRequest",
                "signed aws-chunked bodies need AWS Signature Version 4 header authentication",
            )
        self._ctx, self._signed = ctx, signed
        self._expected = {n.strip().lower() for n in (expect_trailer or "").split(",") if n.strip()}
        self._length, self._max_chunk = decoded_length, max_signed_chunk
        self._buf, self._held = bytearray(), bytearray()
        self._state, self._remaining, self._chunks = _State.HEADER, 0, 0
        self._previous = ctx.seed_signature if ctx else ""
        self._chunk_signature, self._hash = "", hashlib.sha256()
        self._trailers: dict[str, str] = {}
        self._trailer_signature = ""
        self.decoded_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        if self._state is _State.DONE and data:
            raise _malformed("there are bytes after the end of the aws-chunked body")
        self._buf += data
        out: list[bytes] = []
        while self._step(out):
            pass
        return out

    def finish(self) -> dict[str, str]:
        if self._state is _State.TRAILER and not self._buf and self._trailers_complete():
            self._end()  # all came but the empty line that ends the trailers
        if self._state is not _State.DONE:
            raise S3Invalid(
                "IncompleteBody",
                f"The request body ended early: the aws-chunked body stopped in its "
                f"{self._state.value} after {self.decoded_bytes} payload bytes",
            )
        return dict(self._trailers)

    def _trailers_complete(self) -> bool:
        signed = bool(self._trailer_signature) or not (self._signed and self._expected)
        return signed and self._expected <= self._trailers.keys()

    def _step(self, out: list[bytes]) -> bool:
        if self._state is _State.HEADER:
            return self._read_header()
        if self._state is _State.DATA:
            return self._read_data(out)
        if self._state is _State.DATA_END:
            return self._read_data_end(out)
        if self._state is _State.TRAILER:
            return self._read_trailer()
        if self._buf:
            raise _malformed("there are bytes after the end of the aws-chunked body")
        return False

    def _take_line(self) -> str | None:
        end = self._buf.find(b"\r\n", 0, MAX_LINE + 2)
        if end < 0:
            if len(self._buf) > MAX_LINE:
                raise _malformed(f"a chunk header or trailer is longer than {MAX_LINE} bytes")
            return None
        line = self._buf[:end].decode("latin-1")
        del self._buf[: end + 2]
        return line

    def _read_header(self) -> bool:
        line = self._take_line()
        if line is None:
            return False
        size, self._chunk_signature = self._parse_header(line)
        self._check_size(size)
        self._chunks += 1
        self._remaining, self._hash = size, hashlib.sha256()
        self._state = _State.DATA if size else _State.TRAILER
        if not size:
            self._check_chunk()
        return True

    def _parse_header(self, line: str) -> tuple[int, str]:
        size, *extensions = line.split(";")
        if not _HEX_SIZE.fullmatch(size.strip()):
            raise _malformed(f"the chunk header {line[:80]!r} does not start with a hex size")
        signature = ""
        for extension in extensions:
            name, _, value = extension.partition("=")
            signature = value.strip() if name.strip() == "chunk-signature" else signature
        if self._signed and not _HEX64.fullmatch(signature):
            raise S3Forbidden(
                "SignatureDoesNotMatch",
                f"chunk {self._chunks + 1} has no chunk-signature of 64 lowercase hex digits",
            )
        return int(size, 16), signature

    def _check_size(self, size: int) -> None:
        if self._signed and size > self._max_chunk:
            raise _malformed(f"a signed chunk of {size} bytes exceeds {self._max_chunk} bytes")
        if self._length is not None and self.decoded_bytes + size > self._length:
            raise _malformed(
                f"the aws-chunked body holds more than the {self._length} bytes "
                "x-amz-decoded-content-length declares"
            )

    def _read_data(self, out: list[bytes]) -> bool:
        if not self._buf:
            return False
        piece = bytes(self._buf[: self._remaining])
        del self._buf[: len(piece)]
        self._remaining -= len(piece)
        self.decoded_bytes += len(piece)
        if self._signed:
            self._hash.update(piece)
            self._held += piece
        else:
            out.append(piece)
        self._state = _State.DATA if self._remaining else _State.DATA_END
        return True

    def _read_data_end(self, out: list[bytes]) -> bool:
        if len(self._buf) < 2:
            return False
        if self._buf[:2] != b"\r\n":
            raise _malformed(f"chunk {self._chunks} is longer than its declared size")
        del self._buf[:2]
        if self._signed:
            self._check_chunk()
            out.append(bytes(self._held))
            self._held.clear()
        self._state = _State.HEADER
        return True

    def _check_chunk(self) -> None:
        if not self._signed or self._ctx is None:
            return
        ctx, digest = self._ctx, self._hash.hexdigest()
        to_sign = f"{CHUNK_ALGORITHM}\n{ctx.amz_date}\n{ctx.scope}\n{self._previous}\n"
        expected = ctx.sign(f"{to_sign}{EMPTY_SHA256}\n{digest}")
        if not hmac.compare_digest(expected, self._chunk_signature):
            raise S3Forbidden(
                "SignatureDoesNotMatch",
                f"The signature of chunk {self._chunks} ({self.decoded_bytes} payload bytes so "
                "far) does not match the one calculated from the previous signature",
            )
        self._previous = expected

    def _read_trailer(self) -> bool:
        line = self._take_line()
        if line is None:
            return False
        if line:
            self._add_trailer(line)
        else:
            self._end()
        return True

    def _add_trailer(self, line: str) -> None:
        name, sep, value = line.partition(":")
        name, value = name.strip(" \t").lower(), value.strip(" \t")
        if not sep or not name:
            raise _malformed(f"the trailer line {line[:80]!r} is not name:value")
        if name == TRAILER_SIGNATURE:
            self._trailer_signature = value
        elif name not in self._expected:
            raise _malformed(f"the trailer {name!r} was not declared in x-amz-trailer")
        elif name in self._trailers or len(self._trailers) >= MAX_TRAILERS:
            raise _malformed(f"the trailer {name!r} is sent twice")
        else:
            self._trailers[name] = value

    def _end(self) -> None:
        if missing := sorted(self._expected - self._trailers.keys()):
            raise S3Invalid(
                "IncompleteBody",
                f"the trailer {', '.join(missing)} declared in x-amz-trailer was not sent",
            )
        if self._signed and (self._expected or self._trailer_signature):
            self._check_trailer_signature()
        if self._length is not None and self.decoded_bytes != self._length:
            raise S3Invalid(
                "IncompleteBody",
                f"x-amz-decoded-content-length declares {self._length} bytes but the "
                f"aws-chunked body held {self.decoded_bytes}",
            )
        self._state = _State.DONE

    def _check_trailer_signature(self) -> None:
        if self._ctx is None or not self._trailer_signature:
            raise S3Forbidden(
                "SignatureDoesNotMatch", "the trailers are not signed: no x-amz-trailer-signature"
            )
        canonical = "".join(f"{name}:{value}\n" for name, value in sorted(self._trailers.items()))
        digest = hashlib.sha256(canonical.encode("latin-1")).hexdigest()
        ctx = self._ctx
        expected = ctx.sign(
            f"{TRAILER_ALGORITHM}\n{ctx.amz_date}\n{ctx.scope}\n{self._previous}\n{digest}"
        )
        if not hmac.compare_digest(expected.encode(), self._trailer_signature.encode()):
            raise S3Forbidden(
                "SignatureDoesNotMatch",
                "The x-amz-trailer-signature does not match the one calculated for the trailers",
            )


def _malformed(message: str) -> S3Invalid:
    return S3Invalid("InvalidArgument", f"Malformed aws-chunked body: {message}")
