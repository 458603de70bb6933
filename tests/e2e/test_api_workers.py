"""Several server processes on one port: what one process changes, every process enforces."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import Server, assert_error

Spawn = Callable[..., Server]


def fresh_call(server: Server, key: str) -> httpx.Response:
    """A request on a new connection (the kernel picks the process that accepts it)."""
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as c:
        return c.get("/auth/me")


def s3_clients(server: Server, key_id: str, secret: str) -> Callable[[], Any]:
    """boto3 clients with this key pair, each on a new connection pool (the kernel picks the
    process that accepts it)."""

    def fresh() -> Any:
        return boto3.client(
            "s3", endpoint_url=server.s3_url, region_name="us-east-1",
            aws_access_key_id=key_id, aws_secret_access_key=secret,
        )  # fmt: skip

    return fresh


def test_a_revocation_in_one_process_holds_in_every_process(spawn: Spawn) -> None:
    server = spawn(THECLOUD_WORKERS="2")
    user = server.register("multi")
    with httpx.Client(base_url=server.url, headers={"X-API-Key": user["api_key"]}) as c:
        created = c.post("/auth/keys", json={"name": "short-lived"}).json()["data"]
    key = created["key"]
    assert all(fresh_call(server, key).status_code == 200 for _ in range(20))  # both cached
    with httpx.Client(base_url=server.url, headers={"X-API-Key": user["api_key"]}) as c:
        assert c.delete(f"/auth/keys/{created['id']}").status_code == 204
    for _ in range(20):
        assert_error(fresh_call(server, key), 401, "UNAUTHORIZED")


def test_a_revoked_s3_key_fails_in_every_process_at_once(spawn: Spawn) -> None:
    server = spawn(THECLOUD_WORKERS="2")
    user = server.register("s3multi")
    key_id, secret = server.s3_credentials(user)
    fresh_s3 = s3_clients(server, key_id, secret)

    for _ in range(20):
        fresh_s3().list_buckets()  # both processes have the key cached
    with server.api(user) as api:
        assert api.delete(f"/storage/credentials/{key_id}").status_code == 200
    for _ in range(20):
        with pytest.raises(ClientError) as exc:
            fresh_s3().list_buckets()
        assert exc.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_lockout_is_shared_by_every_process(spawn: Spawn) -> None:
    server = spawn(THECLOUD_WORKERS="2", THECLOUD_LOGIN_MAX_FAILURES="3")
    user = server.register("locked")
    wrong = {"email": user["email"], "password": "wrong-password-1"}
    for _ in range(3):
        with httpx.Client(base_url=server.url) as c:  # a new connection each time
            assert c.post("/auth/login", json=wrong).status_code == 401
    right = {"email": user["email"], "password": user["password"]}
    for _ in range(6):
        with httpx.Client(base_url=server.url) as c:
            assert_error(c.post("/auth/login", json=right), 429, "ACCOUNT_LOCKED")


def test_every_process_reads_what_another_just_wrote(spawn: Spawn, store: dict[str, str]) -> None:
    """GET and HEAD keep what they looked up until the next commit by any process: a write
    through one process is what the next read through either one returns, with no wait."""
    server = spawn(THECLOUD_WORKERS="2", **store)
    user = server.register("s3rw")
    key_id, secret = server.s3_credentials(user)
    fresh_s3 = s3_clients(server, key_id, secret)

    fresh_s3().create_bucket(Bucket="rw-everywhere")
    for round_ in range(5):
        body = f"version {round_}".encode()
        fresh_s3().put_object(Bucket="rw-everywhere", Key="k", Body=body)
        for _ in range(8):  # both processes read it, and keep it
            assert fresh_s3().get_object(Bucket="rw-everywhere", Key="k")["Body"].read() == body
    fresh_s3().delete_object(Bucket="rw-everywhere", Key="k")
    for _ in range(8):
        with pytest.raises(ClientError) as exc:
            fresh_s3().head_object(Bucket="rw-everywhere", Key="k")
        assert exc.value.response["Error"]["Code"] == "404"

    fresh_s3().put_object(Bucket="rw-everywhere", Key="open", Body=b"for anyone")
    fresh_s3().put_bucket_acl(Bucket="rw-everywhere", ACL="public-read")
    for _ in range(8):  # an anonymous read in both processes: the bucket is kept public
        assert httpx.get(f"{server.s3_url}/rw-everywhere/open").content == b"for anyone"
    fresh_s3().put_bucket_acl(Bucket="rw-everywhere", ACL="private")
    for _ in range(8):
        assert httpx.get(f"{server.s3_url}/rw-everywhere/open").status_code == 403


def test_every_process_lists_the_secret_another_just_made(
    spawn: Spawn, store: dict[str, str]
) -> None:
    """A page of secrets is kept until the next commit by any process: a secret made or
    deleted through one process shows in the next list through either one."""
    server = spawn(THECLOUD_WORKERS="2", **store)
    user = server.register("lists")

    def names() -> list[str]:  # on a new connection: the kernel picks the process
        with httpx.Client(base_url=server.url, headers={"X-API-Key": user["api_key"]}) as c:
            return sorted(s["name"] for s in c.get("/secrets").json()["data"])

    made: list[str] = []
    for i in range(4):
        with httpx.Client(base_url=server.url, headers={"X-API-Key": user["api_key"]}) as c:
            assert c.post("/secrets", json={"name": f"s{i}", "value": "v"}).status_code == 201
        made.append(f"s{i}")
        assert all(names() == made for _ in range(8))  # both processes list (and keep) it
    with httpx.Client(base_url=server.url, headers={"X-API-Key": user["api_key"]}) as c:
        assert c.delete("/secrets/s0").status_code == 204
    assert all(names() == made[1:] for _ in range(8))


def test_every_process_reads_the_value_another_just_changed(
    spawn: Spawn, store: dict[str, str]
) -> None:
    """A secret read is kept until the next commit by any process: a new value or a
    deletion through one process is what the next read through either one sees."""
    server = spawn(THECLOUD_WORKERS="2", **store)
    user = server.register("reads")

    def fresh() -> httpx.Client:  # a new connection: the kernel picks the process
        return httpx.Client(base_url=server.url, headers={"X-API-Key": user["api_key"]})

    with fresh() as c:
        assert c.post("/secrets", json={"name": "db-url", "value": "v0"}).status_code == 201
    for round_ in range(1, 4):
        for _ in range(8):  # both processes read it, and keep it
            with fresh() as c:
                assert c.get("/secrets/db-url").json()["data"]["value"] == f"v{round_ - 1}"
        with fresh() as c:
            assert c.put("/secrets/db-url", json={"value": f"v{round_}"}).status_code == 200
    for _ in range(8):
        with fresh() as c:
            assert c.get("/secrets/db-url").json()["data"]["value"] == "v3"
    with fresh() as c:
        assert c.delete("/secrets/db-url").status_code == 204
    for _ in range(8):
        with fresh() as c:
            assert c.get("/secrets/db-url").status_code == 404


def test_puts_that_arrive_together_in_both_processes_are_each_read_after_write(
    spawn: Spawn, store: dict[str, str]
) -> None:
    """Eight clients put at once through two processes. Puts that arrive together share a
    transaction (on SQLite, one COMMIT and one fsync for a group): each is readable through
    either process as soon as it is answered, none is lost or mixed up with another, and
    every one is in the audit log."""
    server = spawn(THECLOUD_WORKERS="2", **store)
    user = server.register("s3group")
    key_id, secret = server.s3_credentials(user)
    fresh_s3 = s3_clients(server, key_id, secret)

    fresh_s3().create_bucket(Bucket="together")

    def client(i: int) -> list[str]:
        mine, reader = fresh_s3(), fresh_s3()
        keys = []
        for j in range(12):
            key, body = f"c{i}/k{j}", f"client {i} put {j} ".encode() * 50  # 800+ bytes
            mine.put_object(Bucket="together", Key=key, Body=body)
            assert reader.get_object(Bucket="together", Key=key)["Body"].read() == body
            mine.put_object(Bucket="together", Key="shared", Body=body)  # one key, all at once
            keys.append(key)
        return keys

    with ThreadPoolExecutor(8) as pool:
        put = sorted(k for keys in pool.map(client, range(8)) for k in keys)
    listed = [
        o["Key"]
        for page in fresh_s3().get_paginator("list_objects_v2").paginate(Bucket="together")
        for o in page.get("Contents", [])
    ]
    assert sorted(listed) == sorted([*put, "shared"])
    bodies = {f"client {i} put {j} ".encode() * 50 for i in range(8) for j in range(12)}
    assert fresh_s3().get_object(Bucket="together", Key="shared")["Body"].read() in bodies
    with server.api(user) as api:
        audited = api.get("/audit", params={"action": "s3:PutObject", "limit": 1}).json()
    assert audited["meta"]["total"] == 8 * 12 * 2


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def anonymous_kb(pid: int) -> tuple[int, int]:
    """(anonymous memory the process maps, its proportional share of it), in kB."""
    rollup = {
        line.split(":")[0]: int(line.split()[1])
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]
    }
    return rollup["Anonymous"], rollup["Pss_Anon"]


def listening(pid: int, port: int) -> bool:
    """Whether the process holds a socket listening on `port` (its own: SO_REUSEPORT)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fds / fd) in inodes for fd in os.listdir(fds))
    except OSError:
        return False


