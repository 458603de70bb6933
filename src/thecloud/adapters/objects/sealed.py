"""The encrypted blob format: 64 KiB plaintext chunks, each AES-256-GCM sealed on its own.

Chunk i of a blob is `AES-256-GCM(data_key, nonce=i as 12 big-endian bytes, aad=b"")`:
its ciphertext followed by the 16-byte tag, back to back in the file. Every blob has its own
fresh data key, so a nonce never repeats under a key. Only the last chunk may be short, and an
empty blob is an empty file. Plaintext offset p lives in chunk p // CHUNK, which starts at file
offset chunk * SEALED_CHUNK, so a range is read by decrypting only the chunks it touches; a
chunk moved, dropped or swapped fails authentication, and a file cut short or grown is caught
by comparing its length with `sealed_size` of the size the metadata recorded. BlobReader
reads ranges of such a file, turning foreign errors into the platform's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from thecloud.domain.errors import BackendUnavailable, CloudError, not_found

CHUNK = 64 * 1024
TAG = 16
SEALED_CHUNK = CHUNK + TAG
BATCH_CHUNKS = 16  # chunks sealed or opened per trip to a worker thread (1 MiB)
BATCH = BATCH_CHUNKS * CHUNK
SEALED_BATCH = BATCH_CHUNKS * SEALED_CHUNK


def sealed_size(plain: int) -> int:
    """The length of the file that holds `plain` bytes of plaintext."""
    full, rest = divmod(plain, CHUNK)
    return full * SEALED_CHUNK + (rest + TAG if rest else 0)


def chunk_span(start: int, stop: int) -> range:
    """The indexes of the chunks that hold plaintext bytes [start, stop)."""
    if start >= stop:
        return range(0)
    return range(start // CHUNK, -(-stop // CHUNK))


def nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def seal_into(aead: AESGCM, first: int, plain: memoryview, out: memoryview) -> int:
    """Seal `plain` (whole chunks; the last may be short) as chunks first, first + 1, ...
    into `out`; returns the bytes written there."""
    written = 0
    for index, offset in enumerate(range(0, len(plain), CHUNK), start=first):
        piece = plain[offset : offset + CHUNK]
        end = written + len(piece) + TAG
        aead.encrypt_into(nonce(index), piece, None, out[written:end])
        written = end
    return written


def open_into(aead: AESGCM, first: int, sealed: memoryview, out: memoryview) -> int:
    """Open consecutive sealed chunks first, first + 1, ... into `out`; returns the plaintext
    length. Raises cryptography's InvalidTag when a chunk fails authentication."""
    written = 0
    for index, offset in enumerate(range(0, len(sealed), SEALED_CHUNK), start=first):
        piece = sealed[offset : offset + SEALED_CHUNK]
        end = written + len(piece) - TAG
        aead.decrypt_into(nonce(index), piece, None, out[written:end])
        written = end
    return written


class _Scratch(threading.local):
    """Per-thread batch buffers, made on first use and then reused, so streaming a blob
    allocates nothing per batch."""

    sealed: memoryview | None = None
    plain: memoryview | None = None


_scratch = _Scratch()


def sealed_scratch() -> memoryview:
    """This thread's buffer of one sealed batch; never hand it to another thread."""
    if _scratch.sealed is None:
        _scratch.sealed = memoryview(bytearray(SEALED_BATCH))
    return _scratch.sealed


def plain_scratch() -> memoryview:
    """This thread's buffer of one plaintext batch; never hand it to another thread."""
    if _scratch.plain is None:
        _scratch.plain = memoryview(bytearray(BATCH))
    return _scratch.plain


def _read_exact(fd: int, into: memoryview, offset: int) -> bool:
    """Fill `into` from `offset`; False if the file ends first."""
    while into:
        got = os.preadv(fd, [into], offset)
        if got == 0:
            return False
        into, offset = into[got:], offset + got
    return True


class BlobReader:
    """One committed blob open for reading (its size checked); pieces decrypted on demand.
    close() waits for a piece in flight (a download cancelled while a thread reads)."""

    def __init__(self, blob_id: str, path: Path, aead: AESGCM, size: int) -> None:
        self._id, self._path, self._aead = blob_id, path, aead
        self._file_size = sealed_size(size)
        self._fd: int | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._errors():
            self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
            actual = os.fstat(self._fd).st_size
        if actual != self._file_size:
            self.close()
            raise self._damaged(f"has {actual} bytes on disk where {self._file_size} belong")

    def piece(self, chunks: range, start: int, stop: int) -> bytes:
        """Plaintext [start, stop) as far as these chunks hold it."""
        sealed, plain = sealed_scratch(), plain_scratch()
        offset = chunks.start * SEALED_CHUNK
        length = min(chunks.stop * SEALED_CHUNK, self._file_size) - offset
        with self._lock, self._errors():
            if self._fd is None:
                raise CloudError(f"blob {self._id} is no longer open for reading")
            if not _read_exact(self._fd, sealed[:length], offset):
                raise self._damaged("ends early")
            size = open_into(self._aead, chunks.start, sealed[:length], plain)
        base = chunks.start * CHUNK
        return bytes(plain[max(start - base, 0) : min(stop - base, size)])

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                os.close(fd)

    def _damaged(self, why: str) -> CloudError:
        return CloudError(f"stored object data is damaged: blob {self._id} {why}")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError as exc:
            raise not_found("blob", self._id) from exc
        except InvalidTag as exc:
            raise CloudError(
                f"stored object data failed authentication: blob {self._id} "
                "(wrong data key, or the file was altered)"
            ) from exc
        except OSError as exc:
            raise BackendUnavailable(f"object storage could not read: {exc.strerror}") from exc
