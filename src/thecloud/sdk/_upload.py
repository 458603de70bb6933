"""A request body streamed from a file in chunks as it is sent, never read whole into memory."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
Progress = Callable[[int], None]  # called with the bytes handed over so far
Source = str | os.PathLike[str] | BinaryIO


@dataclass(frozen=True, slots=True)
class Upload:
    """A file (a path, or a binary file object from its current position) to send as the body.

    A path is opened on each attempt; a file object is rewound to where it was for a retry.
    """

    source: Source
    on_progress: Progress | None = None
    chunk_size: int = CHUNK
    start: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str | os.PathLike):
            object.__setattr__(self, "start", self.source.tell() if _seekable(self.source) else 0)

    @property
    def size(self) -> int | None:
        """How many bytes will be sent, when that can be known beforehand."""
        if isinstance(self.source, str | os.PathLike):
            return Path(self.source).stat().st_size
        if not _seekable(self.source):
            return None
        return self.source.seek(0, io.SEEK_END) - self.source.seek(self.start)

    @property
    def replayable(self) -> bool:
        """Whether it can be sent again (a retry): a path, or a seekable file object."""
        return isinstance(self.source, str | os.PathLike) or _seekable(self.source)

    def headers(self) -> dict[str, str]:
        """Content-Type, and Content-Length when the size is known (else chunked encoding)."""
        size = self.size
        out = {"Content-Type": "application/octet-stream"}
        return out if size is None else {**out, "Content-Length": str(size)}

    def chunks(self) -> Iterator[bytes]:
        """The body for a sync client."""
        with self._open() as f:
            sent = 0
            while chunk := f.read(self.chunk_size):
                yield chunk
                sent += len(chunk)
                self._report(sent)

    async def achunks(self) -> AsyncIterator[bytes]:
        """The body for an async client; the file is read off the event loop."""
        with self._open() as f:
            sent = 0
            while chunk := await asyncio.to_thread(f.read, self.chunk_size):
                yield chunk
                sent += len(chunk)
                self._report(sent)

    def _open(self) -> AbstractContextManager[BinaryIO]:
        if isinstance(self.source, str | os.PathLike):
            return Path(self.source).open("rb")
        if _seekable(self.source):
            self.source.seek(self.start)
        return nullcontext(self.source)  # the caller's file object: the caller closes it

    def _report(self, sent: int) -> None:
        if self.on_progress is not None:
            self.on_progress(sent)


def _seekable(f: BinaryIO) -> bool:
    try:
        return f.seekable()
    except (AttributeError, ValueError):
        return False