def serving_workers(server: Server, count: int) -> list[int]:
    """The server's worker processes, once there are `count` and each listens on both ports
    (a worker opens its sockets when its platform is built)."""
    ports = (int(server.url.rsplit(":", 1)[1]), int(server.s3_url.rsplit(":", 1)[1]))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = [
            pid for pid in children(server.process.pid) if all(listening(pid, p) for p in ports)
        ]
        if len(workers) == count:
            return workers
        time.sleep(0.2)
    raise AssertionError(f"expected {count} serving workers, found {children(server.process.pid)}")


def test_workers_are_forked_from_the_prepared_server_and_share_its_memory(
    spawn: Spawn,
) -> None:
    """The server prepares the store, which imports the whole platform, then forks its
    workers: much of each worker's memory is pages it shares with the server and the other
    worker. A worker killed with SIGKILL is forked again, shares as much, and serves."""
    server = spawn(THECLOUD_WORKERS="2")
    workers = serving_workers(server, 2)
    for pid in workers:
        anonymous, share = anonymous_kb(pid)
        assert share < 0.8 * anonymous, f"worker {pid}: {share} of {anonymous} kB its own"

    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 60
    while workers[0] in children(server.process.pid):
        assert time.monotonic() < deadline, "the killed worker was not reaped"
        time.sleep(0.2)
    replaced = [pid for pid in serving_workers(server, 2) if pid not in workers]
    assert len(replaced) == 1
    anonymous, share = anonymous_kb(replaced[0])
    assert share < 0.8 * anonymous
    user = server.register("after-restart")
    for _ in range(10):  # both workers, the new one too, answer a signed-in call
        assert fresh_call(server, user["api_key"]).status_code == 200
