"""The tables' lines: wrk rows, boto3 loops, large transfers; their marks and legends."""

from __future__ import annotations

import math

from .model import LoopRow, Row, TransferRow
from .settings import BUSY_CORES

ROW_HEADER = (
    f"{'server':<13} {'operation':<18} {'conc':>4} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'errors':>6} {'wrk':>5} {'srv':>5} {'other':>5}"
)
LOOP_HEADER = (
    f"{'server':<13} {'operation':<18} {'ops':>6} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'boto3':>6} {'srv':>5} {'other':>5}"
)
TRANSFER_HEADER = (
    f"{'server':<13} {'operation':<18} {'MiB':>6} {'s':>7} {'MB/s':>8} {'RSS0 MB':>8} "
    f"{'RSSmax':>7} {'VmHWM':>7} {'client':>6} {'srv':>5} {'other':>5}"
)
CPU_LEGEND = (
    "cpu columns, in cores (1.00 = one core busy; the machine has {cores}): wrk/boto3/client = "
    "the load generator, srv = the server's process tree, other = the rest of the machine"
)
NOISY_LEGEND = (
    f"! = other processes used > {BUSY_CORES} cores during that row even after the reruns: "
    "rerun on a quiet machine before trusting it;  xN = measured N times (other work "
    "competed), the quietest run kept"
)


def marks(other: float, tries: int = 1) -> str:
    """' !' for a noisy row, ' xN' for a row measured N times."""
    text = " !" if other > BUSY_CORES else ""
    return text + (f" x{tries}" if tries > 1 else "")


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def format_row(row: Row) -> str:
    fig, cpu = row.figures, row.cpu
    return (
        f"{row.server:<13} {row.op:<18} {row.concurrency:>4} {row.rps:>9.0f} "
        f"{ms(fig.p50_ms):>8} {ms(fig.p99_ms):>8} {fig.errors:>6} "
        f"{cpu.wrk:>5.2f} {cpu.server:>5.2f} {cpu.other:>5.2f}{marks(cpu.other, row.tries)}"
        + (f"  {row.note}" if row.note else "")
    )


def format_loop(row: LoopRow) -> str:
    cpu = row.cpu
    return (
        f"{row.server:<13} {row.op:<18} {row.ops:>6} {row.rps:>9.0f} {ms(row.p50_ms):>8} "
        f"{ms(row.p99_ms):>8} {cpu.wrk:>6.2f} {cpu.server:>5.2f} {cpu.other:>5.2f}"
        f"{marks(cpu.other)}"
    )


def mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_transfer(row: TransferRow) -> str:
    cpu = row.cpu
    return (
        f"{row.server:<13} {row.op:<18} {row.size / 2**20:>6.0f} {row.seconds:>7.2f} "
        f"{row.mb_s:>8.0f} {mb(row.rss_before_mb):>8} {mb(row.rss_peak_mb):>7} "
        f"{mb(row.hwm_mb):>7} {cpu.wrk:>6.2f} {cpu.server:>5.2f} {cpu.other:>5.2f}"
        f"{marks(cpu.other, row.tries)}" + (f"  {row.note}" if row.note else "")
    )


def top(header: str) -> str:
    return f"{header}\n{'-' * len(header)}"
