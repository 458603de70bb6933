"""Container logs: the engine's multiplexed stream as LogLines, and following it from a thread."""

from __future__ import annotations

import asyncio
import calendar
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from docker import APIClient
from docker.errors import create_api_error_from_http_exception

from thecloud.adapters.docker.errors import translate
from thecloud.adapters.docker.parse import engine_time
from thecloud.ports.compute import LogLine

_STREAMS = {0: "stdout", 1: "stdout", 2: "stderr"}
_HEADER = struct.Struct(">BxxxL")


def engine_url(api: APIClient, path: str, *parts: str) -> str:
    """The versioned URL of an engine endpoint; `parts` are quoted into `path`."""
    quoted = (quote(part, safe="") for part in parts)
    return f"{api.base_url}/v{api.api_version}{path.format(*quoted)}"


def checked(response: requests.Response) -> requests.Response:
    """The response if it succeeded; else the SDK's APIError (NotFound, ...) for it."""
    try:
        response.raise_for_status()
    except requests.HTTPError as exc:
        try:
            create_api_error_from_http_exception(exc)
        finally:
            response.close()
    return response


def since_param(since: datetime) -> str:
    """A datetime as the engine's `seconds.nanoseconds` (naive means UTC)."""
    at = since if since.tzinfo else since.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    return f"{calendar.timegm(at.timetuple())}.{at.microsecond:06d}000"


def logs_response(
    api: APIClient, ident: str, tail: int | None, since: datetime | None, follow: bool
) -> requests.Response:
    """`GET /containers/{id}/logs` with timestamps, both streams; streamed when following."""
    params: dict[str, Any] = {"stdout": 1, "stderr": 1, "timestamps": 1, "follow": int(follow)}
    params["tail"] = "all" if tail is None else str(max(tail, 0))
    if since is not None:
        params["since"] = since_param(since)
    url = engine_url(api, "/containers/{}/logs", ident)
    timeout = (api.timeout, None) if follow else api.timeout
    return checked(api.get(url, params=params, stream=follow, timeout=timeout))


def read_exact(read: Callable[[int], bytes], size: int) -> bytes:
    """`size` bytes from `read`, fewer only at the end of the stream."""
    chunks, left = [], size
    while left > 0 and (chunk := read(left)):
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def frames(read: Callable[[int], bytes], tty: bool) -> Iterator[tuple[str, bytes]]:
    """(stream name, payload) pairs of a log stream (one raw stream for a TTY container)."""
    if tty:
        while chunk := read(4096):
            yield "stdout", chunk
        return
    while len(header := read_exact(read, _HEADER.size)) == _HEADER.size:
        stream, size = _HEADER.unpack(header)
        yield _STREAMS.get(stream, "stdout"), read_exact(read, size)


def log_lines(chunks: Iterable[tuple[str, bytes]]) -> Iterator[LogLine]:
    """Whole lines per stream from chunks that may split or join lines."""
    pending: dict[str, bytes] = {}
    for stream, data in chunks:
        *complete, pending[stream] = (pending.get(stream, b"") + data).split(b"\n")
        yield from (log_line(stream, raw) for raw in complete)
    yield from (log_line(stream, rest) for stream, rest in pending.items() if rest)


def log_line(stream: str, raw: bytes) -> LogLine:
    """A `<RFC 3339 time> <text>` line as a LogLine."""
    text = raw.decode("utf-8", "replace").rstrip("\r")
    stamp, _, rest = text.partition(" ")
    try:
        at = engine_time(stamp)
    except ValueError:
        at, rest = None, text
    return LogLine(at=at or datetime.now(UTC), stream=stream, text=rest)


class Pump:
    """Moves lines from a blocking iterator in its own thread to the event loop, with
    backpressure (at most `capacity` lines wait for the consumer)."""

    def __init__(self, lines: Iterator[LogLine], capacity: int = 256) -> None:
        self._lines = lines
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[LogLine | Exception | None] = asyncio.Queue()
        self._slots = threading.Semaphore(capacity)
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="docker-logs-follow", daemon=True)

    async def get(self) -> LogLine | None:
        """The next line, None at the end of the stream; raises what the reader raised."""
        item = await self._queue.get()
        self._slots.release()
        if isinstance(item, Exception):
            raise item
        return item

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        try:
            for line in self._lines:
                if not self._wait_for_slot():
                    return
                self._hand(line)
        except Exception as exc:  # handed to the consumer, translated
            if not self._stopping.is_set():
                self._hand(translate(exc))
        finally:
            self._hand(None)

    def _wait_for_slot(self) -> bool:
        while not self._slots.acquire(timeout=0.1):
            if self._stopping.is_set():
                return False
        return not self._stopping.is_set()

    def _hand(self, item: LogLine | Exception | None) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed: nobody is listening any more
            self._stopping.set()
