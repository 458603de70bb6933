"""Request bodies too big for memory: streamed to a temporary file, with a size limit, and
root filesystem tarballs checked before the engine sees them."""

from __future__ import annotations

import asyncio
import tarfile
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Request

from thecloud.domain.errors import InvalidInput, PayloadTooLarge


@asynccontextmanager
async def spooled(request: Request, directory: Path, limit: int) -> AsyncIterator[Path]:
    """The request body in a temporary file under `directory` (removed afterwards)."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=directory, prefix="upload-", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    try:
        size = 0
        with handle:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"upload over {limit} bytes")
                await asyncio.to_thread(handle.write, chunk)
        if size == 0:
            raise InvalidInput("the upload is empty: send the tarball as the request body")
        yield path
    finally:
        path.unlink(missing_ok=True)


def rootfs_identity(path: Path) -> tuple[str, str]:
    """(os, version) from the tarball's os-release, ("unknown", "") without one; InvalidInput
    when it is not a tar archive (plain, gzip, bzip2 or xz)."""
    if not tarfile.is_tarfile(path):
        raise InvalidInput("the upload is not a tar archive of a root filesystem")
    with tarfile.open(path) as archive:
        for name in ("etc/os-release", "./etc/os-release", "usr/lib/os-release"):
            try:
                member = archive.extractfile(name)
            except KeyError:
                continue
            if member is not None:
                return _os_release(member.read(65536).decode("utf-8", "replace"))
    return "unknown", ""


def _os_release(text: str) -> tuple[str, str]:
    fields = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    clean = {k: v.strip().strip('"') for k, v in fields.items()}
    return clean.get("ID", "unknown"), clean.get("VERSION_ID", "")
