"""VPC create+delete and launch-into-a-VPC latency vs the Docker calls they rest on, in one run.

What is measured
----------------
* ``docker network create + rm``: ``docker network create --subnet <range> <name>`` then
  ``docker network rm <name>``, each pair timed from the first command's start to the second's
  exit, ``--rounds`` times (CLI round trips, as a user would script it).
* ``POST /vpcs + DELETE``: our server (SQLite, one worker) creating a VPC (its bridge network,
  a row, a default security group) and deleting it again, timed over HTTP, ``--rounds`` times.
* ``docker run --network``: ``docker run -d --network <net> --ip <addr> <busybox> sleep 600``
  into a prepared bridge network, from start to exit.
* ``POST /instances (subnet) -> RUNNING``: our launch into a subnet (IPAM, security group
  membership, the firewall policy synced before the container starts): from sending the
  request until a ``GET`` (polled every 5 ms) says RUNNING.

Targets (issue 4): VPC create+delete within 1.3x of docker network create+rm and under 0.4 s
p50. Anchors: OpenStack Neutron create+delete network median 0.38 s; docker network create +
rm about 0.28 s p50 on these machines.

Needs root, a running Docker Engine and the busybox image (`scripts/docker.sh`, then
`uv run thecloud images build busybox`). Run: ``uv run python benchmarks/network_bench.py``.
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
from compute_bench import (  # noqa: E402
    busybox_reference,
    docker,
    percentile,
    registered,
    terminate_all,
    until_running,
)
from secretsbench.processes import free_port, http_server  # noqa: E402
from secretsbench.settings import HOST, PYTHON, SERVER_MODULE  # noqa: E402

from thecloud.adapters.teardown import release_installation  # noqa: E402

BENCH_RANGE = "10.250.0.0/16"  # used by the docker rows only, removed after each round


def time_docker_networks(rounds: int, label: str) -> list[float]:
    times = []
    for _ in range(rounds):
        name = f"bench-{uuid.uuid4().hex[:10]}"
        start = time.perf_counter()
        docker("network", "create", "--label", label, "--subnet", BENCH_RANGE, name)
        docker("network", "rm", name)
        times.append(time.perf_counter() - start)
    return times


def time_docker_runs(reference: str, rounds: int, label: str) -> list[float]:
    name = f"bench-{uuid.uuid4().hex[:10]}"
    docker("network", "create", "--label", label, "--subnet", BENCH_RANGE, name)
    times = []
    try:
        for n in range(rounds):
            ip = f"10.250.1.{n + 2}"
            start = time.perf_counter()
            docker(
                "run",
                "-d",
                "--label",
                label,
                "--network",
                name,
                "--ip",
                ip,
                reference,
                "sleep",
                "600",
            )
            times.append(time.perf_counter() - start)
    finally:
        ids = docker("ps", "-aq", "--filter", f"label={label}").split()
        if ids:
            docker("rm", "-f", *ids)
        docker("network", "rm", name)
    return times


def vpc_round(client: httpx.Client) -> float:
    start = time.perf_counter()
    r = client.post("/vpcs", json={"name": f"b-{uuid.uuid4().hex[:10]}"})
    r.raise_for_status()
    d = client.delete(f"/vpcs/{r.json()['data']['id']}")
    if d.status_code != 204:
        raise RuntimeError(d.text)
    return time.perf_counter() - start


def launch_into(client: httpx.Client, subnet: str) -> float:
    body = {
        "name": f"b-{uuid.uuid4().hex[:10]}",
        "image": "busybox",
        "instance_type": "basic-1",
        "subnet_id": subnet,
        "cmd": ["sleep", "600"],
    }
    start = time.perf_counter()
    r = client.post("/instances", json=body)
    r.raise_for_status()
    until_running(client, r.json()["data"]["id"])
    return time.perf_counter() - start


def row(name: str, times: list[float]) -> str:
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    ms = [p50 * 1000, p95 * 1000, max(times) * 1000]
    return f"{name:<40} {len(times):>4} " + " ".join(f"{v:>9.0f}" for v in ms)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    reference = busybox_reference()
    installation = f"bench-{uuid.uuid4().hex[:8]}"
    label = f"thecloud.bench={installation}"
    workdir = Path(tempfile.mkdtemp(prefix="network-bench-"))
    port = free_port()
    env = {
        "THECLOUD_PORT": str(port), "THECLOUD_HOST": HOST,
        "THECLOUD_DATA_DIR": str(workdir / "data"),
        "THECLOUD_INSTALLATION_ID": installation, "THECLOUD_LOG_LEVEL": "warning",
        "THECLOUD_RATE_LIMIT_PER_IP": "1000000", "THECLOUD_RATE_LIMIT_PER_KEY": "1000000",
    }  # fmt: skip
    base = f"http://{HOST}:{port}"
    docker_nets = time_docker_networks(args.rounds, label)
    docker_runs = time_docker_runs(reference, args.rounds, label)
    with http_server(
        "thecloud", [PYTHON, "-m", SERVER_MODULE], f"{base}/health/ready", workdir, env
    ):
        client = registered(base)
        client.put("/quotas", json={"instances": 1000, "vcpus": 1000, "memory_mb": 10**7})
        vpc_round(client)  # warm-up
        ours_vpc = [vpc_round(client) for _ in range(args.rounds)]
        vpc = client.post("/vpcs", json={"name": "bench"}).json()["data"]
        cidr = vpc["cidr_block"].rsplit(".", 2)[0] + ".1.0/24"
        subnet = client.post(
            f"/vpcs/{vpc['id']}/subnets", json={"name": "s", "cidr_block": cidr}
        ).json()["data"]["id"]
        ours_run = [launch_into(client, subnet) for _ in range(args.rounds)]
        terminate_all(client)
        client.delete(f"/vpcs/{vpc['id']}", params={"force": "true"})
        deadline = time.monotonic() + 60
        while client.get("/vpcs").json()["meta"]["total"] and time.monotonic() < deadline:
            time.sleep(0.2)
    leaked_c = docker("ps", "-aq", "--filter", f"label=thecloud.managed={installation}").split()
    leaked_n = docker("network", "ls", "-q", "--filter", f"label=thecloud.managed={installation}")
    asyncio.run(release_installation(installation, workdir / "data"))  # counted first
    print("\nms")
    print(f"{'':<40} {'n':>4} {'p50':>9} {'p95':>9} {'max':>9}")
    print(row("docker network create + rm", docker_nets))
    print(row("POST /vpcs + DELETE /vpcs/{id}", ours_vpc))
    print(row("docker run -d --network --ip", docker_runs))
    print(row("POST /instances (subnet) -> RUNNING", ours_run))
    ratio = statistics.median(ours_vpc) / statistics.median(docker_nets)
    run_ratio = statistics.median(ours_run) / statistics.median(docker_runs)
    ok_ratio, ok_abs = ratio <= 1.3, statistics.median(ours_vpc) < 0.4
    print(f"\nVPC create+delete / docker p50: {ratio:.2f}x (target <= 1.3x) "
          f"{'PASS' if ok_ratio else 'FAIL'}")  # fmt: skip
    print(f"VPC create+delete p50 under 0.4 s: {'PASS' if ok_abs else 'FAIL'} "
          "(Neutron anchor: 0.38 s median)")  # fmt: skip
    print(f"launch into a subnet / docker run --network p50: {run_ratio:.2f}x")
    print(f"leftovers: {len(leaked_c)} containers, {len(leaked_n.split())} networks")
    subprocess.run(["rm", "-rf", str(workdir)], check=False)
    return 0 if ok_ratio and ok_abs and not leaked_c and not leaked_n else 1


if __name__ == "__main__":
    sys.exit(main())
