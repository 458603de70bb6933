"""The 4 KiB rows of an S3 server: PUT to one key (each replaces the last: the bucket is
unversioned), PUT to distinct keys, GET of one object; at 1 and 16 connections, by wrk."""

from __future__ import annotations

import hashlib
import random
import string
import uuid

import httpx
from secretsbench.model import BenchError, Target

from .load import fixed_job, measure, paths_script
from .model import Config, Job, Report, S3Server
from .settings import (
    CONCURRENCIES,
    GET,
    NEW_KEY_HEADROOM,
    NEW_KEY_MIN_URLS,
    PUT,
    PUT_NEW,
    SMALL,
)

CONTENT_TYPE = {"Content-Type": "application/octet-stream"}
# ASCII, so that it goes into wrk's Lua script as a plain string literal
BODY = "".join(random.Random(SMALL).choices(string.ascii_letters + string.digits, k=SMALL))
BODY_BYTES = BODY.encode()
ETAG = f'"{hashlib.md5(BODY_BYTES).hexdigest()}"'  # noqa: S324 - S3's ETag


def check_put(url: str, headers: dict[str, str]) -> None:
    """A PUT of the body answers 200 with the body's MD5 as its ETag."""
    answer = httpx.put(url, content=BODY_BYTES, headers={**CONTENT_TYPE, **headers})
    if answer.status_code != 200 or answer.headers.get("etag") != ETAG:
        raise BenchError(
            f"PUT {url[:80]}...: HTTP {answer.status_code}, ETag "
            f"{answer.headers.get('etag')} (want {ETAG}): {answer.text[:300]}"
        )


def check_get(url: str, headers: dict[str, str]) -> None:
    """A GET answers 200 with the body."""
    answer = httpx.get(url, headers=headers)
    if answer.status_code != 200 or answer.content != BODY_BYTES:
        raise BenchError(
            f"GET {url[:80]}...: HTTP {answer.status_code}, "
            f"{len(answer.content)} bytes: {answer.text[:300]}"
        )


class NewKeys:
    """Distinct-key PUTs: each run gets fresh presigned paths, enough for `rate` ops/s."""

    def __init__(self, cfg: Config, server: S3Server, rate: float) -> None:
        self._server, self._rate = server, rate
        self.file = cfg.workdir / f"paths-{uuid.uuid4().hex[:8]}.txt"
        self.last_count = 0

    def script(self, seconds: int) -> str:
        count = max(NEW_KEY_MIN_URLS, int(self._rate * seconds * NEW_KEY_HEADROOM))
        run = uuid.uuid4().hex[:8]
        keys = [f"new/{run}/{i:07d}" for i in range(count)]
        self.file.write_text("\n".join(self._server.presign_many("PUT", keys)) + "\n")
        self.last_count = count
        return paths_script("PUT", self.file, BODY, {**CONTENT_TYPE, **self._server.headers})


def new_keys_row(cfg: Config, report: Report, server: S3Server, rate: float) -> None:
    """PUT 4 KiB to a new key each time, 16 connections."""
    check_put(server.base + server.presign_many("PUT", ["new/check"])[0], server.headers)
    keys = NewKeys(cfg, server, rate)
    head = (server.label, PUT_NEW, max(CONCURRENCIES))
    try:
        row = measure(cfg, report, head, Job(server.base, keys.script), server.pids)
    finally:
        keys.file.unlink(missing_ok=True)
    if row.figures.requests > keys.last_count:
        print(
            f"    note: {row.figures.requests} PUTs for {keys.last_count} keys: some keys were "
            "written twice",
            flush=True,
        )


def small_rows(cfg: Config, report: Report, server: S3Server) -> None:
    """PUT (one key), PUT (new keys), GET: 4 KiB, at 1 and 16 connections."""
    put_url, get_url = server.presign("PUT", "put-4k"), server.presign("GET", "get-4k")
    check_put(put_url, server.headers)
    check_put(server.presign("PUT", "get-4k"), server.headers)
    check_get(get_url, server.headers)
    server.sampler.phase("4 KiB rows")
    put = fixed_job(Target("PUT", put_url, {**CONTENT_TYPE, **server.headers}, BODY))
    rate = 0.0
    for conc in CONCURRENCIES:
        rate = measure(cfg, report, (server.label, PUT, conc), put, server.pids).rps
    new_keys_row(cfg, report, server, rate)
    get = fixed_job(Target("GET", get_url, dict(server.headers)))
    for conc in CONCURRENCIES:
        measure(cfg, report, (server.label, GET, conc), get, server.pids)
    check_get(get_url, server.headers)
