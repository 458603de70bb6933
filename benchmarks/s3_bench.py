"""S3 endpoint throughput, latency and memory: The Cloud vs moto_server, against hello-world and
nginx ceilings, in one run.

What is measured
----------------
* 4 KiB objects, by ``wrk`` (one thread, 1 and 16 keep-alive connections, closed loop) with
  presigned SigV4 URLs made by boto3 (``generate_presigned_url``, signature s3v4): PUT to one
  key (each PUT replaces the last: the bucket is unversioned), PUT to a new key each time
  (wrk walks a list of presigned URLs), GET of one object. On ``ours`` (our server, one
  process, per-object fsync on: the default), ``ours-w2`` (the same with two server processes,
  THECLOUD_WORKERS=2: 4 KiB rows only), ``ours-nofsync`` (THECLOUD_S3_FSYNC=false) and
  ``moto`` (``moto_server``, raw path-style requests: moto does not check signatures). A 4 KiB
  object is kept in its metadata row (THECLOUD_S3_INLINE_MAX, 64 KiB by default).
* The ceilings at 16 connections: hello-world apps on our stack (``benchmarks/hello_app.py``
  under our uvicorn settings: a raw ASGI callable, which is what our S3 endpoint is, and plain
  Starlette and FastAPI for reference), and nginx serving the same 4 KiB file statically.
* boto3, apart: one client in a loop of put_object/get_object of 4 KiB for a few seconds,
  against ours and moto. boto3 spends about 2 ms of CPU of its own per call (a core at ~500/s),
  so these figures are the client's more than the server's.
* One large object: 1 GiB to ours (``--large-mib``), 256 MiB to moto (``--moto-large-mib``),
  streamed from a file by an httpx client (presigned PUT, Content-Length set) and streamed back
  to nowhere, with MB/s and the server's RSS sampled every 50 ms and its kernel peak (VmHWM);
  nginx serves the same file with sendfile to the same client; ``dd if=/dev/zero bs=1M
  conv=fsync`` on the same filesystem before and after ours gives the disk's write speed.

Objects are encrypted at rest (AES-256-GCM, a data key per blob), so GET decrypts in Python
and cannot use sendfile: that target is reported as not applicable, with the reason.

How to read it
--------------
``ops/s`` is throughput, ``p50``/``p99`` wrk's latency percentiles in ms, ``errors`` non-2xx
answers plus socket errors. ``wrk``/``srv``/``other`` say where the CPU went, in cores: the load
generator, the server's process tree, and everything else on the machine. A row during which
other work used more than 0.3 cores is measured again (``--retries``), the quietest run kept
(``xN``); still noisy rows are marked ``!``. The summary checks the issue's targets: >= 10x
moto's ops/s, GET 4 KiB >= 50% of the raw-ASGI hello ceiling, sendfile (n/a), upload >= 70% of
dd, our server's RSS < 200 MB throughout. Figures and environment also go to
``benchmarks/results/s3_bench-<timestamp>.json``.

Run: ``uv run python benchmarks/s3_bench.py [--duration 5] [--quick]
[--only ours,ours2,nofsync,moto,hello,nginx] [--parts small,boto3,large] [--dir PATH]``.
Needs root to install ``wrk``/``nginx`` with apt-get when they are missing.
"""

from __future__ import annotations

import sys

from s3bench.cli import main

if __name__ == "__main__":
    sys.exit(main(description=__doc__.splitlines()[0]))
