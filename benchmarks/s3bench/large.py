"""Large objects: one object streamed from a file on disk by an httpx client (presigned PUT,
Content-Length set) and streamed back to nowhere by curl (-o /dev/null: a client that costs
little CPU, so the server's speed shows; httpx when curl is missing), timed, with the server's
CPU and memory; and dd conv=fsync on the same filesystem for the disk's sequential write speed."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import resource
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
from secretsbench.cpu import busy_cores_between, cpu_counters, tree_cpu_s
from secretsbench.model import BenchError, CpuUse

from .load import wait_quiet
from .loops import self_cpu_s
from .memory import RssSampler
from .model import Config, DiskRow, Report, S3Server, TransferRow
from .settings import BUSY_CORES, MIB
from .table import format_transfer

BLOCK = MIB  # what the client reads from the file and hands to the socket at a time
TIMEOUT = httpx.Timeout(600.0, connect=10.0)
DD_RATE = re.compile(r"(\d+) bytes .* copied, ([\d.]+) s")
_md5s: dict[tuple[Path, int], str] = {}


def source_file(cfg: Config, mib: int) -> Path:
    """A file of at least ``mib`` MiB of random-looking bytes (16 MiB of urandom, repeated),
    in the page cache once written."""
    path = cfg.workdir / "source.bin"
    if path.exists() and path.stat().st_size >= mib * MIB:
        return path
    pattern = os.urandom(16 * MIB)
    with path.open("wb") as out:
        for offset in range(0, mib * MIB, len(pattern)):
            out.write(pattern[: min(len(pattern), mib * MIB - offset)])
    return path


def md5_of(path: Path, size: int) -> str:
    """The MD5 of the first ``size`` bytes of ``path`` (the S3 ETag of that upload)."""
    if (path, size) not in _md5s:
        digest = hashlib.md5()  # noqa: S324 - S3's ETag
        for block in file_chunks(path, size):
            digest.update(block)
        _md5s[path, size] = digest.hexdigest()
    return _md5s[path, size]


def file_chunks(path: Path, size: int) -> Iterator[bytes]:
    with path.open("rb") as src:
        left = size
        while left:
            block = src.read(min(BLOCK, left))
            if not block:
                raise BenchError(f"{path} ended {left} bytes early")
            left -= len(block)
            yield block


def client_cpu_s() -> float:
    """CPU seconds of this process and of its waited-for children (curl)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return self_cpu_s() + kids.ru_utime + kids.ru_stime


class Timed:
    """Wall time and where the CPU went around one transfer (client = this process + curl)."""

    def __init__(self, pids: tuple[int, ...]) -> None:
        self.pids = pids
        self.seconds = 0.0
        self.cpu = CpuUse.of(0.0, 0.0, 0.0)

    def __enter__(self) -> Timed:
        self.cpu0, self.srv0, self.host0 = client_cpu_s(), tree_cpu_s(self.pids), cpu_counters()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        client = (client_cpu_s() - self.cpu0) / self.seconds
        server = (tree_cpu_s(self.pids) - self.srv0) / self.seconds
        self.cpu = CpuUse.of(client, server, busy_cores_between(self.host0, cpu_counters()))


def transfer_row(
    label: str, op: str, size: int, timed: Timed, sampler: RssSampler, phase: str, note: str = ""
) -> TransferRow:
    """The row of a transfer; starts the phase after it (so its kernel peak is read now)."""
    sampler.phase(f"after {phase}")
    mem = sampler.figures(phase)
    return TransferRow(
        label, op, size, timed.seconds, mem["rss_start_mb"], mem["rss_peak_mb"],
        mem.get("hwm_mb"), timed.cpu, note,
    )  # fmt: skip


def quietest(cfg: Config, report: Report, attempt: Callable[[str], TransferRow]) -> None:
    """Run a transfer (``attempt(phase suffix)``), again (up to cfg.retries times) while other
    work used more than BUSY_CORES; record and print the quietest run."""
    best: TransferRow | None = None
    tries = 0
    while tries <= cfg.retries and (best is None or best.cpu.other > BUSY_CORES):
        tries += 1
        if best is not None:
            print(f"    (other work used {best.cpu.other:.2f} cores: measuring again, "
                  f"try {tries})", flush=True)  # fmt: skip
        wait_quiet(cfg)
        row = attempt("" if tries == 1 else f" (try {tries})")
        if best is None or row.cpu.other < best.cpu.other:
            best = row
    assert best is not None  # noqa: S101 - at least one try
    best = dataclasses.replace(best, tries=tries)
    report.transfers.append(best)
    print(f"  {format_transfer(best)}", flush=True)


