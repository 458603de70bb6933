"""kill -9 of the server in the middle of a large PUT and of a multipart completion: after a
restart no partial object is visible, the old version is intact, and once the reconciler has
run no blob is left that no metadata refers to."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import Server

MiB = 1024 * 1024
FAST_SWEEP = {"THECLOUD_S3_ORPHAN_GRACE_SECONDS": "0", "THECLOUD_S3_SWEEP_SECONDS": "0.5"}


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _wait(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _trickle(size: int) -> Iterator[bytes]:
    """A body that trickles out, so the server is killed mid-upload."""
    sent = 0
    while sent < size:
        time.sleep(0.01)
        chunk = min(256 * 1024, size - sent)
        sent += chunk
        yield b"z" * chunk


def _put_in_background(url: str, size: int) -> threading.Thread:
    """A streamed PUT to a presigned URL (boto3 would read the whole body first, to hash it)."""

    def run() -> None:
        try:
            headers = {"Content-Length": str(size)}
            httpx.put(url, content=_trickle(size), headers=headers, timeout=60)
        except httpx.HTTPError:
            pass  # the server is killed under it

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def restartable(spawn: Callable[..., Server], tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Servers on one data directory (and database); `sweep` makes the reconciler remove
    unreferenced blobs at once (only safe with no write in flight)."""

    def start(sweep: bool = False) -> Server:
        return spawn(tmp_path, **(FAST_SWEEP if sweep else {}))

    yield start


def test_kill_during_put_and_complete_loses_nothing_and_leaves_nothing(
    restartable: Callable[..., Server],
) -> None:
    first = restartable()
    user = first.register("crash")
    s3 = first.s3(user, retries={"max_attempts": 1}, read_timeout=5, connect_timeout=2)
    bucket = f"crash-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="doc", Body=b"version one")
    up = s3.create_multipart_upload(Bucket=bucket, Key="joined")["UploadId"]
    parts = [
        {"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key="joined", UploadId=up,
                                                 PartNumber=n, Body=bytes([n]) * (5 * MiB))["ETag"]}
        for n in (1, 2)
    ]  # fmt: skip
    staging = first.data_dir / "objects" / "staging"
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "doc"})
    _put_in_background(url, 200 * MiB)
    _wait(lambda: any(f.stat().st_size > MiB for f in _files(staging)))
    completing = threading.Thread(
        target=lambda: _quietly(s3.complete_multipart_upload, Bucket=bucket, Key="joined",
                                UploadId=up, MultipartUpload={"Parts": parts}),
        daemon=True,
    )  # fmt: skip
    completing.start()
    time.sleep(0.02)
    first.process.kill()
    first.process.wait(10)
    assert _files(staging), "the kill was meant to land mid-upload"

    second = restartable(sweep=True)
    s3 = second.s3(user, retries={"max_attempts": 1})
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"version one"
    try:
        joined = s3.get_object(Bucket=bucket, Key="joined")["Body"].read()
        assert joined == b"\x01" * (5 * MiB) + b"\x02" * (5 * MiB)  # complete, or not at all
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchKey"
        listed = s3.list_parts(Bucket=bucket, Key="joined", UploadId=up)["Parts"]
        assert [p["PartNumber"] for p in listed] == [1, 2]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] in (
        [["doc"], ["doc", "joined"]]
    )
    blobs = second.data_dir / "objects" / "blobs"
    # the two parts; doc's eleven bytes are kept in its metadata row (THECLOUD_S3_INLINE_MAX)
    _wait(lambda: not _files(staging) and len(_files(blobs)) == 2)


def test_small_and_large_objects_acknowledged_before_a_kill_are_there_after_it(
    restartable: Callable[..., Server],
) -> None:
    """Small objects live in their metadata row, larger ones in blob files: whatever was
    acknowledged survives a kill -9 that follows at once, and nothing is orphaned."""
    first = restartable()
    user = first.register("inline")
    s3 = first.s3(user, retries={"max_attempts": 1})
    bucket = f"inline-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    small = {f"small/{i}": bytes([i]) * (100 * i) for i in range(20)}
    everything = {**small, "large": b"L" * (64 * 1024 + 1)}
    for key, body in everything.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    blobs = first.data_dir / "objects" / "blobs"
    assert len(_files(blobs)) == 1  # only the object over the threshold has a file
    first.process.kill()
    first.process.wait(10)

    second = restartable(sweep=True)
    s3 = second.s3(user, retries={"max_attempts": 1})
    for key, body in everything.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert s3.get_object(Bucket=bucket, Key="small/7", Range="bytes=10-19")["Body"].read() == (
        b"\x07" * 10
    )
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert {o["Key"]: o["Size"] for o in listed} == {k: len(v) for k, v in everything.items()}
    s3.put_object(Bucket=bucket, Key="large", Body=b"small now")  # replaces the file
    _wait(lambda: not _files(blobs))
    assert s3.get_object(Bucket=bucket, Key="large")["Body"].read() == b"small now"


def _quietly(call: Callable[..., Any], **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except Exception:  # noqa: S110 - the server is killed under it
        pass
