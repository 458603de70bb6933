"""Object data as encrypted blob files in one directory tree: the ObjectStore port on disk.

Layout under `root` (directories 0700, files 0600):
  blobs/<2 hex>/<2 hex>/<blob id>   committed blobs, never changed once there
  staging/<blob id>                 blobs being written; commit() renames them into blobs/
Blob files hold the chunked AES-256-GCM format of `sealed` (which also reads them). File I/O
runs in worker threads (the executor given, else asyncio's default one) a batch of up to
1 MiB at a time, so memory stays at about one batch per writer whatever the blob's size. A
blob that never fills a batch (the common small PUT) touches the disk only in commit(), in
one trip to a thread: open, write, fsync, rename, fsync the directory. Reads of up to
256 KiB run inline."""

from __future__ import annotations

import asyncio
import os
import re
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import Executor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar, TypeVarTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from thecloud.adapters.objects import sealed as fmt
from thecloud.domain.errors import (
    BackendUnavailable,
    CloudError,
    ConfigurationError,
    InvalidInput,
    not_found,
)
from thecloud.ports.objects import StoredBlob

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
BLOB_ID = re.compile(r"[0-9a-f]{32}")
INLINE_READ = 256 * 1024  # ranges up to this many bytes are read without a thread hop
DIR_MODE, FILE_MODE = 0o700, 0o600
Parts = list[bytearray | memoryview]  # plaintext on its way to a thread, which empties it


def _aead(data_key: bytes) -> AESGCM:
    if len(data_key) != 32:
        raise InvalidInput("an object data key must be 32 bytes (AES-256)")
    return AESGCM(data_key)


@contextmanager
def _disk(what: str) -> Iterator[None]:
    """An OSError of the filesystem as the platform's error."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise BackendUnavailable(f"object storage could not {what}: {reason}") from exc


def _consume(flight: asyncio.Future[None]) -> None:
    """Retrieve an abandoned write's outcome, so asyncio does not report it as unheard."""
    if not flight.cancelled():
        flight.exception()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _mtime(entry: os.DirEntry[str]) -> datetime | None:
    try:
        return datetime.fromtimestamp(entry.stat().st_mtime, UTC)
    except FileNotFoundError:  # deleted while we looked
        return None


def _subdirs(path: str) -> list[str]:
    with os.scandir(path) as entries:
        return [e.path for e in entries if len(e.name) == 2 and e.is_dir(follow_symlinks=False)]


def _blobs_in(path: str) -> Iterator[StoredBlob]:
    with os.scandir(path) as entries:
        for entry in entries:
            if BLOB_ID.fullmatch(entry.name) and (at := _mtime(entry)) is not None:
                yield StoredBlob(entry.name, at)


