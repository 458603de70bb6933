"""moto_server under test (one process; it keeps objects in memory): a bucket made with boto3,
raw unsigned path-style requests for the load (moto does not check signatures)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from secretsbench.processes import free_port, http_server

from .memory import RssSampler
from .model import Config, S3Server
from .settings import HOST, MOTO, MOTO_ACCESS, MOTO_HEADERS, MOTO_SECRET, PYTHON
from .signing import raw_path, s3_client


@contextmanager
def moto_server(cfg: Config) -> Iterator[S3Server]:
    """Start moto_server; yield it ready, with a bucket."""
    port = free_port()
    base = f"http://{HOST}:{port}"
    argv = [str(Path(PYTHON).parent / "moto_server"), "-H", HOST, "-p", str(port)]
    with (
        http_server("moto", argv, f"{base}/moto-api/", cfg.workdir) as pid,
        RssSampler((pid,)) as sampler,
    ):
        boto = s3_client(base, MOTO_ACCESS, MOTO_SECRET)
        bucket = f"s3bench-{uuid.uuid4().hex[:10]}"
        boto.create_bucket(Bucket=bucket)
        yield S3Server(
            MOTO,
            base,
            (pid,),
            bucket,
            boto,
            sampler,
            presign=lambda _method, key: base + raw_path(bucket, key),
            presign_many=lambda _method, keys: [raw_path(bucket, k) for k in keys],
            headers=dict(MOTO_HEADERS),
        )
