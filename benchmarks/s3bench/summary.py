"""The issue's targets, checked against one run's figures: one entry per check, with the ratio,
PASS/FAIL (or n/a and why); also stored in the JSON file."""

from __future__ import annotations

from typing import Any

from .model import Report
from .settings import (
    ASGI_HELLO,
    CEILING_CONCURRENCY,
    CONCURRENCIES,
    DISK_FRACTION_TARGET,
    FASTAPI_HELLO,
    GET,
    HELLO,
    HELLO_FRACTION_TARGET,
    MOTO,
    MOTO_RATIO_TARGET,
    NGINX,
    NGINX_GET,
    NOFSYNC,
    OURS,
    OURS2,
    PUT,
    PUT_NEW,
    RSS_LIMIT_MB,
    STARLETTE_HELLO,
)

Check = dict[str, Any]
SENDFILE_NOTE = (
    "objects are encrypted at rest (AES-256-GCM, a fresh data key per blob), so a GET must "
    "decrypt in user space: the OS cannot sendfile() ciphertext as plaintext. Not applicable "
    "to this design; the GET figures above are what decrypting in Python costs"
)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def ratio(ours: float | None, reference: float | None) -> float | None:
    if ours is None or reference is None or reference <= 0:
        return None
    return ours / reference


def rps(report: Report, server: str, op: str, conc: int) -> float | None:
    row = report.find(server, op, conc)
    return row.rps if row else None


def vs_moto(report: Report) -> list[Check]:
    """Our ops/s over moto's, same operation and concurrency; fsync on is the default and what
    the target is judged on; fsync off is shown beside it."""
    out = []
    combos = [(PUT, c) for c in CONCURRENCIES] + [(PUT_NEW, max(CONCURRENCIES))]
    combos += [(GET, c) for c in CONCURRENCIES]
    for op, conc in combos:
        moto = rps(report, MOTO, op, conc)
        for server in (OURS, OURS2, NOFSYNC):
            r = ratio(rps(report, server, op, conc), moto)
            if r is None:
                continue
            check = {
                "target": "10x moto",
                "server": server,
                "op": op,
                "concurrency": conc,
                "ours": rps(report, server, op, conc),
                "moto": moto,
                "ratio": round(r, 2),
            }
            judged = server in (OURS, OURS2)
            check["verdict"] = verdict(r >= MOTO_RATIO_TARGET) if judged else "info"
            out.append(check)
    return out


def vs_ceiling(report: Report) -> list[Check]:
    """GET 4 KiB at 16 connections over the hello-world ceilings; the raw-ASGI one is judged."""
    out = []
    refs = [(HELLO, ASGI_HELLO), (HELLO, STARLETTE_HELLO), (HELLO, FASTAPI_HELLO),
            (NGINX, NGINX_GET)]  # fmt: skip
    for server in (OURS, OURS2, NOFSYNC):  # the ceilings run one process: w2 is info
        ours = rps(report, server, GET, CEILING_CONCURRENCY)
        for ref_server, ref_op in refs:
            ref = rps(report, ref_server, ref_op, CEILING_CONCURRENCY)
            r = ratio(ours, ref)
            if r is None:
                continue
            judged = server == OURS and ref_op == ASGI_HELLO
            out.append(
                {
                    "target": "GET >= 50% of hello",
                    "server": server,
                    "reference": ref_op,
                    "ours": ours,
                    "reference_rps": ref,
                    "ratio": round(r, 3),
                    "verdict": verdict(r >= HELLO_FRACTION_TARGET) if judged else "info",
                }
            )
    return out


def sendfile(report: Report) -> list[Check]:
    """Not applicable; the large GETs of ours and nginx (sendfile) side by side."""
    figures = {t.server: round(t.mb_s) for t in report.transfers if t.op.startswith("GET")}
    return [{"target": "sendfile", "verdict": "n/a", "why": SENDFILE_NOTE,
             "get_mb_s": figures}]  # fmt: skip


def vs_disk(report: Report) -> list[Check]:
    """Large upload MB/s over dd's median, same filesystem; fsync on is judged."""
    if report.disk is None:
        return []
    out = []
    for server in (OURS, NOFSYNC):
        put = next(
            (t for t in report.transfers if t.server == server and t.op.startswith("PUT")), None
        )
        r = ratio(put.mb_s if put else None, report.disk.median)
        if put is None or r is None:
            continue
        out.append(
            {
                "target": "upload >= 70% of dd",
                "server": server,
                "op": put.op,
                "mb_s": round(put.mb_s),
                "dd_mb_s": round(report.disk.median),
                "ratio": round(r, 3),
                "verdict": verdict(r >= DISK_FRACTION_TARGET) if server == OURS else "info",
            }
        )
    return out


def peak_mb(phases: dict[str, dict[str, Any]]) -> tuple[float, str]:
    """The highest RSS (sampled, or the kernel's peak) over all phases, and its phase."""
    best, where = 0.0, ""
    for name, values in phases.items():
        top = max(values.get("rss_peak_mb") or 0.0, values.get("hwm_mb") or 0.0)
        if top > best:
            best, where = top, name
    return best, where


def memory(report: Report) -> list[Check]:
    """Our server's RSS under RSS_LIMIT_MB throughout; moto's peak for reference."""
    out = []
    for server, phases in report.memory.items():
        top, where = peak_mb(phases)
        judged = server in (OURS, NOFSYNC)
        pss = [v["pss_peak_mb"] for v in phases.values() if v.get("pss_peak_mb") is not None]
        out.append(
            {
                "target": "RSS < 200 MB",
                "server": server,
                "peak_mb": round(top),
                "phase": where,
                "pss_peak_mb": round(max(pss)) if pss else None,
                "verdict": verdict(top < RSS_LIMIT_MB) if judged else "info",
            }
        )
    return out


def summary(report: Report) -> list[Check]:
    return (
        vs_moto(report) + vs_ceiling(report) + sendfile(report) + vs_disk(report) + memory(report)
    )
