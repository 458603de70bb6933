"""Object transfers (raw bodies, downloads to files, cursor paging, multipart) per client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Generator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from thecloud.sdk._core import JSON, Call, Options, connection_error, raise_for_error, request_args
from thecloud.sdk._upload import Progress
from thecloud.sdk.resources.objects import Multipart, pieces

if TYPE_CHECKING:
    from thecloud.sdk.client import AsyncExecutor, SyncExecutor


def object_info(headers: Mapping[str, str]) -> JSON:
    """An object as its GET/HEAD response headers describe it."""
    metadata = {k[11:]: v for k, v in headers.items() if k.lower().startswith("x-amz-meta-")}
    return {
        "size": int(headers.get("content-length", 0)), "etag": headers.get("etag", "").strip('"'),
        "content_type": headers.get("content-type"), "last_modified": headers.get("last-modified"),
        "version_id": headers.get("x-amz-version-id", "null"), "metadata": metadata,
    }  # fmt: skip


def _items(data: JSON, field: str) -> list[JSON]:
    """One page's items and common prefixes, in key order."""
    found = list(data.get(field) or []) + [{"prefix": p} for p in data.get("prefixes") or []]
    return sorted(found, key=lambda i: str(i.get("key") or i.get("prefix", "")).encode())


def _next(call: Call, data: JSON) -> Call | None:
    cursor = data.get("next_cursor")
    return replace(call, params={**call.params, "cursor": cursor}) if cursor else None


def _partial(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.part")


class SyncTransfer:
    def __init__(self, x: SyncExecutor, http: httpx.Client, opts: Options) -> None:
        self._x, self._http, self._opts = x, http, opts

    def _checked(self, call: Call) -> httpx.Response:
        response = self._x.send(call)
        raise_for_error(response)
        return response

    def fetch(self, call: Call) -> bytes:
        return self._checked(call).content

    def head(self, call: Call) -> JSON:
        return object_info(self._checked(call).headers)

    def save(self, call: Call, dest: Path, on_progress: Progress | None) -> JSON:
        part = _partial(dest)
        try:
            with self._http.stream(**request_args(self._opts, call)) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_error(response)
                self._write(response, part, on_progress)
            part.replace(dest)
        except httpx.TransportError as exc:
            raise connection_error(exc, self._opts) from exc
        finally:
            part.unlink(missing_ok=True)
        return object_info(response.headers)

    @staticmethod
    def _write(response: httpx.Response, part: Path, on_progress: Progress | None) -> None:
        with part.open("wb") as f:
            for chunk in response.iter_bytes():
                f.write(chunk)
                if on_progress is not None:
                    on_progress(f.tell())

    def walk(self, call: Call, field: str) -> Generator[JSON, None, None]:
        page: Call | None = call
        while page is not None:
            data = self._x.one(page)
            yield from _items(data, field)
            page = _next(page, data)

    def multipart(self, plan: Multipart) -> JSON:
        upload_id = str(self._x.one(plan.init)["upload_id"])
        try:
            with plan.open() as f:
                parts = [self._x.one(plan.part(upload_id, n, data, at))
                         for n, data, at in pieces(f, plan.part_size)]  # fmt: skip
            return self._x.one(plan.complete(upload_id, parts))
        except BaseException:
            with contextlib.suppress(Exception):
                self._x.done(plan.abort(upload_id))
            raise


class AsyncTransfer:
    def __init__(self, x: AsyncExecutor, http: httpx.AsyncClient, opts: Options) -> None:
        self._x, self._http, self._opts = x, http, opts

    async def _checked(self, call: Call) -> httpx.Response:
        response = await self._x.send(call)
        raise_for_error(response)
        return response

    async def fetch(self, call: Call) -> bytes:
        return (await self._checked(call)).content

    async def head(self, call: Call) -> JSON:
        return object_info((await self._checked(call)).headers)

    async def save(self, call: Call, dest: Path, on_progress: Progress | None) -> JSON:
        part = _partial(dest)
        try:
            args = request_args(self._opts, call, aio=True)
            async with self._http.stream(**args) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise_for_error(response)
                await self._write(response, part, on_progress)
            part.replace(dest)
        except httpx.TransportError as exc:
            raise connection_error(exc, self._opts) from exc
        finally:
            part.unlink(missing_ok=True)
        return object_info(response.headers)

    @staticmethod
    async def _write(response: httpx.Response, part: Path, on_progress: Progress | None) -> None:
        with part.open("wb") as f:
            async for chunk in response.aiter_bytes():
                await asyncio.to_thread(f.write, chunk)
                if on_progress is not None:
                    on_progress(f.tell())

    async def walk(self, call: Call, field: str) -> AsyncGenerator[JSON, None]:
        page: Call | None = call
        while page is not None:
            data = await self._x.one(page)
            for item in _items(data, field):
                yield item
            page = _next(page, data)

    async def multipart(self, plan: Multipart) -> JSON:
        upload_id = str((await self._x.one(plan.init))["upload_id"])
        try:
            parts = await self._parts(plan, upload_id)
            return await self._x.one(plan.complete(upload_id, parts))
        except BaseException:
            with contextlib.suppress(Exception):
                await self._x.done(plan.abort(upload_id))
            raise

    async def _parts(self, plan: Multipart, upload_id: str) -> list[Any]:
        parts: list[Any] = []
        with plan.open() as f:
            read = iter(pieces(f, plan.part_size))
            while piece := await asyncio.to_thread(next, read, None):
                number, data, at = piece
                parts.append(await self._x.one(plan.part(upload_id, number, data, at)))
        return parts
