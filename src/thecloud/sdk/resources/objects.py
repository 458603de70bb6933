"""Objects (`client.objects`): streamed up and down, multipart, listings, versions, presigning."""

from __future__ import annotations

import io
import mimetypes
import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Generic, Protocol, TypeVar
from urllib.parse import quote, urlencode

from thecloud.sdk._core import Call, body, query, seg
from thecloud.sdk._upload import Progress, Source, Upload
from thecloud.sdk.resources.base import (
    Done,
    Executor,
    ListT,
    One,
    One_co,
    PageT,
    Resource,
    Stream,
    Stream_co,
)

MiB = 1024 * 1024
PART_SIZE = 16 * MiB  # parts of a multipart upload (S3: 5 MiB to 5 GiB, the last smaller)
MULTIPART_THRESHOLD = 64 * MiB  # `upload_file` sends bigger files in parts
TRANSFER_TIMEOUT = 600.0  # seconds for each step of a transfer, the server's fsync included

Raw = TypeVar("Raw")
Raw_co = TypeVar("Raw_co", covariant=True)
Data = bytes | Source  # bytes, a path, or a binary file object (read from where it is)
PartRef = Mapping[str, Any] | tuple[int, str]  # {"part_number", "etag"} or (number, etag)


def _segment(part: str) -> str:
    return part.replace(".", "%2E") if part in (".", "..") else quote(part, safe="")


def key_path(key: str) -> str:
    """A key in a URL path: '/' kept, the rest percent-encoded, and '.' / '..' segments
    encoded so no client or proxy folds them away."""
    return "/".join(_segment(part) for part in key.split("/"))


def object_path(bucket: str, key: str, root: str = "/storage") -> str:
    return f"{root}/{seg(bucket)}/{key_path(key)}"


def _upload(data: Data, on_progress: Progress | None) -> Upload:
    source = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    return Upload(source, on_progress)


def _type(data: Data, content_type: str | None) -> str | None:
    """The content type given, else one guessed from a path's name."""
    if content_type is None and isinstance(data, str | os.PathLike):
        return mimetypes.guess_type(os.fspath(data))[0]
    return content_type


def _headers(
    content_type: str | None, metadata: Mapping[str, str] | None, tags: Mapping[str, str] | None
) -> dict[str, str]:
    out = {f"x-amz-meta-{k}": v for k, v in (metadata or {}).items()}
    if tags:
        out["x-amz-tagging"] = urlencode(dict(tags))
    return {**out, "Content-Type": content_type} if content_type else out


def _tags_path(bucket: str, key: str) -> str:
    return f"/storage/buckets/{seg(bucket)}/object-tags/{key_path(key)}"


@dataclass(frozen=True, slots=True)
class Multipart:
    """A file sent as a multipart upload: started by `init`, read `part_size` bytes at a time
    (one part in memory at once), completed in order, aborted if anything fails."""

    init: Call
    source: Source
    part_size: int = PART_SIZE
    on_progress: Progress | None = None

    def open(self) -> AbstractContextManager[BinaryIO]:
        if isinstance(self.source, str | os.PathLike):
            return Path(self.source).open("rb")
        return nullcontext(self.source)

    def part(self, upload_id: str, number: int, data: bytes, offset: int) -> Call:
        report = self.on_progress
        progress = (lambda sent: report(offset + sent)) if report else None
        path = f"/storage/multipart/upload/{seg(upload_id)}/parts"
        content = Upload(io.BytesIO(data), progress)
        params = {"part_number": number}
        return Call("PUT", path, params=params, content=content, timeout=TRANSFER_TIMEOUT)

    @staticmethod
    def complete(upload_id: str, parts: list[Any]) -> Call:
        done = [{"part_number": p["part_number"], "etag": p["etag"]} for p in parts]
        path = f"/storage/multipart/complete/{seg(upload_id)}"
        return Call("POST", path, {"parts": done}, timeout=TRANSFER_TIMEOUT)

    @staticmethod
    def abort(upload_id: str) -> Call:
        return Call("DELETE", f"/storage/multipart/abort/{seg(upload_id)}")


