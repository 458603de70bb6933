"""A server's memory while it works: its process tree's RSS sampled every 50 ms by a thread,
and the kernel's own peak (VmHWM, reset at each phase through /proc/PID/clear_refs), so a
spike between two samples is not missed. Figures are per phase (start, 4 KiB rows, ...).

The tree's PSS is sampled too. RSS counts a page once in every process that maps it, so
the RSS of several processes that share pages (forked workers) adds up to more than the
memory they hold; PSS splits each shared page between the processes that map it, and the
tree's PSS is what it holds. For one process with nothing shared they are about the same."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

from secretsbench.cpu import process_table, tree_pids

from .settings import RSS_INTERVAL_S

PIDS_REFRESH_S = 1.0


def status_kb(pid: int, field: str) -> int | None:
    """A `kB` field of /proc/PID/status (VmRSS, VmHWM), None when unreadable."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def pss_kb(pid: int) -> int | None:
    """The Pss of /proc/PID/smaps_rollup (Linux >= 4.14), None when unreadable."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return None


def reset_peak(pid: int) -> bool:
    """Reset the kernel's peak RSS of a process to its current RSS (Linux >= 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


class RssSampler:
    """Samples the RSS of the process trees under ``roots``; phase() starts a new phase."""

    def __init__(self, roots: tuple[int, ...], interval_s: float = RSS_INTERVAL_S) -> None:
        self._roots, self._interval = roots, interval_s
        self._pids: list[int] = list(roots)
        self._pids_at = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._phase = ""
        self._phases: dict[str, dict[str, Any]] = {}
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self.hwm_readable = True

    def __enter__(self) -> RssSampler:
        self.phase("start")
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._close_phase()

    def rss_mb(self) -> float:
        """The tree's RSS right now, in MB (10^6 bytes)."""
        return sum(status_kb(pid, "VmRSS") or 0 for pid in self._tree()) * 1024 / 1e6

    def pss_mb(self) -> float | None:
        """The tree's PSS right now, in MB; None when a process's is unreadable."""
        found = [pss_kb(pid) for pid in self._tree()]
        return None if None in found else sum(k or 0 for k in found) * 1024 / 1e6

    def phase(self, name: str) -> None:
        """End the current phase (reading the kernel's peak) and start ``name``."""
        self._close_phase()
        for pid in self._tree(refresh=True):
            self.hwm_readable &= reset_peak(pid)
        rss, pss = self.rss_mb(), self.pss_mb()
        with self._lock:
            self._phase = name
            self._phases[name] = {
                "rss_start_mb": rss, "rss_peak_mb": rss, "pss_peak_mb": pss, "samples": 1,
            }  # fmt: skip

    def figures(self, name: str) -> dict[str, Any]:
        """The figures of a phase (a copy)."""
        with self._lock:
            return dict(self._phases.get(name, {}))

    def all_figures(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: dict(values) for name, values in self._phases.items()}

    def _close_phase(self) -> None:
        with self._lock:
            current = self._phases.get(self._phase)
        if current is None:
            return
        hwm = [status_kb(pid, "VmHWM") for pid in self._tree()]
        peak = sum(h or 0 for h in hwm) * 1024 / 1e6 if all(h is not None for h in hwm) else None
        rss, pss = self.rss_mb(), self.pss_mb()
        with self._lock:
            current["rss_peak_mb"] = max(current["rss_peak_mb"], rss)
            current["pss_peak_mb"] = _higher(current.get("pss_peak_mb"), pss)
            current["rss_end_mb"] = rss
            # without a reset (no permission) VmHWM is the peak since the process started
            current["hwm_mb"] = peak
            current["hwm_scope"] = "phase" if self.hwm_readable else "process lifetime"

    def _tree(self, refresh: bool = False) -> list[int]:
        now = time.monotonic()
        if refresh or now - self._pids_at > PIDS_REFRESH_S:
            table = process_table()
            self._pids = [pid for pid in tree_pids(table, self._roots) if pid in table]
            self._pids_at = now
        return self._pids

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            rss, pss = self.rss_mb(), self.pss_mb()
            with self._lock:
                current = self._phases.get(self._phase)
                if current is not None:
                    current["rss_peak_mb"] = max(current["rss_peak_mb"], rss)
                    current["pss_peak_mb"] = _higher(current.get("pss_peak_mb"), pss)
                    current["samples"] += 1


def _higher(seen: float | None, now: float | None) -> float | None:
    return now if seen is None else seen if now is None else max(seen, now)
