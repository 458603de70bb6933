"""Constants of the secrets benchmark: paths, durations, targets, request templates."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
HELLO_APP = ROOT / "benchmarks" / "hello_app.py"
PYTHON = sys.executable
HOST = "127.0.0.1"

GROUPS = ("sqlite", "postgres", "moto", "hello")
BACKENDS = ("sqlite", "postgres")
SECRET_COUNT = 100
CONCURRENCIES = (1, 32)
HELLO_CONCURRENCY = 32
WARMUP_S = 2
DEFAULT_DURATION_S = 10
QUICK_DURATION_S = 3
WRK_TIMEOUT = "10s"
START_TIMEOUT_S = 60.0
BUSY_CORES = 0.3  # CPU busy (in cores) before the run above which figures are flagged
IDLE_CORES = 0.1  # a server tree using less than this has finished booting its workers

P99_TARGET_MS = 25.0
MOTO_RATIO_TARGET = 10.0
RATE_LIMIT = 1_000_000
SERVER_ENV = {
    "THECLOUD_HOST": HOST,
    "THECLOUD_RATE_LIMIT_PER_IP": str(RATE_LIMIT),
    "THECLOUD_RATE_LIMIT_PER_KEY": str(RATE_LIMIT),
    "THECLOUD_LOG_LEVEL": "warning",
    # the secrets rows need neither Docker nor PowerDNS: no compute worker, and readiness
    # is /health/live (/health/ready also checks those)
    "THECLOUD_COMPUTE_WORKER": "false",
}
SERVER_MODULE = "thecloud.entrypoints.server"

PG_BIN_GLOBS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/*/bin")
PG_ROLE = "thecloud"
PG_PASSWORD = "thecloud"
PG_DB = "thecloud_bench"

MOTO_REGION = "us-east-1"
MOTO_HEADERS = {
    "Content-Type": "application/x-amz-json-1.1",
    "X-Amz-Date": "20260101T000000Z",
    "Authorization": (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/secretsmanager/"
        "aws4_request, SignedHeaders=host;x-amz-date, Signature=0"
    ),
}

# Row keys shared by the table and the summary.
LIST, GET = "list-secrets", "get-secret-value"
MOTO_LIST, MOTO_GET = "ListSecrets", "GetSecretValue"
MOTO_EQUIVALENT = {LIST: MOTO_LIST, GET: MOTO_GET}
HELLO_FASTAPI, HELLO_STARLETTE, HELLO_OURS = "fastapi-hello", "starlette-hello", "health-live"
