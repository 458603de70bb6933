"""Launch time: `POST /instances` to status RUNNING vs a plain `docker run -d`, in one run.

What is measured
----------------
* ``docker run``: ``docker run -d <busybox image> sleep 600``, timed from the command's
  start to its exit (the CLI returns once the container is started), ``--launches`` times.
* ``ours``: our server (SQLite, one worker, compute worker on) launching a ``basic-1``
  busybox instance with the same command: the time from sending ``POST /instances`` until a
  ``GET /instances/{id}`` (polled every 5 ms) says RUNNING, ``--launches`` times, one after
  the other.
* ``concurrent``: ``--concurrent`` launches sent at once (threads), each waited on until
  RUNNING; then all are terminated and the engine is checked for leftover containers.

Targets (issue 3): ours at most 1.5x docker's p50 and under 1 s p50; the concurrent launch
completes with no error and no leaked container.

Needs a running Docker Engine and the busybox image (`scripts/docker.sh`, then
`uv run thecloud images build busybox`). Run: ``uv run python benchmarks/compute_bench.py``.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from secretsbench.processes import free_port, http_server  # noqa: E402
from secretsbench.settings import HOST, PYTHON, SERVER_MODULE  # noqa: E402

from thecloud.adapters.teardown import release_installation  # noqa: E402

POLL_S = 0.005


def docker(*args: str) -> str:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def busybox_reference() -> str:
    refs = docker("images", "thecloud/busybox", "--format", "{{.Repository}}:{{.Tag}}")
    if not refs:
        sys.exit("no busybox image: run `uv run thecloud images build busybox` first")
    return refs.splitlines()[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_docker_runs(reference: str, count: int, label: str) -> list[float]:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        docker("run", "-d", "--label", label, reference, "sleep", "600")
        times.append(time.perf_counter() - start)
    ids = docker("ps", "-aq", "--filter", f"label={label}").split()
    if ids:
        docker("rm", "-f", *ids)
    return times


def until_running(client: httpx.Client, ident: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/instances/{ident}").json()["data"]["status"]
        if status == "RUNNING":
            return
        if status == "ERROR":
            raise RuntimeError(client.get(f"/instances/{ident}").json()["data"]["status_reason"])
        time.sleep(POLL_S)
    raise RuntimeError(f"instance {ident} not RUNNING after {timeout} s")


def launch(client: httpx.Client) -> float:
    body = {
        "name": f"b-{uuid.uuid4().hex[:10]}",
        "image": "busybox",
        "instance_type": "basic-1",
        "cmd": ["sleep", "600"],
    }
    start = time.perf_counter()
    r = client.post("/instances", json=body)
    r.raise_for_status()
    until_running(client, r.json()["data"]["id"])
    return time.perf_counter() - start


def terminate_all(client: httpx.Client) -> None:
    for item in client.get("/instances", params={"limit": 1000}).json()["data"]:
        client.delete(f"/instances/{item['id']}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and client.get("/instances").json()["meta"]["total"]:
        time.sleep(0.2)


def registered(base: str) -> httpx.Client:
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    r = httpx.post(
        f"{base}/auth/register",
        json={"email": email, "password": "Bench-pass-123", "name": "bench"},
    )
    r.raise_for_status()
    key = r.json()["data"]["api_key"]
    return httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60)


def concurrent_launches(client: httpx.Client, count: int) -> tuple[list[float], list[str]]:
    errors: list[str] = []

    def one(_: int) -> float:
        try:
            return launch(client)
        except Exception as exc:  # noqa: BLE001 - reported as a benchmark error
            errors.append(str(exc))
            return float("nan")

    with ThreadPoolExecutor(max_workers=count) as pool:
        times = list(pool.map(one, range(count)))
    return [t for t in times if t == t], errors


def row(name: str, times: list[float]) -> str:
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    ms = [p50 * 1000, p95 * 1000, max(times) * 1000]
    return f"{name:<28} {len(times):>4} " + " ".join(f"{v:>9.0f}" for v in ms)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--launches", type=int, default=20)
    parser.add_argument("--concurrent", type=int, default=50)
    args = parser.parse_args()
    reference = busybox_reference()
    installation = f"bench-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="compute-bench-"))
    port = free_port()
    env = {
        "THECLOUD_PORT": str(port), "THECLOUD_HOST": HOST,
        "THECLOUD_DATA_DIR": str(workdir / "data"),
        "THECLOUD_INSTALLATION_ID": installation, "THECLOUD_LOG_LEVEL": "warning",
        "THECLOUD_RATE_LIMIT_PER_IP": "1000000", "THECLOUD_RATE_LIMIT_PER_KEY": "1000000",
    }  # fmt: skip
    base = f"http://{HOST}:{port}"
    docker_times = time_docker_runs(reference, args.launches, f"thecloud.bench={installation}")
    with http_server(
        "thecloud", [PYTHON, "-m", SERVER_MODULE], f"{base}/health/ready", workdir, env
    ):
        client = registered(base)
        client.post("/instances", json={"name": "warmup", "image": "busybox", "cmd": ["true"]})
        terminate_all(client)
        ours = [launch(client) for _ in range(args.launches)]
        terminate_all(client)
        limits = {"instances": 1000, "vcpus": 1000, "memory_mb": 10**7}
        client.put("/quotas", json=limits).raise_for_status()
        together, errors = concurrent_launches(client, args.concurrent)
        terminate_all(client)
    leaked = docker("ps", "-aq", "--filter", f"label=thecloud.managed={installation}").split()
    asyncio.run(release_installation(installation, workdir / "data"))  # counted first
    print(f"\nlaunch to running, {reference}, ms")
    print(f"{'':<28} {'n':>4} {'p50':>9} {'p95':>9} {'max':>9}")
    print(row("docker run -d", docker_times))
    print(row("POST /instances -> RUNNING", ours))
    print(
        row(f"{args.concurrent} at once -> RUNNING", together)
        if together
        else "no concurrent launch ran"
    )
    ratio = statistics.median(ours) / statistics.median(docker_times)
    ok_ratio, ok_abs = ratio <= 1.5, statistics.median(ours) < 1.0
    print(f"\nours / docker p50: {ratio:.2f}x (target <= 1.5x) {'PASS' if ok_ratio else 'FAIL'}")
    print(f"ours p50 under 1 s: {'PASS' if ok_abs else 'FAIL'}")
    done = f"{len(together)}/{args.concurrent} running"
    print(f"concurrent: {done}, {len(errors)} errors, {len(leaked)} leaked containers")
    for e in errors[:5]:
        print("  error:", e)
    return 0 if not errors and not leaked else 1


if __name__ == "__main__":
    sys.exit(main())
