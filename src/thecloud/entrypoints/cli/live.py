"""Live views of an instance for the CLI: its log lines as they come, its resource use."""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import typer
from rich.table import Table

from thecloud.entrypoints.cli.context import State
from thecloud.entrypoints.cli.output import Output, console, to_text
from thecloud.sdk import JSON

EPOCH = "1970-01-01T00:00:00+00:00"
STATS_COLUMNS = (
    "CPU %", "MEMORY", "LIMIT", "MEM %", "NET RX", "NET TX", "BLOCK READ", "BLOCK WRITE", "PIDS",
)  # fmt: skip


@contextlib.contextmanager
def until_interrupted() -> Iterator[None]:
    """Ctrl-C ends a live view quietly, with the shell's status for it (130)."""
    try:
        yield
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def emit(st: State, record: JSON) -> None:
    """One record of a live view: a JSON line, or a YAML document."""
    if st.output is Output.yaml:
        typer.echo("---\n" + to_text(record, Output.yaml))
    else:
        typer.echo(json.dumps(record, default=str))


def print_line(st: State, line: JSON) -> None:
    """A log line: its text (on stderr when the instance wrote it there), or the record."""
    if st.output is not Output.table:
        return emit(st, line)
    typer.echo(str(line.get("text", "")).rstrip("\n"), err=line.get("stream") == "stderr")


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _key(line: JSON) -> tuple[datetime | None, str, str]:
    return _when(line.get("at")), str(line.get("stream")), str(line.get("text"))


class Replay:
    """Tells the lines a follow replays, because it starts at the last printed line's time,
    from those not printed yet."""

    def __init__(self, printed: list[JSON]) -> None:
        self.last = _when(printed[-1].get("at")) if printed else None
        self.pending = Counter(_key(x) for x in printed if _when(x.get("at")) == self.last)

    def fresh(self, line: JSON) -> bool:
        """True for a line not printed yet."""
        at = _when(line.get("at"))
        if self.last is None or at is None or at > self.last:
            return True
        if at < self.last:
            return False
        key = _key(line)
        if self.pending[key] <= 0:
            return True
        self.pending[key] -= 1
        return False


def resume_from(printed: list[JSON], since: datetime | None, tail: int | None) -> str | None:
    """Where following picks up: at the last printed line; with none, at `since`, or at the
    start (nothing was written yet), or at new lines only for `--tail 0`."""
    if printed:
        return str(printed[-1].get("at"))
    if since is not None:
        return since.isoformat()
    return None if tail == 0 else EPOCH


def follow_logs(
    st: State, instance: str, printed: list[JSON], since: datetime | None, tail: int | None
) -> None:
    """Print these lines, then each new one until the instance stops (or Ctrl-C)."""
    for line in printed:
        print_line(st, line)
    replay, start = Replay(printed), resume_from(printed, since, tail)
    with until_interrupted():
        for line in st.client().instances.follow_logs(instance, since=start):
            if replay.fresh(line):
                print_line(st, line)


def _size(count: Any) -> str:
    value = float(count or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f}B" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}TiB"


def stats_cells(sample: JSON) -> list[str]:
    """One sample as the cells of STATS_COLUMNS."""
    used, limit = int(sample.get("memory_bytes") or 0), int(sample.get("memory_limit_bytes") or 0)
    counters = ("network_rx_bytes", "network_tx_bytes", "block_read_bytes", "block_write_bytes")
    return [
        f"{float(sample.get('cpu_percent') or 0):.1f}",
        f"{used / 2**20:.1f}MiB",
        f"{limit / 2**20:.1f}MiB",
        f"{100 * used / limit:.1f}" if limit else "-",
        *[_size(sample.get(name)) for name in counters],
        str(sample.get("pids", "-")),
    ]


def stats_table(sample: JSON) -> Table:
    table = Table(*STATS_COLUMNS, box=None, pad_edge=False)
    table.add_row(*stats_cells(sample))
    return table


def show_stats(st: State, sample: JSON, *, live: bool = False) -> None:
    """A sample as a table (the screen cleared first on a terminal when live), or the record."""
    if st.output is not Output.table:
        return emit(st, sample) if live else st.show(sample)
    out = console()
    if live and sys.stdout.isatty():
        out.clear()
    out.print(stats_table(sample))


def watch_stats(st: State, instance: str) -> None:
    """A new sample every 2 s until Ctrl-C."""
    with until_interrupted():
        for sample in st.client().instances.watch_stats(instance):
            show_stats(st, sample, live=True)
