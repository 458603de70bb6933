"""Streaming an object's body: a client that leaves mid-body stops the reading at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

from thecloud.entrypoints.s3.responses import stream

PIECES = 50


class Body:
    """An object body of PIECES pieces that counts what was read and whether it was closed."""

    def __init__(self) -> None:
        self.read = 0
        self.closed = False

    async def pieces(self) -> AsyncIterator[bytes]:
        try:
            for _ in range(PIECES):
                self.read += 1
                await asyncio.sleep(0)  # a read from disk gives the loop a turn
                yield b"x" * 8
        finally:
            self.closed = True


class Client:
    """The ASGI side of one connection: records what is sent, and can hang up."""

    def __init__(self, leave_after: int | None) -> None:
        self.sent: list[MutableMapping[str, Any]] = []
        self.leave_after, self.left = leave_after, asyncio.Event()

    async def send(self, message: MutableMapping[str, Any]) -> None:
        if self.left.is_set():
            return  # as uvicorn: what goes to a closed connection is dropped silently
        self.sent.append(message)
        bodies = sum(1 for m in self.sent if m["type"] == "http.response.body")
        if self.leave_after is not None and bodies >= self.leave_after:
            self.left.set()

    async def receive(self) -> MutableMapping[str, Any]:
        await self.left.wait()
        return {"type": "http.disconnect"}


async def test_a_client_that_leaves_stops_the_reading_and_the_body_is_closed() -> None:
    body, client = Body(), Client(leave_after=3)
    pieces = body.pieces()
    await stream(client.send, 200, {}, pieces, await anext(pieces), client.receive)
    assert body.closed
    assert body.read < 10, f"read {body.read} of {PIECES} pieces for a client that had left"


async def test_a_client_that_stays_gets_every_piece_then_the_end() -> None:
    body, client = Body(), Client(leave_after=None)
    pieces = body.pieces()
    await stream(client.send, 200, {"etag": '"e"'}, pieces, await anext(pieces), client.receive)
    assert body.read == PIECES and body.closed
    chunks = [m for m in client.sent if m["type"] == "http.response.body"]
    assert b"".join(m["body"] for m in chunks) == b"x" * 8 * PIECES
    assert chunks[-1] == {"type": "http.response.body", "body": b""}
    assert client.sent[0]["headers"] == [(b"etag", b'"e"')]


async def test_a_one_piece_body_starts_no_listener() -> None:
    client = Client(leave_after=None)

    async def one() -> AsyncIterator[bytes]:
        yield b"small"

    before = len(asyncio.all_tasks())
    pieces = one()
    await stream(client.send, 200, {}, pieces, await anext(pieces), client.receive)
    assert len(asyncio.all_tasks()) == before
    assert [m.get("body") for m in client.sent[1:]] == [b"small", b""]
