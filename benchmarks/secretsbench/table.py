"""The results table: header, one line per row, CPU legend, noisy and unbalanced marks."""

from __future__ import annotations

from .model import Row
from .settings import BUSY_CORES

TABLE_HEADER = (
    f"{'group':<9} {'call':<17} {'conc':>4} {'req/s':>10} {'p50 ms':>8} "
    f"{'p99 ms':>8} {'errors':>7} {'wrk':>5} {'srv':>5} {'other':>5}"
)

CPU_LEGEND = (
    "cpu columns, in cores (1.00 = one core busy): wrk = load generator, "
    "srv = server process tree, all workers (+ PostgreSQL), other = the rest of the machine"
)


def noisy_mark(row: Row) -> str:
    """A '!' after rows during which other work used more than BUSY_CORES."""
    return " !" if row.cpu.other > BUSY_CORES else ""


BALANCE_LEGEND = (
    "~NN% = the busiest uvicorn worker did NN% of the workers' CPU (an even split is 100/N %): "
    "the workers share one listening socket and wrk opens all its connections at once, so "
    "the worker that wakes first can accept most of them: that row measured fewer busy workers"
)


def unbalanced(row: Row) -> bool:
    """Whether one worker did most of the work though every worker could have had some."""
    if row.busiest_worker is None or row.concurrency < row.workers:
        return False
    return row.busiest_worker > (1 / row.workers + 1) / 2


def balance_mark(row: Row) -> str:
    """' ~NN%' after rows where one worker served most connections."""
    return f" ~{row.busiest_worker:.0%}" if unbalanced(row) and row.busiest_worker else ""


def format_row(row: Row) -> str:
    """One table line."""
    fig = row.figures
    return (
        f"{row.group:<9} {row.call:<17} {row.concurrency:>4} {fig.rps:>10.1f} "
        f"{fig.p50_ms:>8.2f} {fig.p99_ms:>8.2f} {fig.errors:>7} "
        f"{row.cpu.wrk:>5.2f} {row.cpu.server:>5.2f} {row.cpu.other:>5.2f}"
        f"{noisy_mark(row)}{balance_mark(row)}"
    )


def table_top() -> str:
    """The header line and its underline."""
    return f"{TABLE_HEADER}\n{'-' * len(TABLE_HEADER)}"
