"""Constants of the S3 benchmark: sizes, durations, targets, server environment, labels."""

from __future__ import annotations

from secretsbench.settings import HOST, PYTHON, RESULTS_DIR, ROOT, SERVER_ENV, SERVER_MODULE

__all__ = ["HOST", "PYTHON", "RESULTS_DIR", "ROOT", "SERVER_MODULE"]

HELLO_APP = ROOT / "benchmarks" / "hello_app.py"

GROUPS = ("ours", "ours2", "nofsync", "moto", "hello", "nginx")  # the servers, in table order
PARTS = ("small", "boto3", "large")  # what is measured on the S3 servers

SMALL = 4096  # the small object, bytes
CONCURRENCIES = (1, 16)
CEILING_CONCURRENCY = 16
LARGE_MIB = 1024  # the large object of ours
MOTO_LARGE_MIB = 256  # moto keeps objects in memory: the issue measured it with 256 MiB
MIB = 1024 * 1024
MB = 1_000_000  # MB/s here are 10^6 bytes per second, as dd prints them

WARMUP_S = 1
DEFAULT_DURATION_S = 5
QUICK_DURATION_S = 2
BOTO3_SECONDS = 3.0
WRK_TIMEOUT = "10s"
RETRIES = 2  # a row during which other work used > BUSY_CORES is measured again, this often
QUIET_WAIT_S = 30.0  # before each measurement: wait this long at most for a quiet machine
BUSY_CORES = 0.3
RSS_INTERVAL_S = 0.05
PRESIGN_EXPIRES_S = 7200
START_TIMEOUT_S = 60.0
NEW_KEY_HEADROOM = 2.0  # distinct-key rows: presigned URLs for this many times the expected rate
NEW_KEY_MIN_URLS = 5000

REGION = "us-east-1"
MOTO_ACCESS = MOTO_SECRET = "testing"
# moto answers an anonymous GET with 403 (the bucket is private) but checks no signature: a
# fixed, unsigned Authorization header is enough (as secrets_bench does for Secrets Manager)
MOTO_HEADERS = {
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, "
        "SignedHeaders=host, Signature=0"
    ),
}

OURS_ENV = {**SERVER_ENV, "THECLOUD_WORKERS": "1"}

# Targets of the issue.
MOTO_RATIO_TARGET = 10.0  # ops/s, ours / moto's, same operation and concurrency
HELLO_FRACTION_TARGET = 0.5  # GET 4 KiB / raw-ASGI hello on the same stack, 16 connections
DISK_FRACTION_TARGET = 0.7  # 1 GiB upload / dd conv=fsync on the same filesystem
RSS_LIMIT_MB = 200.0  # our server, throughout

# What the issue measured on these machines (printed next to our figures).
ISSUE_FIGURES = {
    "moto PUT 4 KiB": "175-360 ops/s",
    "moto GET 4 KiB": "365-420 ops/s",
    "moto 256 MiB object": "RSS peaks near 1 GiB",
    "FastAPI hello": "~12k req/s",
    "Starlette hello": "~27k req/s",
    "nginx GET 4 KiB": "~69k req/s",
}

# Row names shared by the tables and the summary.
OURS, NOFSYNC, MOTO, HELLO, NGINX = "ours", "ours-nofsync", "moto", "hello", "nginx"
OURS2 = "ours-w2"  # two server processes (THECLOUD_WORKERS=2), fsync on: the 4 KiB rows
PUT, PUT_NEW, GET = "PUT 4KiB", "PUT 4KiB new keys", "GET 4KiB"
ASGI_HELLO, STARLETTE_HELLO, FASTAPI_HELLO = "asgi-hello", "starlette-hello", "fastapi-hello"
NGINX_GET = "GET 4KiB static"
