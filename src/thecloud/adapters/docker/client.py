"""The engine connection: a lazily made SDK client, calls off the event loop, errors translated."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from docker import APIClient
from docker.utils import kwargs_from_env, parse_host

from thecloud.adapters.docker.errors import off_loop
from thecloud.domain.errors import BackendUnavailable

T = TypeVar("T")
_UNIX = "http+unix://"


class EngineClient:
    """Makes the SDK client on first use, and again after the engine could not be reached.

    A Unix socket is probed before the SDK connects: the SDK leaks the socket of a failed
    connection attempt.
    """

    def __init__(self, base_url: str | None = None, timeout: int = 60) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._client: APIClient | None = None
        self._lock = threading.Lock()

    async def call(self, fn: Callable[[APIClient], T]) -> T:
        """`fn(client)` in a worker thread; foreign exceptions become the platform's."""
        return await off_loop(lambda: self._run(fn))

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    def _run(self, fn: Callable[[APIClient], T]) -> T:
        client = self._connected()
        try:
            return fn(client)
        except requests.exceptions.ConnectionError:
            self._forget(client)
            raise

    def _connected(self) -> APIClient:
        with self._lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _forget(self, client: APIClient) -> None:
        with self._lock:
            if self._client is client:
                self._client = None
        client.close()

    def _connect(self) -> APIClient:
        url = self._base_url or os.environ.get("DOCKER_HOST") or None
        host = str(parse_host(url))
        if host.startswith(_UNIX):
            probe_unix_socket(host.removeprefix(_UNIX))
        options: dict[str, Any] = {"base_url": url} if self._base_url else dict(kwargs_from_env())
        return APIClient(version="auto", timeout=self._timeout, **options)


def probe_unix_socket(path: str) -> None:
    """Return if something accepts connections on `path`, else raise BackendUnavailable."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5.0)
        try:
            sock.connect(path)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise BackendUnavailable(
                f"the Docker Engine is unreachable: cannot connect to {path} ({reason})"
            ) from exc