def put_large(
    cfg: Config, report: Report, server: S3Server, path: Path, size: int, key: str
) -> None:
    """PUT ``size`` bytes of ``path`` to ``key`` through a presigned URL, streamed by httpx
    (a repeated try replaces the object)."""
    url = server.presign("PUT", key)
    headers = {"Content-Length": str(size), "Content-Type": "application/octet-stream"}
    headers.update(server.headers)
    want = f'"{md5_of(path, size)}"'

    def attempt(suffix: str) -> TransferRow:
        phase = f"{size // MIB} MiB PUT{suffix}"
        server.sampler.phase(phase)
        with httpx.Client(timeout=TIMEOUT) as client, Timed(server.pids) as timed:
            answer = client.put(url, content=file_chunks(path, size), headers=headers)
        op = f"PUT {size // MIB} MiB"
        row = transfer_row(server.label, op, size, timed, server.sampler, phase, "httpx")
        if answer.status_code != 200:
            raise BenchError(f"{phase} to {server.label}: HTTP {answer.status_code}: "
                             f"{answer.text}")  # fmt: skip
        if answer.headers.get("etag") != want:
            raise BenchError(f"{phase}: ETag {answer.headers.get('etag')}, want {want}")
        return row

    quietest(cfg, report, attempt)


def fetch_curl(curl: str, url: str, headers: dict[str, str]) -> tuple[int, int]:
    """GET ``url`` with curl into /dev/null: (HTTP status, bytes received)."""
    argv = [curl, "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=600, check=False)
    if out.returncode != 0:
        raise BenchError(f"curl failed ({out.returncode}): {out.stderr.strip()}")
    status, got = out.stdout.split()
    return int(status), int(got)


def fetch_httpx(url: str, headers: dict[str, str]) -> tuple[int, int]:
    """GET ``url`` with httpx, streamed and dropped: (HTTP status, bytes received)."""
    got = 0
    with httpx.Client(timeout=TIMEOUT) as client, client.stream("GET", url, headers=headers) as r:
        for piece in r.iter_raw():
            got += len(piece)
        return r.status_code, got


def check_start(url: str, headers: dict[str, str], path: Path, what: str) -> None:
    """The first MiB (a Range GET) is the first MiB of what was sent."""
    answer = httpx.get(url, headers={**headers, "Range": f"bytes=0-{MIB - 1}"}, timeout=TIMEOUT)
    with path.open("rb") as src:
        want = src.read(MIB)
    if answer.status_code != 206 or answer.content != want:
        raise BenchError(
            f"{what}: the first MiB differs from what was sent "
            f"(HTTP {answer.status_code}, {len(answer.content)} bytes)"
        )


def get_large(
    cfg: Config, report: Report, label: str, url: str, pids: tuple[int, ...], sampler: RssSampler,
    path: Path, size: int, headers: dict[str, str] | None = None, note: str = "",
) -> None:  # fmt: skip
    """GET ``url`` (``size`` bytes, the start of ``path``), streamed to nowhere."""
    headers = headers or {}
    check_start(url, headers, path, f"{size // MIB} MiB GET from {label}")
    curl = shutil.which("curl")
    note = ", ".join(n for n in ("curl" if curl else "httpx", note) if n)

    def attempt(suffix: str) -> TransferRow:
        phase = f"{size // MIB} MiB GET{suffix}"
        sampler.phase(phase)
        with Timed(pids) as timed:
            status, got = fetch_curl(curl, url, headers) if curl else fetch_httpx(url, headers)
        row = transfer_row(label, f"GET {size // MIB} MiB", size, timed, sampler, phase, note)
        if status != 200 or got != size:
            raise BenchError(f"{phase} from {label}: HTTP {status}, {got} of {size} bytes")
        return row

    quietest(cfg, report, attempt)


def large_object(cfg: Config, report: Report, server: S3Server, mib: int) -> None:
    """PUT then GET one object of ``mib`` MiB; around the judged upload (ours, fsync on), dd
    before, between and after."""
    path, size = source_file(cfg, mib), mib * MIB
    md5_of(path, size)
    key = f"large-{mib}"
    with_dd = bool(server.fsync)
    if with_dd:
        disk(cfg, report, mib)
    put_large(cfg, report, server, path, size, key)
    if with_dd:
        disk(cfg, report, mib)
    url = server.presign("GET", key)
    get_large(
        cfg, report, server.label, url, server.pids, server.sampler, path, size, server.headers
    )
    server.boto.delete_object(Bucket=server.bucket, Key=key)
    if with_dd:
        disk(cfg, report, mib)


def dd_rate(where: Path, mib: int) -> float:
    """MB/s of dd if=/dev/zero bs=1M count=mib conv=fsync into ``where`` (dd's own timing)."""
    target = where / f"dd-{uuid.uuid4().hex[:6]}"
    argv = ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mib}", "conv=fsync"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    finally:
        target.unlink(missing_ok=True)
    match = DD_RATE.search(out.stderr)
    if out.returncode != 0 or not match:
        raise BenchError(f"dd failed ({out.returncode}): {out.stderr.strip()}")
    return int(match.group(1)) / float(match.group(2)) / 1e6


def disk(cfg: Config, report: Report, mib: int) -> None:
    """One more dd run; the report keeps every rate (the target uses their median)."""
    wait_quiet(cfg)
    rate = dd_rate(cfg.workdir, mib)
    rates = (*report.disk.rates_mb_s, rate) if report.disk else (rate,)
    report.disk = DiskRow(mib, rates)
    print(f"  dd if=/dev/zero bs=1M count={mib} conv=fsync: {rate:.0f} MB/s", flush=True)
