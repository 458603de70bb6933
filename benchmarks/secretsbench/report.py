"""Print the tables (one per worker count) and the combined summary; save the JSON file."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .environment import environment_line
from .model import Report, Row
from .settings import BUSY_CORES, GROUPS, MOTO_RATIO_TARGET, P99_TARGET_MS, RESULTS_DIR
from .summary import Summary, summary
from .table import BALANCE_LEGEND, CPU_LEGEND, format_row, noisy_mark, table_top, unbalanced


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


Entry = dict[str, Any]


def print_block(title: str, entries: list[Entry], empty: str, line: Callable[[Entry], str]) -> None:
    """Print one summary block: its title, then one line per entry (or why there is none)."""
    print(f"\n{title}")
    for entry in entries:
        print(f"  {line(entry)}")
    if not entries:
        print(f"  {empty}")


def moto_line(r: Entry) -> str:
    """One vs-moto line."""
    head = f"w={r['workers']:<2} {r['backend']:<9} {r['call']:<17} c={r['concurrency']:<3}"
    return f"{head} {r['ratio']:>7.1f}x  {verdict(r['pass'])}"


def p99_line(r: Entry) -> str:
    """One p99 line."""
    head = f"w={r['workers']:<2} {r['backend']:<9} {r['call']:<17}"
    return f"{head} {r['p99_ms']:>8.2f} ms  {verdict(r['pass'])}"


def ceiling_line(r: Entry) -> str:
    """One fraction-of-the-ceiling line."""
    head = f"w={r['workers']:<2} {r['group']:<9} {r['call']:<17} c={r['concurrency']:<3}"
    return f"{head} {r['fraction']:>7.1%}"


def ceiling_moto_line(r: Entry) -> str:
    """One line of the FastAPI ceiling in moto multiples."""
    head = f"w={r['workers']:<2} fastapi-hello vs moto {r['call']:<17} c={r['concurrency']:<3}"
    return f"{head} {r['ratio']:>6.1f}x"


def rps_cell(rps: float | None) -> str:
    """req/s with one decimal, '-' when not measured."""
    return "-" if rps is None else f"{rps:.1f}"


def scaling_line(r: Entry) -> str:
    """One req/s-by-worker-count line, with moto's req/s for the same call when there is one."""
    cells = [f"w={w} {rps_cell(v):>9}" for w, v in r["rps_by_workers"].items()]
    moto = "" if r["moto_rps"] is None else f"  moto {r['moto_rps']:>8.1f}"
    return f"{r['group']:<9} {r['call']:<17} c={r['concurrency']:<3} {'  '.join(cells)}{moto}"


def print_summary(data: Summary) -> None:
    """Print the summary blocks (or say why one is empty)."""
    vs_moto = f"vs moto (target >= {MOTO_RATIO_TARGET:.0f}x req/s, same call and concurrency):"
    print_block(vs_moto, data["vs_moto"], "(needs moto and a backend)", moto_line)
    p99 = f"p99 at 32 connections (target <= {P99_TARGET_MS:.0f} ms, no errors):"
    print_block(p99, data["p99_at_32"], "(needs a backend)", p99_line)
    ceiling = "fraction of the plain FastAPI hello-world req/s, same workers and connections:"
    empty = "(needs the fastapi hello row and one of ours)"
    print_block(ceiling, data["fastapi_ceiling_fraction"], empty, ceiling_line)
    reach = "the FastAPI hello-world in multiples of moto (10x a call needs this above 10x):"
    empty = "(needs the fastapi hello row and moto)"
    print_block(reach, data["fastapi_ceiling_vs_moto"], empty, ceiling_moto_line)
    if data["by_workers"]:
        scaling = "req/s by worker count (moto_server: always one process):"
        print_block(scaling, data["by_workers"], "", scaling_line)


def table_rows(report: Report, workers: int) -> list[Row]:
    """The rows of one worker count's table, moto's included, in group order."""
    rows = [r for r in report.rows if r.workers == workers or r.group == "moto"]
    return sorted(rows, key=lambda r: GROUPS.index(r.group))


def print_tables(report: Report) -> None:
    """One table per worker count (moto_server, measured once, appears in each)."""
    for workers in report.worker_counts:
        print(
            f"\nworkers={workers}: our server and the hello apps with {workers} uvicorn worker(s)"
        )
        print(table_top())
        for row in table_rows(report, workers):
            print(format_row(row))
    print_legends(report)


def print_legends(report: Report) -> None:
    """What the CPU columns and the marks that appear in the tables mean."""
    print(CPU_LEGEND)
    if len(report.worker_counts) > 1:
        print("moto rows: moto_server is one process, measured once, shown in every table")
    if any(unbalanced(row) for row in report.rows):
        print(BALANCE_LEGEND)
    if any(noisy_mark(row) for row in report.rows):
        print(
            f"! = other processes used > {BUSY_CORES} cores during that row: "
            "rerun on a quiet machine before trusting it"
        )


def print_report(report: Report) -> Summary:
    """Print environment, tables, summary and failures; return the summary."""
    print("\n" + environment_line(report.environment))
    print_tables(report)
    data = summary(report)
    print_summary(data)
    for step, message in report.failures:
        print(f"\nFAILED {step}: {message}")
    return data


def row_dict(row: Row) -> dict[str, Any]:
    """A row as a flat JSON object."""
    head = {"group": row.group, "call": row.call, "concurrency": row.concurrency}
    cpu = {f"cpu_{k}_cores": v for k, v in dataclasses.asdict(row.cpu).items()}
    workers = {"workers": row.workers, "busiest_worker_share": row.busiest_worker}
    return {**head, **workers, **dataclasses.asdict(row.figures), **cpu}


def save_report(report: Report, data: Summary) -> Path:
    """Write environment, rows, summary and failures to benchmarks/results/."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    gitignore = RESULTS_DIR / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*.json\n")
    stamp = report.environment["timestamp"].replace(":", "").replace("-", "")
    path = RESULTS_DIR / f"secrets_bench-{stamp}.json"
    path.write_text(json.dumps(payload(report, data), indent=2, default=str) + "\n")
    return path


def payload(report: Report, data: Summary) -> dict[str, Any]:
    """The JSON document of one run."""
    return {
        "environment": report.environment,
        "rows": [row_dict(r) for r in report.rows],
        "summary": data,
        "failures": [{"step": s, "error": e} for s, e in report.failures],
    }
