"""The S3 benchmark's value types: servers under test, jobs for wrk, rows, the report."""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from secretsbench.model import CpuUse, WrkFigures

from .memory import RssSampler


@dataclasses.dataclass(frozen=True)
class Config:
    """Command-line choices plus the tools found on this machine."""

    duration_s: int
    groups: tuple[str, ...]
    parts: tuple[str, ...]
    wrk: str
    workdir: Path  # on the filesystem under test: our data directories and dd go here
    retries: int
    quiet_wait_s: float  # how long to wait, before a measurement, for other work to end
    large_mib: int
    moto_large_mib: int


@dataclasses.dataclass
class S3Server:
    """An S3 server under test, ready: where it listens, how to sign for it, its bucket."""

    label: str  # row name: ours, ours-nofsync, moto
    base: str  # http://127.0.0.1:PORT
    pids: tuple[int, ...]  # roots of its process tree
    bucket: str
    boto: Any  # a boto3 S3 client for it
    sampler: RssSampler
    presign: Callable[[str, str], str]  # (method, key) -> URL wrk and httpx can send
    presign_many: Callable[[str, list[str]], list[str]]  # (method, keys) -> paths with query
    fsync: bool | None = None  # ours only: THECLOUD_S3_FSYNC
    headers: dict[str, str] = dataclasses.field(default_factory=dict)  # sent with every request


@dataclasses.dataclass(frozen=True)
class Job:
    """What wrk sends in one row: a base URL and a Lua script made for each run (distinct-key
    rows need fresh keys for each run), given the run's length in seconds."""

    url: str
    script: Callable[[int], str]


@dataclasses.dataclass(frozen=True)
class Row:
    """One wrk row: a server, an operation, a concurrency, the figures, where the CPU went."""

    server: str
    op: str
    concurrency: int
    figures: WrkFigures
    cpu: CpuUse
    tries: int = 1
    note: str = ""

    @property
    def rps(self) -> float:
        """Successful operations per second: wrk's requests/s counts error answers too."""
        fig = self.figures
        if fig.requests <= 0:
            return fig.rps
        return fig.rps * max(fig.requests - fig.errors, 0) / fig.requests


@dataclasses.dataclass(frozen=True)
class LoopRow:
    """A boto3 loop: one client, one call after the other, for a few seconds."""

    server: str
    op: str
    ops: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu: CpuUse  # cpu.wrk is the boto3 client (this process)

    @property
    def rps(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class TransferRow:
    """One large object sent or fetched by an httpx client, with the server's memory."""

    server: str
    op: str  # PUT or GET
    size: int
    seconds: float
    rss_before_mb: float
    rss_peak_mb: float  # sampled every RSS_INTERVAL_S
    hwm_mb: float | None  # the kernel's peak (VmHWM) over the transfer; None: not readable
    cpu: CpuUse  # cpu.wrk is the client (this process, or curl)
    note: str = ""
    tries: int = 1

    @property
    def mb_s(self) -> float:
        return self.size / self.seconds / 1e6 if self.seconds > 0 else 0.0


@dataclasses.dataclass(frozen=True)
class DiskRow:
    """dd if=/dev/zero bs=1M conv=fsync on the filesystem of the data directories."""

    mib: int
    rates_mb_s: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.rates_mb_s) if self.rates_mb_s else 0.0


@dataclasses.dataclass
class Report:
    """Everything one run produced, in measurement order."""

    environment: dict[str, Any]
    rows: list[Row] = dataclasses.field(default_factory=list)
    loops: list[LoopRow] = dataclasses.field(default_factory=list)
    transfers: list[TransferRow] = dataclasses.field(default_factory=list)
    disk: DiskRow | None = None
    memory: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)  # server -> phases
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def find(self, server: str, op: str, concurrency: int) -> Row | None:
        for row in self.rows:
            if (row.server, row.op, row.concurrency) == (server, op, concurrency):
                return row
        return None

    def transfer(self, server: str, op: str) -> TransferRow | None:
        return next((t for t in self.transfers if (t.server, t.op) == (server, op)), None)
