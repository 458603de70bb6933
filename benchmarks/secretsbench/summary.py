"""The summary checks: vs moto, p99 at 32 connections, hello ceiling, worker scaling."""

from __future__ import annotations

import itertools
from typing import Any

from .model import Report, Row
from .settings import (
    BACKENDS,
    CONCURRENCIES,
    GET,
    HELLO_FASTAPI,
    HELLO_OURS,
    LIST,
    MOTO_EQUIVALENT,
    MOTO_RATIO_TARGET,
    P99_TARGET_MS,
)
from .table import noisy_mark, unbalanced

Summary = dict[str, list[dict[str, Any]]]


def rps_ratio(ours: Row | None, reference: Row | None) -> float | None:
    """ours.rps / reference.rps when both were measured (and the reference is above 0)."""
    if ours is None or reference is None or reference.rps <= 0:
        return None
    return ours.rps / reference.rps


def moto_ratios(report: Report) -> list[dict[str, Any]]:
    """Our throughput / moto's for the same call and concurrency, per worker count."""
    out = []
    combos = itertools.product(report.worker_counts, BACKENDS, MOTO_EQUIVALENT, CONCURRENCIES)
    for workers, backend, call, conc in combos:
        ours = report.find(backend, call, conc, workers)
        ratio = rps_ratio(ours, report.find("moto", MOTO_EQUIVALENT[call], conc, None))
        if ratio is not None:
            head = {"workers": workers, "backend": backend, "call": call, "concurrency": conc}
            out.append({**head, "ratio": round(ratio, 2), "pass": ratio >= MOTO_RATIO_TARGET})
    return out


def p99_checks(report: Report) -> list[dict[str, Any]]:
    """p99 at 32 connections of each of our calls against P99_TARGET_MS, per worker count."""
    out = []
    for workers, backend, call in itertools.product(report.worker_counts, BACKENDS, (LIST, GET)):
        row = report.find(backend, call, 32, workers)
        if row:
            ok = row.p99_ms <= P99_TARGET_MS and row.figures.errors == 0
            head = {"workers": workers, "backend": backend, "call": call}
            out.append({**head, "p99_ms": row.p99_ms, "pass": ok})
    return out


def ceiling_fractions(report: Report) -> list[dict[str, Any]]:
    """Our calls / the FastAPI hello req/s with as many workers and connections."""
    ours = [("hello", HELLO_OURS)] + list(itertools.product(BACKENDS, (LIST, GET)))
    out = []
    for workers, conc in itertools.product(report.worker_counts, CONCURRENCIES):
        ceiling = report.find("hello", HELLO_FASTAPI, conc, workers)
        for group, call in ours:
            fraction = rps_ratio(report.find(group, call, conc, workers), ceiling)
            if fraction is not None:
                head = {"workers": workers, "group": group, "call": call, "concurrency": conc}
                out.append({**head, "fraction": round(fraction, 3)})
    return out


def ceiling_vs_moto(report: Report) -> list[dict[str, Any]]:
    """The FastAPI hello req/s / moto's for each call, per connections and workers: how many
    times moto the framework itself reaches (a call cannot reach 10x where this is below)."""
    out = []
    combos = itertools.product(report.worker_counts, CONCURRENCIES, MOTO_EQUIVALENT)
    for workers, conc, call in combos:
        ceiling = report.find("hello", HELLO_FASTAPI, conc, workers)
        ratio = rps_ratio(ceiling, report.find("moto", MOTO_EQUIVALENT[call], conc, None))
        if ratio is not None:
            head = {"workers": workers, "call": call, "concurrency": conc}
            out.append({**head, "ratio": round(ratio, 2)})
    return out


def by_workers(report: Report) -> list[dict[str, Any]]:
    """req/s of every row of ours and of the hello apps at each worker count, with moto's."""
    if len(report.worker_counts) < 2:
        return []
    keys = dict.fromkeys((r.group, r.call, r.concurrency) for r in report.rows if r.group != "moto")
    return [scaling_entry(report, *key) for key in keys]


def scaling_entry(report: Report, group: str, call: str, conc: int) -> dict[str, Any]:
    """One line of by_workers: req/s per worker count (None when not measured), moto's."""
    rps = {}
    for workers in report.worker_counts:
        row = report.find(group, call, conc, workers)
        rps[str(workers)] = row.rps if row else None
    moto_call = MOTO_EQUIVALENT.get(call)
    moto = report.find("moto", moto_call, conc, None) if moto_call else None
    head = {"group": group, "call": call, "concurrency": conc}
    return {**head, "rps_by_workers": rps, "moto_rps": moto.rps if moto else None}


def row_key(row: Row) -> dict[str, Any]:
    """What identifies a row in the summary lists."""
    return {
        "workers": row.workers,
        "group": row.group,
        "call": row.call,
        "concurrency": row.concurrency,
    }


def noisy_rows(report: Report) -> list[dict[str, Any]]:
    """Rows during which other work used more than BUSY_CORES."""
    return [{**row_key(r), "other_cores": r.cpu.other} for r in report.rows if noisy_mark(r)]


def unbalanced_rows(report: Report) -> list[dict[str, Any]]:
    """Rows where one uvicorn worker served most of the connections."""
    rows = [r for r in report.rows if unbalanced(r)]
    return [{**row_key(r), "busiest_worker_share": r.busiest_worker} for r in rows]


def summary(report: Report) -> Summary:
    """All summary checks, as stored in the JSON file."""
    return {
        "noisy_rows": noisy_rows(report),
        "unbalanced_rows": unbalanced_rows(report),
        "vs_moto": moto_ratios(report),
        "p99_at_32": p99_checks(report),
        "fastapi_ceiling_fraction": ceiling_fractions(report),
        "fastapi_ceiling_vs_moto": ceiling_vs_moto(report),
        "by_workers": by_workers(report),
    }
