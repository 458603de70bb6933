"""CPU accounting from /proc: the whole machine, a process tree, our waited-for children."""

from __future__ import annotations

import contextlib
import math
import os
import resource
import time
from pathlib import Path

from .model import CpuSample, CpuUse


def cpu_counters() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine from /proc/stat (None off Linux)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    # Busy = time charged to processes; interrupt time (loopback TCP lands in softirq)
    # is charged to no process, so counting it would show up as "other" work.
    user, nice, system, *_ = fields
    return user + nice + system, sum(fields[:8])


def busy_cores_between(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float:
    """Cores' worth of CPU the whole machine used between two cpu_counters() samples."""
    if before is None or after is None or after[1] <= before[1]:
        return math.nan
    share = (after[0] - before[0]) / (after[1] - before[1])
    return round(share * (os.cpu_count() or 1), 2)


def busy_cores(interval_s: float = 1.0) -> float:
    """How many cores' worth of CPU the whole machine used over ``interval_s``."""
    before = cpu_counters()
    time.sleep(interval_s)
    return busy_cores_between(before, cpu_counters())


def process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used) for every process, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return table


def tree_pids(table: dict[int, tuple[int, float]], roots: tuple[int, ...]) -> list[int]:
    """The pids of ``roots`` and all their descendants (every uvicorn worker included)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    todo, found = list(roots), []
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def tree_cpu_s(roots: tuple[int, ...]) -> float:
    """CPU seconds used so far by the processes ``roots`` and all their descendants."""
    table = process_table()
    return sum(table.get(pid, (0, 0.0))[1] for pid in tree_pids(table, roots))


def tree_size(root: int) -> int:
    """How many processes the tree under ``root`` has (root included, if alive)."""
    table = process_table()
    return sum(1 for pid in tree_pids(table, (root,)) if pid in table)


def children_cpu_s() -> float:
    """CPU seconds used so far by waited-for child processes (user + system)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def worker_cpu_s(root: int) -> dict[int, float]:
    """CPU seconds used so far under each child of ``root`` (one per uvicorn worker)."""
    table = process_table()
    kids = [pid for pid, (ppid, _) in table.items() if ppid == root]
    return {kid: sum(table[p][1] for p in tree_pids(table, (kid,)) if p in table) for kid in kids}


def cpu_sample(server_pids: tuple[int, ...], workers: int) -> CpuSample:
    """Sample the counters cpu_between() compares (per-worker ones only with workers > 1)."""
    per_worker = worker_cpu_s(server_pids[0]) if workers > 1 else {}
    return CpuSample(children_cpu_s(), tree_cpu_s(server_pids), cpu_counters(), per_worker)


def cpu_between(before: CpuSample, after: CpuSample, duration_s: int) -> CpuUse:
    """Where the machine's CPU went between two samples, in cores."""
    wrk = (after.wrk_s - before.wrk_s) / duration_s
    server = (after.server_s - before.server_s) / duration_s
    return CpuUse.of(wrk, server, busy_cores_between(before.host, after.host))


def busiest_worker(before: CpuSample, after: CpuSample) -> float | None:
    """The busiest worker's share of all workers' CPU between two samples (None: 1 worker)."""
    used = [after.workers_s[pid] - before.workers_s.get(pid, 0.0) for pid in after.workers_s]
    total = sum(used)
    return round(max(used) / total, 2) if len(used) > 1 and total > 0 else None
