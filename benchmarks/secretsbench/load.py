"""Load generation with wrk: the Lua request script, one run with CPU accounting, parsing."""

from __future__ import annotations

import json
import math
import re
import subprocess
import uuid
from typing import Any

import httpx

from .cpu import busiest_worker, cpu_between, cpu_sample
from .model import BenchError, Config, Load, Report, Row, Target, WrkFigures, WrkRun
from .settings import WARMUP_S, WRK_TIMEOUT
from .table import format_row

_UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_SOCKET_ERRORS = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"


def lua_string(value: str) -> str:
    """Quote an ASCII string as a Lua literal (JSON escaping is valid Lua for ASCII)."""
    if not value.isascii():
        raise BenchError(f"non-ASCII value cannot go into the wrk script: {value!r}")
    return json.dumps(value)


def wrk_script(target: Target) -> str:
    """Render the Lua script that sets the method, headers and body of every request."""
    lines = [f"wrk.method = {lua_string(target.method)}"]
    if target.body is not None:
        lines.append(f"wrk.body = {lua_string(target.body)}")
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in target.headers.items()]
    return "\n".join(lines) + "\n"


def wrk_argv(cfg: Config, load: Load, duration_s: int) -> list[str]:
    """The wrk command line for one run (its Lua script written to the work dir)."""
    script = cfg.workdir / f"wrk-{uuid.uuid4().hex[:6]}.lua"
    script.write_text(wrk_script(load.target))
    return [
        cfg.wrk,
        "-t1",
        f"-c{load.connections}",
        f"-d{duration_s}s",
        "--latency",
        f"--timeout={WRK_TIMEOUT}",
        "-s",
        str(script),
        load.target.url,
    ]


def run_wrk(cfg: Config, load: Load, duration_s: int) -> WrkRun:
    """Run wrk once; return its output and where the machine's CPU went meanwhile."""
    argv = wrk_argv(cfg, load, duration_s)
    before = cpu_sample(load.server_pids, load.workers)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60, check=False)
    after = cpu_sample(load.server_pids, load.workers)
    if out.returncode != 0:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
    cpu = cpu_between(before, after, duration_s)
    return WrkRun(out.stdout, cpu, busiest_worker(before, after))


def parse_percentile(output: str, percent: int) -> float:
    """Return a percentile in ms from wrk's 'Latency Distribution' block (nan if absent)."""
    match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.MULTILINE)
    return float(match.group(1)) * _UNIT_MS[match.group(2)] if match else math.nan


def parse_count(output: str, pattern: str) -> int:
    """Return the sum of the integers captured by ``pattern`` in wrk's output (0 if absent)."""
    match = re.search(pattern, output)
    return sum(int(g) for g in match.groups()) if match else 0


def parse_wrk(output: str) -> WrkFigures:
    """Extract req/s, p50, p99, error and request counts from wrk's text output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return WrkFigures(
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=parse_percentile(output, 50),
        p99_ms=parse_percentile(output, 99),
        errors=parse_count(output, r"Non-2xx or 3xx responses: (\d+)")
        + parse_count(output, _SOCKET_ERRORS),
        requests=parse_count(output, r"(\d+) requests in"),
    )


def measure(cfg: Config, report: Report, load: Load) -> None:
    """Warm up, measure one call at one concurrency, record and print the row."""
    run_wrk(cfg, load, WARMUP_S)
    run = run_wrk(cfg, load, cfg.duration_s)
    figures = parse_wrk(run.output)
    head = (load.group, load.call, load.connections)
    row = Row(*head, figures, run.cpu, load.workers, run.busiest_worker)
    report.rows.append(row)
    print(f"  {format_row(row)}", flush=True)


def send(target: Target) -> httpx.Response:
    """Send a Target once with httpx (used to verify answers before loading)."""
    return httpx.request(
        target.method, target.url, headers=target.headers, content=target.body, timeout=30.0
    )


def expect(response: httpx.Response, status: int, what: str) -> Any:
    """Return the JSON body when the status matches, else raise a BenchError."""
    if response.status_code != status:
        raise BenchError(
            f"{what}: expected HTTP {status}, got {response.status_code}: {response.text[:300]}"
        )
    return response.json()
