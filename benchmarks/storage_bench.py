"""Block storage: snapshot time of a full 1 GiB volume, and sequential write throughput inside an
instance to an attached volume vs the same `dd` on the host filesystem, in one run.

What is measured
----------------
* ``snapshot``: ``POST /snapshots`` of a 1 GiB volume filled to the brim (about 1 GiB of
  random data written inside an instance), timed over HTTP, ``--rounds`` times (each snapshot
  deleted after). Target (issue 5): under 1 s (copy-on-write).
* ``dd in the instance``: ``dd if=/dev/zero of=/data/f bs=1M count=N conv=fsync`` inside a
  busybox instance, /data being an attached volume (`docker exec`), ``--rounds`` times.
* ``dd on the host``: the same command on the host, into a directory on the filesystem that
  holds the platform's data directory. Both are timed by the wall clock (busybox dd prints no
  rate), after one warm-up write each (the first write allocates the volume's sparse image).
Target: the instance's throughput at least 80% of the host's (median of the rounds).

Needs root, a running Docker Engine and the busybox image (`scripts/setup.sh`). Run:
``uv run python benchmarks/storage_bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compute_bench import registered, until_running  # noqa: E402
from secretsbench.processes import free_port, http_server  # noqa: E402
from secretsbench.settings import HOST, PYTHON, SERVER_MODULE  # noqa: E402

from thecloud.adapters.teardown import release_installation  # noqa: E402


def timed(argv: list[str], count: int) -> float:
    """MB/s of a command that writes `count` MiB, by the wall clock (busybox dd prints no
    rate); the host and the instance are measured the same way."""
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, text=True, check=True)
    return count * 1.048576 / (time.perf_counter() - start)


def dd_host(where: Path, count: int) -> float:
    target = where / f"bench-{uuid.uuid4().hex[:6]}"
    rate = timed(
        ["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={count}", "conv=fsync"], count
    )
    target.unlink()
    return rate


def dd_instance(container: str, count: int) -> float:
    script = f"dd if=/dev/zero of=/data/f bs=1M count={count} conv=fsync 2>/dev/null"
    rate = timed(["docker", "exec", container, "sh", "-c", script], count)
    subprocess.run(["docker", "exec", container, "rm", "-f", "/data/f"], check=True)
    return rate


def launch_with(client: httpx.Client, volume: str) -> str:
    body = {
        "name": f"b-{uuid.uuid4().hex[:8]}", "image": "busybox", "instance_type": "standard-1",
        "cmd": ["sleep", "3600"], "volumes": [{"volume_id": volume, "mount_path": "/data"}],
    }  # fmt: skip
    r = client.post("/instances", json=body)
    r.raise_for_status()
    ident = r.json()["data"]["id"]
    until_running(client, ident)
    return str(client.get(f"/instances/{ident}").json()["data"]["container_id"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mb", type=int, default=1024, help="MiB written by each dd")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="storage-bench-"))
    installation = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        "THECLOUD_PORT": str(port), "THECLOUD_HOST": HOST,
        "THECLOUD_DATA_DIR": str(workdir / "data"), "THECLOUD_INSTALLATION_ID": installation,
        "THECLOUD_LOG_LEVEL": "warning", "THECLOUD_STORAGE_POOL_GB": "20",
        "THECLOUD_RATE_LIMIT_PER_IP": "1000000", "THECLOUD_RATE_LIMIT_PER_KEY": "1000000",
    }  # fmt: skip
    base = f"http://{HOST}:{port}"
    snaps: list[float] = []
    inside: list[float] = []
    host: list[float] = []
    try:
        with http_server(
            "thecloud", [PYTHON, "-m", SERVER_MODULE], f"{base}/health/ready", workdir, env
        ):
            client = registered(base)
            client.post("/volumes", json={"name": "full", "size_gb": 1}).raise_for_status()
            client.post("/volumes", json={"name": "io", "size_gb": 2}).raise_for_status()
            full = launch_with(client, "full")
            subprocess.run(
                ["docker", "exec", full, "sh", "-c",
                 "dd if=/dev/urandom of=/data/fill bs=1M count=2000 2>/dev/null; sync"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            for _ in range(args.rounds):
                start = time.perf_counter()
                r = client.post("/snapshots", json={"volume_id": "full"})
                snaps.append(time.perf_counter() - start)
                r.raise_for_status()
                client.delete(f"/snapshots/{r.json()['data']['id']}")
            io = launch_with(client, "io")
            dd_instance(io, args.mb)  # warm-up: the first write allocates the sparse image
            dd_host(workdir, args.mb)
            for _ in range(args.rounds):
                inside.append(dd_instance(io, args.mb))
                host.append(dd_host(workdir, args.mb))
            for item in client.get("/instances").json()["data"]:
                client.delete(f"/instances/{item['id']}")
    finally:
        asyncio.run(release_installation(installation, workdir / "data"))
        subprocess.run(["rm", "-rf", str(workdir)], check=False)
    snap_p50 = statistics.median(snaps)
    ratio = statistics.median(inside) / statistics.median(host)
    print("\nsnapshot of a full 1 GiB volume (POST /snapshots), ms")
    print(f"  n={len(snaps)}  p50 {snap_p50 * 1000:.0f}  max {max(snaps) * 1000:.0f}"
          f"  (target < 1000) {'PASS' if snap_p50 < 1.0 else 'FAIL'}")  # fmt: skip
    print(f"\nsequential write, {args.mb} MiB, bs=1M, conv=fsync, MB/s (median of {args.rounds})")
    for label, rates in (("dd on the host filesystem", host), ("dd in an instance", inside)):
        print(f"  {label:<28} {statistics.median(rates):8.0f}  {sorted(round(x) for x in rates)}")
    print(f"  instance / host: {ratio:.0%} (target >= 80%) {'PASS' if ratio >= 0.8 else 'FAIL'}")
    return 0 if snap_p50 < 1.0 and ratio >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
