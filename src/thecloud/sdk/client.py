"""The sync `Client` and async `AsyncClient`: one executor each over the shared resources."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Generator
from types import TracebackType
from typing import Any, Self, cast

import httpx

from thecloud.sdk._core import (
    DEFAULT_URL,
    JSON,
    Call,
    Options,
    Page,
    SSEDecoder,
    at_offset,
    connection_error,
    parse,
    parse_page,
    raise_for_error,
    request_args,
    retry_delay,
    stream_timeout,
)
from thecloud.sdk._transfer import AsyncTransfer, SyncTransfer
from thecloud.sdk._wait import Poll
from thecloud.sdk._ws import async_json_stream, json_stream, open_sync
from thecloud.sdk.console import AsyncConsoleSession, ConsoleSession, console_call
from thecloud.sdk.errors import NotFoundError
from thecloud.sdk.resources import Resources
from thecloud.sdk.resources.objects import Objects


def _options(base_url: str, **kwargs: Any) -> Options:
    return Options(base_url=base_url.rstrip("/"), **kwargs)


class SyncExecutor:
    """Sends calls with an httpx.Client, retrying 429/503 as Retry-After says (bounded)."""

    def __init__(self, http: httpx.Client, opts: Options) -> None:
        self._http, self._opts = http, opts

    def send(self, call: Call) -> httpx.Response:
        """The call's response, after any retries (errors not raised)."""
        attempt = 0
        while True:
            try:
                response = self._http.request(**request_args(self._opts, call))
            except httpx.TransportError as exc:
                raise connection_error(exc, self._opts) from exc
            delay = retry_delay(response, attempt, self._opts, call)
            if delay is None:
                return response
            time.sleep(delay)
            attempt += 1

    def one(self, call: Call) -> JSON:
        return cast(JSON, parse(self.send(call), call))

    def page(self, call: Call) -> Page:
        return parse_page(self.send(call))

    def items(self, call: Call) -> list[JSON]:
        return cast(list[JSON], parse(self.send(call), call))

    def done(self, call: Call) -> None:
        parse(self.send(call), call)

    def iterate(self, call: Call, page_size: int) -> Generator[JSON, None, None]:
        offset: int | None = 0
        while offset is not None:
            page = self.page(at_offset(call, offset, page_size))
            yield from page.items
            offset = page.next_offset

    def sse(self, call: Call) -> Generator[JSON, None, None]:
        args = {**request_args(self._opts, call), "timeout": stream_timeout(self._opts)}
        try:
            with self._http.stream(**args) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_error(response)
                decoder = SSEDecoder()
                for line in response.iter_lines():
                    if (message := decoder.feed(line)) is not None:
                        yield message
        except httpx.TransportError as exc:
            raise connection_error(exc, self._opts) from exc

    def websocket(self, call: Call) -> Generator[JSON, None, None]:
        return json_stream(self._opts, call)

    def wait(self, poll: Poll) -> JSON:
        while True:
            try:
                current = self.one(poll.call)
            except NotFoundError as exc:
                current = poll.vanished(exc)
            if poll.settled(current):
                return current
            time.sleep(poll.pause())


