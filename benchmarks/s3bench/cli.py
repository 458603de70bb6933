"""The command line: options, one step per server (each stopped before the next starts),
signals turned into a clean stop, the report printed and saved, exit codes."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
from secretsbench.cli import interrupt_on_signal
from secretsbench.environment import warn_if_busy
from secretsbench.model import BenchError
from secretsbench.tools import ensure_apt_package

from .environment import environment
from .hello import hello_steps
from .large import large_object
from .loops import boto3_rows
from .model import Config, Report, S3Server
from .moto import moto_server
from .ours import our_server
from .report import print_report, save_report
from .settings import (
    DEFAULT_DURATION_S,
    GROUPS,
    LARGE_MIB,
    MOTO_LARGE_MIB,
    NOFSYNC,
    OURS2,
    PARTS,
    QUICK_DURATION_S,
    QUIET_WAIT_S,
    RETRIES,
    ROOT,
)
from .small import small_rows
from .static import bench_nginx
from .table import ROW_HEADER, top

Step = tuple[str, Callable[[], None]]


def step_errors() -> tuple[type[BaseException], ...]:
    """What a failed step raises (the next step still runs)."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    return (
        BenchError,
        httpx.HTTPError,
        subprocess.SubprocessError,
        OSError,
        KeyError,
        ValueError,
        BotoCoreError,
        ClientError,
    )


def subset(
    parser: argparse.ArgumentParser, text: str, allowed: tuple[str, ...], name: str
) -> tuple[str, ...]:
    chosen = {g.strip() for g in text.split(",") if g.strip()}
    if not chosen or chosen - set(allowed):
        parser.error(f"{name} takes a comma-separated subset of {','.join(allowed)}")
    return tuple(g for g in allowed if g in chosen)


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--duration",
        type=int,
        default=DEFAULT_DURATION_S,
        help=f"seconds measured per wrk row (default {DEFAULT_DURATION_S})",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_DURATION_S} s per row (overrides --duration)"
    )
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"servers, a comma-separated subset of {','.join(GROUPS)}",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"what to measure on the S3 servers: a subset of {','.join(PARTS)}",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=RETRIES,
        help=f"extra runs of a row while other work competes (default {RETRIES})",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=QUIET_WAIT_S,
        help="before each measurement, wait at most this many seconds for other work on the "
        f"machine to end (default {QUIET_WAIT_S:.0f}; 0: do not wait)",
    )
    parser.add_argument(
        "--large-mib",
        type=int,
        default=LARGE_MIB,
        help=f"the large object of ours, MiB (default {LARGE_MIB})",
    )
    parser.add_argument(
        "--moto-large-mib",
        type=int,
        default=MOTO_LARGE_MIB,
        help=f"moto's large object, MiB (default {MOTO_LARGE_MIB})",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where data directories and dd go (default: the temp dir); it "
        "decides which disk is measured",
    )
    args = parser.parse_args(argv)
    args.groups = subset(parser, args.only, GROUPS, "--only")
    args.parts = subset(parser, args.parts, PARTS, "--parts")
    args.duration = QUICK_DURATION_S if args.quick else args.duration
    if args.duration < 1 or args.retries < 0 or args.large_mib < 1 or args.moto_large_mib < 1:
        parser.error("--duration, --large-mib and --moto-large-mib must be >= 1, --retries >= 0")
    return args


def bench_s3(cfg: Config, report: Report, server_cm: AbstractContextManager[S3Server]) -> None:
    """The selected parts on one S3 server; its memory by phase goes into the report."""
    label = "?"
    sampler = None
    try:
        with server_cm as server:
            label, sampler = server.label, server.sampler
            if "small" in cfg.parts:
                small_rows(cfg, report, server)
            if server.label == OURS2:  # the second process only matters for many small calls
                return
            if "boto3" in cfg.parts and server.label != NOFSYNC:
                boto3_rows(cfg, report, server)
            if "large" in cfg.parts:
                mib = cfg.moto_large_mib if server.fsync is None else cfg.large_mib
                large_object(cfg, report, server, mib)
    finally:
        if sampler is not None:
            report.memory[label] = sampler.all_figures()


def steps(cfg: Config, report: Report) -> list[Step]:
    chosen: list[Step] = []
    for group in cfg.groups:
        if group in ("ours", "nofsync"):
            fsync = group == "ours"
            chosen.append((group, lambda f=fsync: bench_s3(cfg, report, our_server(cfg, f))))
        elif group == "ours2":
            chosen.append((group, lambda: bench_s3(cfg, report, our_server(cfg, True, 2))))
        elif group == "moto":
            chosen.append((group, lambda: bench_s3(cfg, report, moto_server(cfg))))
        elif group == "hello":
            chosen += hello_steps(cfg, report)
        else:
            large = cfg.large_mib if "large" in cfg.parts else None
            chosen.append((group, lambda m=large: bench_nginx(cfg, report, m)))
    return chosen


def run_steps(chosen: list[Step], report: Report) -> None:
    errors = step_errors()
    for name, step in chosen:
        print(f"[{name}]", flush=True)
        try:
            step()
        except errors as exc:
            message = str(exc) or type(exc).__name__
            report.failures.append((name, message))
            print(f"  FAILED: {message}", flush=True)


def run(cfg: Config) -> Report:
    report = Report(environment(cfg))
    warn_if_busy(report.environment)
    print(f"\n{top(ROW_HEADER)}", flush=True)
    try:
        run_steps(steps(cfg, report), report)
    except KeyboardInterrupt as exc:
        report.failures.append(("run", f"interrupted ({exc or 'SIGINT'}): partial results"))
    checks = print_report(report)
    print(f"\nresults written to {save_report(report, checks).relative_to(ROOT)}")
    return report


def workdirs(base: Path | None) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="thecloud-s3bench-", dir=base) as workdir:
        yield Path(workdir)


def main(argv: list[str] | None = None, description: str = "S3 benchmark") -> int:
    args = parse_args(argv, description)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt_on_signal)
    try:
        wrk = ensure_apt_package("wrk", "wrk")
        if "nginx" in args.groups:
            ensure_apt_package("nginx", "nginx")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    for workdir in workdirs(args.dir):
        cfg = Config(
            args.duration,
            args.groups,
            args.parts,
            wrk,
            workdir,
            args.retries,
            max(args.quiet_wait, 0.0),
            args.large_mib,
            args.moto_large_mib,
        )
        report = run(cfg)
    interrupted = any(step == "run" for step, _ in report.failures)
    return 130 if interrupted else 1 if report.failures else 0