class FilesystemObjectStore:
    """Blobs under `root`; `fsync=False` (benchmarks only) drops the durability of commit()."""

    def __init__(self, root: Path, *, fsync: bool = True, executor: Executor | None = None):
        self.root, self.fsync, self._executor = root, fsync, executor
        self.blobs, self.staging = root / "blobs", root / "staging"
        self._dirs: set[Path] = set()  # blob directories known to exist, durably
        try:
            for path in (root, self.blobs, self.staging):
                path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigurationError(f"cannot keep object data in {root}: {exc}") from exc

    async def run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """`fn(*args)` in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def blob_path(self, blob_id: str) -> Path:
        return self.blobs / blob_id[:2] / blob_id[2:4] / blob_id

    def writer(self, data_key: bytes) -> FilesystemBlobWriter:
        return FilesystemBlobWriter(self, uuid.uuid4().hex, _aead(data_key))

    async def read(
        self, blob_id: str, data_key: bytes, size: int, start: int = 0, stop: int | None = None
    ) -> AsyncIterator[bytes]:
        stop = _within(size, start, stop)
        if not BLOB_ID.fullmatch(blob_id):
            raise not_found("blob", blob_id)
        reader = fmt.BlobReader(blob_id, self.blob_path(blob_id), _aead(data_key), size)
        inline = stop - start <= INLINE_READ  # small: not worth a trip to a thread
        try:
            await self._call(inline, reader.open)
            for chunks in _batches(fmt.chunk_span(start, stop)):
                yield await self._call(inline, reader.piece, chunks, start, stop)
        finally:
            reader.close()

    async def _call(self, inline: bool, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        return fn(*args) if inline else await self.run(fn, *args)

    async def delete(self, blob_ids: Sequence[str]) -> None:
        paths = [self.blob_path(b) for b in blob_ids if BLOB_ID.fullmatch(b)]
        if paths:
            await self.run(self._unlink_all, paths)

    async def stored(self) -> list[StoredBlob]:
        return await self.run(self._walk)

    async def sweep_staging(self, older_than: datetime) -> int:
        if older_than.tzinfo is None:
            raise InvalidInput("sweep_staging needs a timezone-aware time")
        return await self.run(self._sweep, older_than.timestamp())

    # -- the thread side -----------------------------------------------------------------

    def publish(self, blob_id: str) -> None:
        """Move a complete, closed staging file into blobs/ (durably, unless fsync is off)."""
        target = self.blob_path(blob_id)
        self._ensure_dir(target.parent)
        try:
            os.rename(self.staging / blob_id, target)
        except FileNotFoundError as exc:
            raise CloudError(f"blob {blob_id} was swept from staging before its commit") from exc
        if self.fsync:
            _fsync_dir(target.parent)

    def _ensure_dir(self, path: Path) -> None:
        if path in self._dirs:
            return
        for level in (path.parent, path):
            level.mkdir(mode=DIR_MODE, exist_ok=True)
            if self.fsync:  # the entry in the parent must survive a crash too
                _fsync_dir(level.parent)
        self._dirs.add(path)

    @staticmethod
    def _unlink_all(paths: list[Path]) -> None:
        with _disk("delete object data"):
            for path in paths:
                path.unlink(missing_ok=True)

    def _walk(self) -> list[StoredBlob]:
        with _disk("list object data"):
            tops = _subdirs(str(self.blobs))
            return [blob for top in tops for mid in _subdirs(top) for blob in _blobs_in(mid)]

    def _sweep(self, before: float) -> int:
        gone = 0
        with _disk("sweep staged object data"), os.scandir(self.staging) as entries:
            for entry in entries:
                at = _mtime(entry)
                if at is not None and at.timestamp() < before and entry.is_file():
                    Path(entry.path).unlink(missing_ok=True)
                    gone += 1
        return gone


def _within(size: int, start: int, stop: int | None) -> int:
    """The end of a valid range [start, stop) of a blob of `size` bytes."""
    stop = size if stop is None else stop
    if not 0 <= start <= stop <= size:
        raise InvalidInput(f"range [{start}, {stop}) is not within the blob's {size} bytes")
    return stop


def _batches(span: range) -> Iterator[range]:
    """The chunks of a span in runs of at most one batch (1 MiB of plaintext)."""
    for first in range(span.start, span.stop, fmt.BATCH_CHUNKS):
        yield range(first, min(first + fmt.BATCH_CHUNKS, span.stop))


class FilesystemBlobWriter:
    """One blob being written. Plaintext gathers in `_pending` until it fills a batch; whole
    chunks then go to the staging file from a worker thread, one batch in flight while the
    next one is received and hashed (the caller waits only when a second batch is ready
    before the first is on disk). The thread side holds `_lock` for each file operation, so
    abort() after a cancelled write waits for it to finish."""

    def __init__(self, store: FilesystemObjectStore, blob_id: str, aead: AESGCM) -> None:
        self._store, self._id, self._aead = store, blob_id, aead
        self._pending = bytearray()
        self._size = 0
        self._state = "open"  # -> committing -> committed | failed | aborted
        self._touched = False  # some work went to a thread
        self._lock = threading.Lock()
        self._fd: int | None = None  # the staging file (thread side)
        self._chunks = 0  # chunks already in it (thread side)
        self._published = False  # renamed into blobs/ (thread side)
        self._flight: asyncio.Future[None] | None = None  # the batch being written

    @property
    def blob_id(self) -> str:
        return self._id

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        if self._flight is not None and self._flight.done():
            await self._landed()  # a failed batch raises its own error, not "failed"
        self._usable()
        view = memoryview(data)
        self._size += len(view)
        room = fmt.BATCH - len(self._pending)
        if len(view) < room:
            self._pending += view
            return
        room %= fmt.BATCH  # nothing pending: whole chunks go straight from `data`
        self._pending += view[:room]
        whole = room + (len(view) - room) // fmt.CHUNK * fmt.CHUNK
        parts: Parts = [self._pending, view[room:whole]]  # `data` is bytes: it stays as is
        self._pending = bytearray(view[whole:])
        await self._landed()
        self._flight = asyncio.ensure_future(self._io(self._append, parts))

    async def _landed(self) -> None:
        """Wait for the batch in flight (its failure is this call's)."""
        flight, self._flight = self._flight, None
        if flight is not None:
            await flight

    async def commit(self) -> None:
        await self._landed()
        self._usable()
        self._state = "committing"
        parts: Parts = [self._pending]
        await self._io(self._finish, parts)
        self._state, self._pending = "committed", bytearray()

    async def abort(self) -> None:
        if self._state in ("committed", "aborted"):
            return
        self._state, self._pending = "aborted", bytearray()
        flight, self._flight = self._flight, None
        if flight is not None:  # its outcome no longer matters; _discard waits for the file
            flight.add_done_callback(_consume)
        if self._touched:
            await self._store.run(self._discard)

    def _usable(self) -> None:
        if self._state != "open":
            raise CloudError(f"blob writer {self._id} is {self._state}; it takes no more data")

    async def _io(self, fn: Callable[[*Ts], None], *args: *Ts) -> None:
        self._touched = True
        try:
            await self._store.run(fn, *args)
        except BaseException:  # cancelled too: the outcome is unknown, so no more writes
            if self._state in ("open", "committing"):
                self._state = "failed"
            raise

    # -- the thread side -----------------------------------------------------------------

    def _append(self, parts: Parts) -> None:
        with self._lock, self._closing_on_error(), _disk("write object data"):
            if self._state != "aborted":
                self._seal(parts)

    def _finish(self, parts: Parts) -> None:
        with self._lock, self._closing_on_error(), _disk("commit object data"):
            if self._state == "aborted":
                return
            fd = self._seal(parts)  # opens the file of an empty blob too
            if self._store.fsync:
                os.fsync(fd)
            self._close()
            self._store.publish(self._id)
            self._published = True

    def _discard(self) -> None:
        with self._lock, _disk("discard object data"):
            self._close()
            (self._store.staging / self._id).unlink(missing_ok=True)
            if self._published:  # a commit whose caller was cancelled before it heard
                self._store.blob_path(self._id).unlink(missing_ok=True)

    def _seal(self, parts: Parts) -> int:
        """Encrypt the parts (whole chunks but for the very last) onto the staging file, and
        let go of them: the executor holds its arguments for a while after returning."""
        fd = self._open()
        out = fmt.sealed_scratch()
        while parts:
            view = memoryview(parts.pop(0))
            for offset in range(0, len(view), fmt.BATCH):
                batch = view[offset : offset + fmt.BATCH]
                _write_all(fd, out[: fmt.seal_into(self._aead, self._chunks, batch, out)])
                self._chunks += -(-len(batch) // fmt.CHUNK)
        return fd

    @contextmanager
    def _closing_on_error(self) -> Iterator[None]:
        """A failed write leaves the staging file to abort() (or the sweep), but no open fd."""
        try:
            yield
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _open(self) -> int:
        if self._fd is None:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
            self._fd = os.open(self._store.staging / self._id, flags, FILE_MODE)
        return self._fd
