"""The engine's stats JSON as ContainerStats, computed the way `docker stats` computes them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from docker import APIClient

from thecloud.adapters.docker.parse import engine_time
from thecloud.ports.compute import ContainerStats


def read_stats(api: APIClient, ident: str) -> ContainerStats:
    """One sample; the engine waits for a second reading (~1 s) to fill `precpu_stats`."""
    return container_stats(api.stats(ident, stream=False))


def container_stats(data: Mapping[str, Any]) -> ContainerStats:
    """A ContainerStats from `GET /containers/{id}/stats?stream=false` (zeros if stopped)."""
    memory = data.get("memory_stats") or {}
    rx, tx = network_bytes(data.get("networks") or {})
    read, write = block_bytes(data.get("blkio_stats") or {})
    return ContainerStats(
        at=engine_time(data.get("read")) or datetime.now(UTC),
        cpu_percent=cpu_percent(data.get("cpu_stats") or {}, data.get("precpu_stats") or {}),
        memory_bytes=memory_in_use(memory),
        memory_limit_bytes=int(memory.get("limit") or 0),
        network_rx_bytes=rx,
        network_tx_bytes=tx,
        block_read_bytes=read,
        block_write_bytes=write,
        pids=int((data.get("pids_stats") or {}).get("current") or 0),
    )


def cpu_percent(cpu: Mapping[str, Any], precpu: Mapping[str, Any]) -> float:
    """(container CPU time / host CPU time) over the interval x online CPUs x 100."""
    usage = cpu.get("cpu_usage") or {}
    cpu_delta = _total(usage) - _total(precpu.get("cpu_usage") or {})
    system_delta = int(cpu.get("system_cpu_usage") or 0) - int(precpu.get("system_cpu_usage") or 0)
    online = int(cpu.get("online_cpus") or 0) or len(usage.get("percpu_usage") or ())
    if cpu_delta <= 0 or system_delta <= 0 or not precpu.get("system_cpu_usage"):
        return 0.0
    return cpu_delta / system_delta * online * 100.0


def _total(usage: Mapping[str, Any]) -> int:
    return int(usage.get("total_usage") or 0)


def memory_in_use(memory: Mapping[str, Any]) -> int:
    """Usage without the reclaimable page cache (cgroup v1 `total_inactive_file`, v2
    `inactive_file`), as `docker stats` reports it."""
    usage, stats = int(memory.get("usage") or 0), memory.get("stats") or {}
    inactive = stats.get("total_inactive_file", stats.get("inactive_file"))
    if inactive is not None and int(inactive) < usage:
        return usage - int(inactive)
    return usage


def network_bytes(networks: Mapping[str, Mapping[str, Any]]) -> tuple[int, int]:
    """Received and sent bytes, summed over the container's interfaces."""
    rx = sum(int(interface.get("rx_bytes") or 0) for interface in networks.values())
    tx = sum(int(interface.get("tx_bytes") or 0) for interface in networks.values())
    return rx, tx


def block_bytes(blkio: Mapping[str, Any]) -> tuple[int, int]:
    """Bytes read from and written to block devices (op names are "Read" or "read", ...)."""
    read = write = 0
    for entry in blkio.get("io_service_bytes_recursive") or ():
        op, value = str(entry.get("op") or "").lower(), int(entry.get("value") or 0)
        read += value if op == "read" else 0
        write += value if op == "write" else 0
    return read, write