class Transfer(Protocol[One_co, Raw_co, Stream_co]):
    """What object transfers need beyond JSON calls; the sync and async clients each have one."""

    def fetch(self, call: Call) -> Raw_co:
        """The response body, whole."""
        ...

    def head(self, call: Call) -> One_co:
        """The object described by the response headers (size, etag, metadata, ...)."""
        ...

    def save(self, call: Call, dest: Path, on_progress: Progress | None) -> One_co:
        """The response body streamed into `dest` (replaced only once it is all there)."""
        ...

    def walk(self, call: Call, field: str) -> Stream_co:
        """Every item of `data[field]` (and each of `data.prefixes` as {"prefix": ...}),
        page after page, following `next_cursor`."""
        ...

    def multipart(self, plan: Multipart) -> One_co:
        """Run a multipart upload; the object made."""
        ...


class Objects(
    Resource[One, PageT, ListT, Done, Stream], Generic[One, PageT, ListT, Done, Stream, Raw]
):
    """`/storage/{bucket}/{key}`: objects, streamed both ways; the same objects S3 clients see."""

    def __init__(
        self, x: Executor[One, PageT, ListT, Done, Stream], t: Transfer[One, Raw, Stream]
    ) -> None:
        super().__init__(x)
        self._t = t

    def put(
        self,
        bucket: str,
        key: str,
        data: Data,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        on_progress: Progress | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> One:
        """Store `data` (bytes, a path or a binary file object, streamed, up to 5 GiB) as the
        object, with `tags` if given; the object (size, etag, version_id). A path's type is
        guessed from its name."""
        headers = _headers(_type(data, content_type), metadata, tags)
        call = Call("PUT", object_path(bucket, key), content=_upload(data, on_progress),
                    headers=headers, timeout=TRANSFER_TIMEOUT)  # fmt: skip
        return self._x.one(call)

    def upload_file(
        self,
        bucket: str,
        key: str,
        source: Source,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        on_progress: Progress | None = None,
        part_size: int = PART_SIZE,
        threshold: int = MULTIPART_THRESHOLD,
        tags: Mapping[str, str] | None = None,
    ) -> One:
        """`put`, or for a file over `threshold` bytes a multipart upload in `part_size`
        parts (aborted if a part fails); the object."""
        size = Upload(source).size
        if size is None or size <= threshold:
            return self.put(bucket, key, source, content_type=content_type, metadata=metadata,
                            on_progress=on_progress, tags=tags)  # fmt: skip
        init = self._init_call(bucket, key, _type(source, content_type), metadata, tags)
        return self._t.multipart(Multipart(init, source, part_size, on_progress))

    def get(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        byte_range: tuple[int, int | None] | None = None,
    ) -> Raw:
        """The object's bytes (or the inclusive `byte_range` (first, last or None))."""
        headers = {}
        if byte_range is not None:
            first, last = byte_range
            headers["Range"] = f"bytes={first}-{'' if last is None else last}"
        params = query(version_id=version_id)
        return self._t.fetch(Call("GET", object_path(bucket, key), params=params, headers=headers))

    def download(
        self,
        bucket: str,
        key: str,
        dest: str | os.PathLike[str],
        *,
        version_id: str | None = None,
        on_progress: Progress | None = None,
    ) -> One:
        """Stream the object into the file `dest`; `on_progress(bytes_received)` follows it.
        The object's description (as `head`)."""
        call = Call("GET", object_path(bucket, key), params=query(version_id=version_id),
                    timeout=TRANSFER_TIMEOUT)  # fmt: skip
        return self._t.save(call, Path(dest), on_progress)

    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> One:
        """The object's size, etag, last_modified, content_type, version_id and metadata."""
        params = query(version_id=version_id)
        return self._t.head(Call("HEAD", object_path(bucket, key), params=params))

    def delete(self, bucket: str, key: str, *, version_id: str | None = None) -> Done:
        """Delete the object (a delete marker in a versioned bucket), or one version of it."""
        params = query(version_id=version_id)
        return self._x.done(Call("DELETE", object_path(bucket, key), params=params))

    def list(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        after: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> One:
        """One page: `{"objects": [...], "prefixes": [...], "next_cursor": ...}` (pass
        `next_cursor` back as `cursor` for the next page; None on the last)."""
        params = query(prefix=prefix, delimiter=delimiter, after=after, cursor=cursor,
                       limit=limit)  # fmt: skip
        return self._x.one(Call("GET", f"/storage/{seg(bucket)}", params=params))

    def iterate(
        self,
        bucket: str,
        *,
        prefix: str | None = None,
        delimiter: str | None = None,
        page_size: int = 1000,
    ) -> Stream:
        """Every object under `prefix` (with a `delimiter`, also each common prefix, as
        `{"prefix": ...}`), in key order, page after page."""
        params = query(prefix=prefix, delimiter=delimiter, limit=page_size)
        return self._t.walk(Call("GET", f"/storage/{seg(bucket)}", params=params), "objects")

    def versions(
        self, bucket: str, key: str, *, limit: int | None = None, cursor: str | None = None
    ) -> One:
        """One page of the key's versions and delete markers, newest first:
        `{"versions": [...], "next_cursor": ...}`."""
        params = query(limit=limit, cursor=cursor)
        return self._x.one(
            Call("GET", object_path(bucket, key, "/storage/versions"), params=params)
        )

    def iterate_versions(self, bucket: str, key: str, *, page_size: int = 1000) -> Stream:
        """Every version and delete marker of the key, newest first, page after page."""
        path = object_path(bucket, key, "/storage/versions")
        return self._t.walk(Call("GET", path, params={"limit": page_size}), "versions")

    def presign(self, bucket: str, key: str, *, method: str = "GET", expires_in: int = 3600) -> One:
        """A URL anyone may GET (or PUT, `method="PUT"`) the object with, as you, without
        credentials, for `expires_in` seconds (at most 7 days): `{"url", "expires_at"}`."""
        payload = {"method": method.upper(), "expires_in": expires_in}
        return self._x.one(Call("POST", object_path(bucket, key, "/storage/presign"), payload))

    def tags(self, bucket: str, key: str, *, version_id: str | None = None) -> One:
        """The object's tags: `{"bucket", "key", "version_id", "tags": {...}}`."""
        params = query(version_id=version_id)
        return self._x.one(Call("GET", _tags_path(bucket, key), params=params))

    def set_tags(
        self, bucket: str, key: str, tags: Mapping[str, str], *, version_id: str | None = None
    ) -> One:
        """Replace the object's tags (at most 10); its data and version stay as they are."""
        params = query(version_id=version_id)
        return self._x.one(Call("PUT", _tags_path(bucket, key), {"tags": dict(tags)}, params))

    def delete_tags(self, bucket: str, key: str, *, version_id: str | None = None) -> One:
        """Remove every tag of the object."""
        params = query(version_id=version_id)
        return self._x.one(Call("DELETE", _tags_path(bucket, key), params=params))

    @staticmethod
    def _init_call(
        bucket: str,
        key: str,
        content_type: str | None,
        metadata: Mapping[str, str] | None,
        tags: Mapping[str, str] | None = None,
    ) -> Call:
        payload = body(content_type=content_type, metadata=dict(metadata) if metadata else None,
                       tags=dict(tags) if tags else None)  # fmt: skip
        return Call("POST", object_path(bucket, key, "/storage/multipart/init"), payload)

    def create_multipart(
        self,
        bucket: str,
        key: str,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> One:
        """Start a multipart upload: `{"upload_id", ...}`; then `upload_part` and complete."""
        return self._x.one(self._init_call(bucket, key, content_type, metadata, tags))

    def upload_part(self, upload_id: str, part_number: int, data: Data) -> One:
        """Send one part (5 MiB at least but for the last): `{"part_number", "etag", ...}`."""
        path = f"/storage/multipart/upload/{seg(upload_id)}/parts"
        call = Call("PUT", path, params={"part_number": part_number},
                    content=_upload(data, None), timeout=TRANSFER_TIMEOUT)  # fmt: skip
        return self._x.one(call)

    def complete_multipart(self, upload_id: str, parts: Iterable[PartRef]) -> One:
        """Join the parts, in the order given, into the object; the object."""
        listed = [p if isinstance(p, Mapping) else {"part_number": p[0], "etag": p[1]}
                  for p in parts]  # fmt: skip
        return self._x.one(Multipart.complete(upload_id, listed))

    def abort_multipart(self, upload_id: str) -> Done:
        """Abandon a multipart upload and its parts."""
        return self._x.done(Multipart.abort(upload_id))


def pieces(f: BinaryIO, part_size: int) -> Iterator[tuple[int, bytes, int]]:
    """(part number, bytes, offset) of a file read `part_size` bytes at a time."""
    number, offset = 1, 0
    while chunk := f.read(part_size):
        yield number, chunk, offset
        number, offset = number + 1, offset + len(chunk)
