"""Print the tables, the memory per phase, the issue's figures, the summary; save the JSON."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from .environment import environment_lines
from .model import Report
from .settings import (
    BUSY_CORES,
    DISK_FRACTION_TARGET,
    GROUPS,
    HELLO_FRACTION_TARGET,
    ISSUE_FIGURES,
    MOTO,
    MOTO_RATIO_TARGET,
    NGINX,
    NOFSYNC,
    OURS,
    OURS2,
    RESULTS_DIR,
    RSS_LIMIT_MB,
)
from .summary import Check, summary
from .table import (
    CPU_LEGEND,
    LOOP_HEADER,
    NOISY_LEGEND,
    ROW_HEADER,
    TRANSFER_HEADER,
    format_loop,
    format_row,
    format_transfer,
    mb,
    top,
)

OPS_LEGEND = (
    "ops/s = successful (2xx) operations per second; errors = non-2xx answers + socket errors"
)
MOTO_ERRORS = (
    "moto errors: moto_server answers some concurrent PUTs of one key with 500 (a race in moto: "
    "'ValueError: I/O operation on closed file' in its log); they are not counted as ops"
)
SERVER_ORDER = (OURS, OURS2, NOFSYNC, MOTO, "hello", NGINX)
assert len(SERVER_ORDER) == len(GROUPS)  # noqa: S101 - one row label per group


def order(server: str) -> int:
    return SERVER_ORDER.index(server) if server in SERVER_ORDER else len(SERVER_ORDER)


def print_tables(report: Report) -> None:
    env = report.environment
    print(f"\n4 KiB objects and hello-world ceilings ({env['load']}):")
    print(top(ROW_HEADER))
    for row in sorted(report.rows, key=lambda r: order(r.server)):
        print(format_row(row))
    if report.loops:
        print("\nboto3 (one client, one call after the other, in this process):")
        print(top(LOOP_HEADER))
        for loop in report.loops:
            print(format_loop(loop))
    if report.transfers:
        print(
            "\nlarge objects (one httpx client, streamed from a file / to nowhere; RSS0 = "
            "server RSS before, RSSmax = sampled every 50 ms, VmHWM = the kernel's peak):"
        )
        print(top(TRANSFER_HEADER))
        for transfer in sorted(report.transfers, key=lambda t: order(t.server)):
            print(format_transfer(transfer))
    if report.disk:
        rates = ", ".join(f"{r:.0f}" for r in report.disk.rates_mb_s)
        print(
            f"dd if=/dev/zero bs=1M count={report.disk.mib} conv=fsync, same filesystem: "
            f"{rates} MB/s (median {report.disk.median:.0f})"
        )
    print(OPS_LEGEND)
    if any(r.server == MOTO and r.figures.errors for r in report.rows):
        print(MOTO_ERRORS)
    print(CPU_LEGEND.format(cores=env["cores"]))
    measured = [*report.rows, *report.transfers]
    if any(r.cpu.other > BUSY_CORES or r.tries > 1 for r in measured) or any(
        r.cpu.other > BUSY_CORES for r in report.loops
    ):
        print(NOISY_LEGEND)


def print_memory(report: Report) -> None:
    if not report.memory:
        return
    print(
        "\nserver memory by phase, MB (RSS and PSS of the process tree sampled every 50 ms; "
        "VmHWM reset at each phase; PSS counts a page shared by several processes once):"
    )
    print(
        f"  {'server':<13} {'phase':<28} {'start':>7} {'max':>7} {'VmHWM':>7} {'PSSmax':>7} "
        f"{'samples':>8}"
    )
    for server, phases in report.memory.items():
        for name, v in phases.items():
            print(
                f"  {server:<13} {name:<28} {v['rss_start_mb']:>7.0f} {v['rss_peak_mb']:>7.0f} "
                f"{mb(v.get('hwm_mb')):>7} {mb(v.get('pss_peak_mb')):>7} {v['samples']:>8}"
            )


def check_line(c: Check) -> str:
    tag = c["verdict"].upper() if c["verdict"] != "info" else "info"
    target = c["target"]
    if target == "10x moto":
        return (
            f"{tag:<4}  {c['server']:<13} {c['op']:<18} c={c['concurrency']:<3} "
            f"{c['ours']:>8.0f} vs moto {c['moto']:>6.0f} ops/s = {c['ratio']:>6.2f}x"
        )
    if target.startswith("GET"):
        return (
            f"{tag:<4}  {c['server']:<13} GET 4KiB c=16 {c['ours']:>8.0f} vs "
            f"{c['reference']:<16} {c['reference_rps']:>7.0f} = {c['ratio']:>6.1%}"
        )
    if target.startswith("upload"):
        return (
            f"{tag:<4}  {c['server']:<13} {c['op']:<12} {c['mb_s']:>5} MB/s vs dd "
            f"{c['dd_mb_s']} MB/s = {c['ratio']:.1%}"
        )
    if target.startswith("RSS"):
        pss = f", PSS peak {c['pss_peak_mb']} MB" if c.get("pss_peak_mb") is not None else ""
        return f"{tag:<4}  {c['server']:<13} peak {c['peak_mb']} MB (in '{c['phase']}'){pss}"
    figures = ", ".join(f"{k} {v} MB/s" for k, v in c["get_mb_s"].items())
    return f"n/a   {c['why']}" + (f"\n      (large GET: {figures})" if figures else "")


TITLES = {
    "10x moto": f"ops/s vs moto_server, same operation and concurrency (target >= "
    f"{MOTO_RATIO_TARGET:.0f}x; judged: ours, fsync on, the default):",
    "GET >= 50% of hello": f"GET 4 KiB at 16 connections vs the hello-world ceilings (target >= "
    f"{HELLO_FRACTION_TARGET:.0%} of the raw-ASGI hello on our stack):",
    "sendfile": "large objects served without copying through Python (sendfile):",
    "upload >= 70% of dd": f"large upload vs the disk's sequential write speed (target >= "
    f"{DISK_FRACTION_TARGET:.0%}; judged: ours, fsync on):",
    "RSS < 200 MB": f"server RSS throughout (target < {RSS_LIMIT_MB:.0f} MB for ours; "
    "moto for reference):",
}


def print_summary(checks: list[Check]) -> None:
    print(
        "\nthe issue's figures on these machines: "
        + "; ".join(f"{k} {v}" for k, v in ISSUE_FIGURES.items())
    )
    print("\nsummary:")
    for target, title in TITLES.items():
        mine = [c for c in checks if c["target"] == target]
        print(f"  {title}")
        for c in mine:
            print(f"    {check_line(c)}")
        if not mine:
            print("    (not measured in this run)")


def print_report(report: Report) -> list[Check]:
    print("\n" + environment_lines(report.environment))
    print_tables(report)
    print_memory(report)
    checks = summary(report)
    print_summary(checks)
    for step, message in report.failures:
        print(f"\nFAILED {step}: {message}")
    return checks


def save_report(report: Report, checks: list[Check]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    gitignore = RESULTS_DIR / ".gitignore"
    if not gitignore.exists():
        gitignore.write_text("*.json\n")
    stamp = report.environment["timestamp"].replace(":", "").replace("-", "")
    path = RESULTS_DIR / f"s3_bench-{stamp}.json"
    path.write_text(json.dumps(payload(report, checks), indent=2, default=str) + "\n")
    return path


def client(data: dict[str, Any]) -> dict[str, Any]:
    """Rows measured by a client of ours (boto3, httpx, curl): their load generator's CPU."""
    data["cpu_client_cores"] = data.pop("cpu_wrk_cores")
    return data


def payload(report: Report, checks: list[Check]) -> dict[str, Any]:
    def flat(obj: Any) -> dict[str, Any]:
        data = dataclasses.asdict(obj)
        if "figures" in data:
            data.update(data.pop("figures"))
        if "cpu" in data:
            data.update({f"cpu_{k}_cores": v for k, v in data.pop("cpu").items()})
        return data

    return {
        "environment": report.environment,
        "rows": [{**flat(r), "ok_ops_per_s": r.rps} for r in report.rows],
        "boto3": [client(flat(r)) | {"ops_per_s": r.rps} for r in report.loops],
        "transfers": [client(flat(t)) | {"mb_per_s": t.mb_s} for t in report.transfers],
        "disk": dataclasses.asdict(report.disk) if report.disk else None,
        "memory": report.memory,
        "summary": checks,
        "failures": [{"step": s, "error": e} for s, e in report.failures],
    }
