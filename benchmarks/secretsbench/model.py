"""The benchmark's value types: requests, loads, figures, rows, the report, the config."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any


class BenchError(RuntimeError):
    """A step of the benchmark failed; the message says which and why."""


class ServerStartError(BenchError):
    """A server under test did not come up."""


@dataclasses.dataclass(frozen=True)
class Target:
    """One HTTP request that wrk repeats."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None = None


@dataclasses.dataclass(frozen=True)
class Load:
    """One row to measure: which call, sent how, by how many connections, served by whom."""

    group: str
    call: str
    target: Target
    connections: int
    server_pids: tuple[int, ...]  # roots of the process trees serving it (server, database)
    workers: int = 1  # uvicorn worker processes of the server (moto_server: always 1)


@dataclasses.dataclass(frozen=True)
class WrkFigures:
    """What one wrk run reports."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int


@dataclasses.dataclass(frozen=True)
class PgCluster:
    """A running throwaway PostgreSQL: its asyncpg URL and postmaster pid."""

    url: str
    pid: int


@dataclasses.dataclass(frozen=True)
class Served:
    """A running server of ours: base URL and pid."""

    base: str
    pid: int


@dataclasses.dataclass(frozen=True)
class CpuUse:
    """Where the machine's CPU went during a measurement, in cores (1.0 = one core busy)."""

    wrk: float  # the load generator
    server: float  # the server's process tree, every worker (plus the PostgreSQL cluster's)
    other: float  # everything else on the machine: should be ~0
    host: float  # the whole machine

    @classmethod
    def of(cls, wrk: float, server: float, host: float) -> CpuUse:
        """Split the machine's CPU use; ``other`` is what wrk and the server don't explain."""
        other = max(host - wrk - server, 0.0)
        return cls(round(wrk, 2), round(server, 2), round(other, 2), round(host, 2))


@dataclasses.dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far: our children (wrk), the server trees, each worker; host ticks."""

    wrk_s: float
    server_s: float
    host: tuple[int, int] | None
    workers_s: dict[int, float]


@dataclasses.dataclass(frozen=True)
class WrkRun:
    """One wrk run: its text output and the CPU use meanwhile."""

    output: str
    cpu: CpuUse
    busiest_worker: float | None = None  # share of the workers' CPU done by the busiest one


@dataclasses.dataclass(frozen=True)
class Row:
    """The figures of one measured call at one concurrency and worker count."""

    group: str
    call: str
    concurrency: int
    figures: WrkFigures
    cpu: CpuUse
    workers: int = 1
    busiest_worker: float | None = None  # 1/workers = even split, 1.0 = one worker did all

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.figures.rps

    @property
    def p99_ms(self) -> float:
        """99th percentile latency in ms."""
        return self.figures.p99_ms


@dataclasses.dataclass
class Report:
    """Everything one run produced, in measurement order."""

    environment: dict[str, Any]
    worker_counts: tuple[int, ...] = (1,)
    rows: list[Row] = dataclasses.field(default_factory=list)
    failures: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def find(self, group: str, call: str, concurrency: int, workers: int | None) -> Row | None:
        """The row of (group, call, concurrency) at ``workers`` (any count when None)."""
        for row in self.rows:
            if (row.group, row.call, row.concurrency) != (group, call, concurrency):
                continue
            if workers is None or row.workers == workers:
                return row
        return None


@dataclasses.dataclass(frozen=True)
class Config:
    """Command-line choices plus the tools found on this machine."""

    duration_s: int
    groups: tuple[str, ...]
    wrk: str
    workdir: Path
    worker_counts: tuple[int, ...] = (1,)
    workers: int = 1  # the count of the pass being measured

    def with_workers(self, workers: int) -> Config:
        """This config for the pass that runs our server with ``workers`` workers."""
        return dataclasses.replace(self, workers=workers)
