"""The command line: parse options, run each worker count's pass, print and save the report."""

from __future__ import annotations

import argparse
import functools
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import httpx

from .environment import environment, warn_if_busy
from .hello import hello_steps
from .model import BenchError, Config, Report
from .moto import bench_moto
from .ours import bench_backend
from .report import print_report, save_report
from .settings import DEFAULT_DURATION_S, GROUPS, QUICK_DURATION_S, ROOT
from .table import table_top
from .tools import ensure_apt_package

Step = tuple[str, Callable[[], None]]
MAX_WORKERS = 64  # what THECLOUD_WORKERS accepts

STEP_ERRORS = (
    BenchError,
    httpx.HTTPError,
    subprocess.SubprocessError,
    OSError,
    KeyError,
    ValueError,
)


def build_parser(description: str) -> argparse.ArgumentParser:
    """The options: --duration, --quick, --only, --workers."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--duration",
        type=int,
        default=DEFAULT_DURATION_S,
        help=f"seconds measured per row (default {DEFAULT_DURATION_S})",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_DURATION_S} s per row (overrides --duration)"
    )
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"comma-separated subset of {','.join(GROUPS)} (default all)",
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="uvicorn workers of our server and the hello apps; a comma list (1,2) runs "
        "the matrix once per count (default 1; moto_server is always one process)",
    )
    return parser


def parse_groups(parser: argparse.ArgumentParser, only: str) -> tuple[str, ...]:
    """The groups named by --only, in table order."""
    groups = {g.strip() for g in only.split(",") if g.strip()}
    if not groups or groups - set(GROUPS):
        parser.error(f"--only takes a comma-separated subset of {','.join(GROUPS)}")
    return tuple(g for g in GROUPS if g in groups)


def parse_workers(parser: argparse.ArgumentParser, text: str) -> tuple[int, ...]:
    """The worker counts named by --workers, in the order given, without repeats."""
    try:
        counts = tuple(dict.fromkeys(int(n) for n in text.split(",") if n.strip()))
    except ValueError:
        counts = ()
    if not counts or not all(1 <= n <= MAX_WORKERS for n in counts):
        parser.error(f"--workers takes counts from 1 to {MAX_WORKERS}, comma-separated (1,2)")
    return counts


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    """Command-line options, checked; --quick folded into --duration."""
    parser = build_parser(description)
    args = parser.parse_args(argv)
    args.groups = parse_groups(parser, args.only)
    args.worker_counts = parse_workers(parser, args.workers)
    args.duration = QUICK_DURATION_S if args.quick else args.duration
    if args.duration < 1:
        parser.error("--duration must be at least 1 second")
    return args


def group_steps(cfg: Config, report: Report, group: str) -> list[Step]:
    """The steps of one group at cfg.workers."""
    if group in ("sqlite", "postgres"):
        return [(group, functools.partial(bench_backend, cfg, report, group))]
    if group == "moto":
        return [(group, functools.partial(bench_moto, cfg, report))]
    return hello_steps(cfg, report)


def steps(cfg: Config, report: Report, with_moto: bool) -> list[Step]:
    """The steps of one pass, in table order; moto (one process) runs in the first only."""
    groups = [g for g in cfg.groups if with_moto or g != "moto"]
    chosen = [step for group in groups for step in group_steps(cfg, report, group)]
    if len(cfg.worker_counts) == 1:
        return chosen
    return [(name if name == "moto" else f"{name} w={cfg.workers}", step) for name, step in chosen]


def run_steps(chosen: list[Step], report: Report) -> None:
    """Run every step; a failed step is recorded and the next one still runs."""
    for name, step in chosen:
        print(f"[{name}]", flush=True)
        try:
            step()
        except STEP_ERRORS as exc:
            message = str(exc) or type(exc).__name__
            report.failures.append((name, message))
            print(f"  FAILED: {message}", flush=True)


def run_passes(cfg: Config, report: Report) -> None:
    """One pass of the selected groups per worker count, each under its own table header."""
    for index, workers in enumerate(cfg.worker_counts):
        print(f"\nworkers={workers}\n{table_top()}", flush=True)
        pass_cfg = cfg.with_workers(workers)
        run_steps(steps(pass_cfg, report, with_moto=index == 0), report)


def interrupt_on_signal(signum: int, _frame: object) -> NoReturn:
    """Turn SIGINT/SIGTERM/SIGHUP into KeyboardInterrupt so every cleanup block runs."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run(cfg: Config) -> Report:
    """Measure, print and save; an interruption keeps (and reports) the partial results."""
    report = Report(environment(cfg), cfg.worker_counts)
    warn_if_busy(report.environment)
    try:
        run_passes(cfg, report)
    except KeyboardInterrupt as exc:
        report.failures.append(("run", f"interrupted ({exc or 'SIGINT'}): partial results"))
    data = print_report(report)
    print(f"\nresults written to {save_report(report, data).relative_to(ROOT)}")
    return report


def main(argv: list[str] | None = None, description: str = "secrets benchmark") -> int:
    """Run the selected benchmarks, print and save the report; exit 1 if a step failed."""
    args = parse_args(argv, description)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt_on_signal)
    try:
        wrk = ensure_apt_package("wrk", "wrk")
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="thecloud-bench-") as workdir:
        cfg = Config(args.duration, args.groups, wrk, Path(workdir), args.worker_counts)
        report = run(cfg)
    interrupted = any(step == "run" for step, _ in report.failures)
    return 130 if interrupted else 1 if report.failures else 0
