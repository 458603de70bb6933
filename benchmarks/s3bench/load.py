"""wrk rows: Lua scripts (one fixed request, or a list of paths for distinct keys), one run
with CPU accounting, and a row measured again while other work competed for the CPU."""

from __future__ import annotations

import dataclasses
import subprocess
import time
import uuid
from pathlib import Path

from secretsbench.cpu import busy_cores, cpu_between, cpu_sample
from secretsbench.load import lua_string, parse_wrk, wrk_script
from secretsbench.model import BenchError, CpuUse, Target, WrkFigures

from .model import Config, Job, Report, Row
from .settings import BUSY_CORES, WARMUP_S, WRK_TIMEOUT
from .table import format_row


def wait_quiet(cfg: Config) -> None:
    """Before a measurement: wait (cfg.quiet_wait_s at most) until the machine is quiet, i.e.
    less than BUSY_CORES busy over a second. Our servers are idle between measurements, so
    what is busy then is other work (another session's tests, say)."""
    deadline = time.monotonic() + cfg.quiet_wait_s
    busy = busy_cores(1.0)
    if busy <= BUSY_CORES:
        return
    print(
        f"    (other work keeps {busy:.2f} cores busy: waiting up to "
        f"{cfg.quiet_wait_s:.0f} s for it to end)",
        flush=True,
    )
    while busy > BUSY_CORES and time.monotonic() < deadline:
        busy = busy_cores(1.0)


def fixed_job(target: Target) -> Job:
    """wrk repeats one request (method, headers, body) on one URL."""
    return Job(target.url, lambda _seconds: wrk_script(target))


def paths_script(method: str, paths_file: Path, body: str, headers: dict[str, str]) -> str:
    """A Lua script that sends ``method`` to each path of ``paths_file`` in turn (from the
    first again when they run out)."""
    return "\n".join(
        (
            f"wrk.method = {lua_string(method)}",
            f"wrk.body = {lua_string(body)}",
            *(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()),
            "local paths = {}",
            f"for line in io.lines({lua_string(str(paths_file))}) do paths[#paths + 1] = line end",
            "local i = 0",
            "request = function()",
            "  i = i % #paths + 1",
            "  return wrk.format(nil, paths[i])",
            "end",
            "",
        )
    )


def run_wrk(
    cfg: Config, job: Job, connections: int, seconds: int, pids: tuple[int, ...]
) -> tuple[WrkFigures, CpuUse, str]:
    """One wrk run: its figures, where the CPU went meanwhile, its raw output."""
    script = cfg.workdir / f"wrk-{uuid.uuid4().hex[:8]}.lua"
    script.write_text(job.script(seconds))
    argv = [
        cfg.wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
        f"--timeout={WRK_TIMEOUT}", "-s", str(script), job.url,
    ]  # fmt: skip
    before = cpu_sample(pids, 1)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=False)
    after = cpu_sample(pids, 1)
    script.unlink(missing_ok=True)
    if out.returncode != 0:
        raise BenchError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
    return parse_wrk(out.stdout), cpu_between(before, after, seconds), out.stdout


def measure(
    cfg: Config,
    report: Report,
    head: tuple[str, str, int],
    job: Job,
    pids: tuple[int, ...],
    note: str = "",
) -> Row:
    """Warm up, measure, and measure again (up to cfg.retries times, after a pause) while other
    work used more than BUSY_CORES; keep the quietest run. Record and print the row."""
    server, op, connections = head
    best: Row | None = None
    for attempt in range(1, cfg.retries + 2):
        if attempt > 1:
            print(
                f"    (other work used {best.cpu.other if best else 0:.2f} cores: measuring "
                f"again, try {attempt})",
                flush=True,
            )
        wait_quiet(cfg)
        run_wrk(cfg, job, connections, WARMUP_S, pids)
        figures, cpu, _ = run_wrk(cfg, job, connections, cfg.duration_s, pids)
        row = Row(server, op, connections, figures, cpu, attempt, note)
        if best is None or row.cpu.other < best.cpu.other:
            best = row
        if best.cpu.other <= BUSY_CORES:
            break
    assert best is not None  # noqa: S101 - the loop runs at least once
    best = dataclasses.replace(best, tries=attempt)
    report.rows.append(best)
    print(f"  {format_row(best)}", flush=True)
    return best
