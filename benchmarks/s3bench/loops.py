"""boto3 figures, apart from wrk's: one boto3 client in this process, PUT then GET of 4 KiB in
a loop for a few seconds. boto3 spends about 2 ms of its own CPU per call, so these
figures say more about the client than about the server (see the boto3 column)."""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

from secretsbench.cpu import busy_cores_between, cpu_counters, tree_cpu_s
from secretsbench.model import CpuUse

from .load import wait_quiet
from .model import Config, LoopRow, Report, S3Server
from .settings import BOTO3_SECONDS
from .small import BODY_BYTES
from .table import format_loop

WARMUP_CALLS = 20


def self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], percent: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def loop(server: S3Server, op: str, call: Callable[[], object], seconds: float) -> LoopRow:
    """Call ``call`` back to back for ``seconds``; the row of its figures."""
    for _ in range(WARMUP_CALLS):
        call()
    latencies: list[float] = []
    cpu0, srv0, host0 = self_cpu_s(), tree_cpu_s(server.pids), cpu_counters()
    start = time.perf_counter()
    deadline = start + seconds
    now = start
    while now < deadline:
        call()
        done = time.perf_counter()
        latencies.append((done - now) * 1000)
        now = done
    elapsed = now - start

    cpu = CpuUse.of(
        (self_cpu_s() - cpu0) / elapsed,
        (tree_cpu_s(server.pids) - srv0) / elapsed,
        busy_cores_between(host0, cpu_counters()),
    )
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return LoopRow(server.label, op, len(latencies), elapsed, p50, p99, cpu)


def boto3_rows(
    cfg: Config, report: Report, server: S3Server, seconds: float = BOTO3_SECONDS
) -> None:
    """boto3 put_object and get_object of 4 KiB, one call after the other."""
    boto, bucket = server.boto, server.bucket
    server.sampler.phase("boto3 loop")

    def put() -> object:
        return boto.put_object(Bucket=bucket, Key="boto3-4k", Body=BODY_BYTES)

    def get() -> object:
        return boto.get_object(Bucket=bucket, Key="boto3-4k")["Body"].read()

    for op, call in (("boto3 put_object", put), ("boto3 get_object", get)):
        wait_quiet(cfg)
        row = loop(server, op, call, seconds)
        report.loops.append(row)
        print(f"  {format_loop(row)}", flush=True)
