"""The Docker adapter's reading of the engine's stats JSON (cgroup v1 and v2 forms)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from thecloud.adapters.docker.stats import container_stats

V2_SAMPLE: dict[str, Any] = {
    "read": "2024-05-01T10:00:02.5Z",
    "cpu_stats": {
        "cpu_usage": {"total_usage": 3_000_000_000},
        "system_cpu_usage": 104_000_000_000,
        "online_cpus": 4,
    },
    "precpu_stats": {
        "cpu_usage": {"total_usage": 1_000_000_000},
        "system_cpu_usage": 100_000_000_000,
    },
    "memory_stats": {"usage": 50_000, "limit": 1 << 30, "stats": {"inactive_file": 20_000}},
    "networks": {
        "eth0": {"rx_bytes": 100, "tx_bytes": 10},
        "eth1": {"rx_bytes": 5, "tx_bytes": 1},
    },
    "blkio_stats": {
        "io_service_bytes_recursive": [
            {"major": 8, "minor": 0, "op": "read", "value": 4096},
            {"major": 8, "minor": 0, "op": "write", "value": 8192},
            {"major": 8, "minor": 16, "op": "Write", "value": 1},
            {"major": 8, "minor": 16, "op": "Total", "value": 12289},
        ]
    },
    "pids_stats": {"current": 7},
}


def test_stats_sum_interfaces_and_devices_and_leave_out_inactive_file() -> None:
    sample = container_stats(V2_SAMPLE)
    assert sample.at == datetime(2024, 5, 1, 10, 0, 2, 500000, tzinfo=UTC)
    assert sample.cpu_percent == 2e9 / 4e9 * 4 * 100
    assert (sample.memory_bytes, sample.memory_limit_bytes) == (30_000, 1 << 30)
    assert (sample.network_rx_bytes, sample.network_tx_bytes) == (105, 11)
    assert (sample.block_read_bytes, sample.block_write_bytes, sample.pids) == (4096, 8193, 7)


def test_stats_count_cpus_from_percpu_and_use_v1_total_inactive_file() -> None:
    cpu = {"cpu_usage": {"total_usage": 30, "percpu_usage": [10, 20]}, "system_cpu_usage": 200}
    memory = {"usage": 1000, "stats": {"total_inactive_file": 400, "cache": 600}}
    precpu = {"cpu_usage": {"total_usage": 10}, "system_cpu_usage": 100}
    sample = container_stats({"cpu_stats": cpu, "precpu_stats": precpu, "memory_stats": memory})
    assert sample.cpu_percent == 20 / 100 * 2 * 100
    assert sample.memory_bytes == 600


def test_stats_without_a_previous_sample_or_of_a_stopped_container_are_zero() -> None:
    first = container_stats({**V2_SAMPLE, "precpu_stats": {"cpu_usage": {"total_usage": 0}}})
    assert first.cpu_percent == 0.0
    stopped = container_stats({"read": "0001-01-01T00:00:00Z", "networks": None, "pids_stats": {}})
    assert (stopped.cpu_percent, stopped.memory_bytes, stopped.network_rx_bytes) == (0.0, 0, 0)
    assert stopped.pids == 0 and stopped.at.tzinfo is UTC
