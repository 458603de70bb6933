"""A request body as the services read it (the Payload port): pulled from ASGI as it arrives,
de-framed (aws-chunked, chunk signatures), hashed, and verified when it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from thecloud.domain.objects import S3Invalid, too_large
from thecloud.entrypoints.s3.checksums import Checksums, check_checksums
from thecloud.entrypoints.s3.chunked import BodyDecoder, body_decoder
from thecloud.ports.objects import PayloadDigest

if TYPE_CHECKING:
    from thecloud.entrypoints.s3.app import Call


class RequestBody:
    def __init__(self, call: Call) -> None:
        self._call = call
        headers = call.req.headers
        self._decoder: BodyDecoder = body_decoder(call.signing, headers)
        self._sums = Checksums.for_request(headers)
        self._trailers: dict[str, str] | None = None
        self._consumed = False

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._consumed:
            raise RuntimeError("a request body is read once")
        self._consumed = True
        more = True
        while more:
            message = await self._call.receive()
            if message["type"] == "http.disconnect":
                raise S3Invalid("IncompleteBody", "The client closed the connection before "
                                "sending the whole body")  # fmt: skip
            more = bool(message.get("more_body", False))
            for piece in self._decoder.feed(message.get("body", b"")):
                self._sums.update(piece)
                yield piece
        self._trailers = self._decoder.finish()

    def digest(self) -> PayloadDigest:
        if self._trailers is None:
            raise RuntimeError("the body was not read to its end")
        checksums = check_checksums(self._sums, self._call.req.headers, self._trailers)
        return PayloadDigest(self._sums.md5_digest(), checksums)

    async def read_all(self, limit: int) -> bytes:
        """The whole body (for XML documents), at most `limit` bytes, verified."""
        pieces, size = [], 0
        async for piece in self.chunks():
            size += len(piece)
            if size > limit:
                raise too_large("this request's body", limit)
            pieces.append(piece)
        self.digest()
        return b"".join(pieces)