class AsyncExecutor:
    """Sends calls with an httpx.AsyncClient, retrying 429/503 as Retry-After says (bounded)."""

    def __init__(self, http: httpx.AsyncClient, opts: Options) -> None:
        self._http, self._opts = http, opts

    async def send(self, call: Call) -> httpx.Response:
        """The call's response, after any retries (errors not raised)."""
        attempt = 0
        while True:
            try:
                response = await self._http.request(**request_args(self._opts, call, aio=True))
            except httpx.TransportError as exc:
                raise connection_error(exc, self._opts) from exc
            delay = retry_delay(response, attempt, self._opts, call)
            if delay is None:
                return response
            await asyncio.sleep(delay)
            attempt += 1

    async def one(self, call: Call) -> JSON:
        return cast(JSON, parse(await self.send(call), call))

    async def page(self, call: Call) -> Page:
        return parse_page(await self.send(call))

    async def items(self, call: Call) -> list[JSON]:
        return cast(list[JSON], parse(await self.send(call), call))

    async def done(self, call: Call) -> None:
        parse(await self.send(call), call)

    async def iterate(self, call: Call, page_size: int) -> AsyncGenerator[JSON, None]:
        offset: int | None = 0
        while offset is not None:
            page = await self.page(at_offset(call, offset, page_size))
            for item in page.items:
                yield item
            offset = page.next_offset

    async def sse(self, call: Call) -> AsyncGenerator[JSON, None]:
        args = {**request_args(self._opts, call), "timeout": stream_timeout(self._opts)}
        try:
            async with self._http.stream(**args) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise_for_error(response)
                decoder = SSEDecoder()
                async for line in response.aiter_lines():
                    if (message := decoder.feed(line)) is not None:
                        yield message
        except httpx.TransportError as exc:
            raise connection_error(exc, self._opts) from exc

    def websocket(self, call: Call) -> AsyncGenerator[JSON, None]:
        return async_json_stream(self._opts, call)

    async def wait(self, poll: Poll) -> JSON:
        while True:
            try:
                current = await self.one(poll.call)
            except NotFoundError as exc:
                current = poll.vanished(exc)
            if poll.settled(current):
                return current
            await asyncio.sleep(poll.pause())


class Client(Resources[JSON, Page, list[JSON], None, Generator[JSON, None, None]]):
    """The API over HTTP, synchronously: `client.secrets.create(...)`, `client.auth.me()`, ..."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        token: str | None = None,
        tenant_id: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        max_retries: int = 2,
        max_retry_wait: float = 30.0,
    ) -> None:
        opts = _options(
            base_url,
            api_key=api_key,
            token=token,
            tenant_id=tenant_id,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._http = httpx.Client(base_url=opts.base_url, timeout=timeout, transport=transport)
        x = SyncExecutor(self._http, opts)
        super().__init__(x, opts)
        self.objects: Objects[JSON, Page, list[JSON], None, Generator[JSON, None, None], bytes]
        self.objects = Objects(x, SyncTransfer(x, self._http, opts))

    def console(
        self, instance: str, *, rows: int | None = None, cols: int | None = None
    ) -> ConsoleSession:
        """Open a shell in a running instance (id or name), on a terminal of this size."""
        return ConsoleSession(open_sync(self._opts, console_call(instance, rows, cols)), self._opts)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(
    Resources[
        Awaitable[JSON],
        Awaitable[Page],
        Awaitable[list[JSON]],
        Awaitable[None],
        AsyncGenerator[JSON, None],
    ]
):
    """The API over HTTP, asynchronously: `await client.secrets.create(...)`, ..."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        api_key: str | None = None,
        token: str | None = None,
        tenant_id: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 2,
        max_retry_wait: float = 30.0,
    ) -> None:
        opts = _options(
            base_url,
            api_key=api_key,
            token=token,
            tenant_id=tenant_id,
            timeout=timeout,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._http = httpx.AsyncClient(base_url=opts.base_url, timeout=timeout, transport=transport)
        x = AsyncExecutor(self._http, opts)
        super().__init__(x, opts)
        self.objects: Objects[
            Awaitable[JSON], Awaitable[Page], Awaitable[list[JSON]], Awaitable[None],
            AsyncGenerator[JSON, None], Awaitable[bytes],
        ]  # fmt: skip
        self.objects = Objects(x, AsyncTransfer(x, self._http, opts))

    def console(
        self, instance: str, *, rows: int | None = None, cols: int | None = None
    ) -> AsyncConsoleSession:
        """A shell in a running instance: `async with client.console("web") as term: ...`."""
        return AsyncConsoleSession(self._opts, console_call(instance, rows, cols))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
