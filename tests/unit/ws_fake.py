"""A real WebSocket server on loopback for the SDK and CLI tests, with a handler per path."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.http11 import Request, Response
from websockets.sync.server import ServerConnection, serve

Handler = Callable[[ServerConnection], None]


class FakeStreams:
    """Answers `/ws/...` paths with scripted handlers; unknown paths are closed with 4404."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}
        self.refusals: dict[str, tuple[int, dict[str, Any]]] = {}
        self.requests: list[Request] = []
        self.url = ""

    def on(self, path: str, handler: Handler) -> None:
        self.handlers[path] = handler

    def refuse(self, path: str, status: int, code: str, message: str) -> None:
        """Answer the handshake of `path` with an HTTP error in the API's envelope."""
        error = {"type": code, "code": code, "message": message}
        self.refusals[path] = (status, {"error": error, "meta": {"request_id": "ws-r"}})

    def query(self, index: int = -1) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.requests[index].path).query)

    def path(self, index: int = -1) -> str:
        return urlsplit(self.requests[index].path).path

    def _process(self, ws: ServerConnection, request: Request) -> Response | None:
        self.requests.append(request)
        refused = self.refusals.get(urlsplit(request.path).path)
        return None if refused is None else ws.respond(refused[0], json.dumps(refused[1]))

    def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        handler = self.handlers.get(urlsplit(ws.request.path).path)
        if handler is None:
            ws.close(4404, "no such stream")
        else:
            handler(ws)


@contextmanager
def running_streams() -> Iterator[FakeStreams]:
    """A FakeStreams listening on a free loopback port until the block ends."""
    streams = FakeStreams()
    with serve(streams._handle, "127.0.0.1", 0, process_request=streams._process) as server:
        streams.url = f"http://127.0.0.1:{server.socket.getsockname()[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield streams
        finally:
            server.shutdown()
            thread.join(5)


def send_all(*frames: str | bytes, code: int = 1000, reason: str = "") -> Handler:
    """A handler that sends these frames, then closes with `code`."""

    def handle(ws: ServerConnection) -> None:
        for frame in frames:
            ws.send(frame)
        ws.close(code, reason)

    return handle
