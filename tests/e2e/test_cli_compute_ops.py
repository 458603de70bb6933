"""`cloud instance` on a live instance, as a subprocess against the running server and the
real engine: pause/resume, resize, tags, exec, stats, logs -f, stats --watch and the console;
and the SDK's console session and log stream."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server
from tests.e2e.test_api_compute import busybox_built, docker  # noqa: F401 - its check runs here
from tests.e2e.test_cli_sdk import PASSWORD, Cli, email
from thecloud.sdk import AsyncClient, Client, ConsoleSession

MiB = 1024 * 1024


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    cli = Cli(server, tmp_path)
    cli.ok("auth", "register", "--email", email("ops"), "--name", "Ops", "--password", PASSWORD)
    return cli


@pytest.fixture
def vm(cli: Cli) -> Iterator[dict[str, str]]:
    """A running busybox instance (basic-1, tagged team=ops); terminated at the end."""
    name = f"ops-{uuid.uuid4().hex[:8]}"
    args = ["-i", "busybox", "-t", "basic-1", "-l", "team=ops", "--wait", "-o", "json"]
    cmd = ["sh", "-c", "echo booted; exec sleep 600"]
    out = cli.ok("instance", "launch", name, *args, "--", *cmd)
    launched = json.loads(out)
    yield launched
    cli.ok("instance", "terminate", name, "--wait")
    assert docker("ps", "-aq", "--filter", f"id={launched['container_id']}") == ""


class Lines:
    """A running `cloud` command whose stdout lines are read by a thread, so waits end."""

    def __init__(self, cli: Cli, *args: str) -> None:
        command = [sys.executable, "-m", "thecloud.entrypoints.cli.main", *args]
        self.process = subprocess.Popen(
            command, env=cli.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next(self, timeout: float = 20.0) -> str:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise AssertionError(f"no line in {timeout} s; stderr: {err}") from None

    def wait_for(self, text: str, timeout: float = 20.0) -> list[str]:
        seen, deadline = [], time.monotonic() + timeout
        while text not in seen:
            seen.append(self.next(max(deadline - time.monotonic(), 0.01)))
        return seen

    def stop(self) -> None:
        self.process.kill()
        self.process.communicate(timeout=10)


@pytest.fixture
def started() -> Iterator[list[Lines]]:
    running: list[Lines] = []
    yield running
    for lines in running:
        lines.stop()


def test_pause_resume_and_resize_reach_the_container(cli: Cli, vm: dict[str, str]) -> None:
    name, container = vm["name"], vm["container_id"]
    assert json.loads(cli.ok("instance", "pause", name, "-o", "json"))["status"] == "PAUSED"
    assert docker("inspect", "-f", "{{.State.Status}}", container) == "paused"
    again = cli("instance", "pause", name)
    assert again.returncode == 1 and again.stderr.startswith("Error [CONFLICT]: "), again.stderr
    assert json.loads(cli.ok("instance", "resume", name, "-o", "json"))["status"] == "RUNNING"
    assert docker("inspect", "-f", "{{.State.Status}}", container) == "running"
    resized = json.loads(cli.ok("instance", "resize", name, "--type", "standard-2", "-o", "json"))
    assert (resized["instance_type"], resized["vcpus"], resized["memory_mb"]) == (
        "standard-2", 2, 4096,
    )  # fmt: skip
    limits = docker("inspect", "-f", "{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}", container)
    assert limits == f"{2 * 10**9} {4096 * MiB}"


def test_tags_metadata_and_the_label_filter(cli: Cli, vm: dict[str, str]) -> None:
    name = vm["name"]
    assert "tier" in cli.ok("instance", "tag", name, "tier=web")
    assert json.loads(cli.ok("instance", "tags", name, "-o", "json")) == {
        "team": "ops", "tier": "web",
    }  # fmt: skip
    listed = json.loads(
        cli.ok("instance", "list", "-l", "tier=web", "-l", "team=ops", "-o", "json")
    )
    assert [i["name"] for i in listed] == [name]
    assert json.loads(cli.ok("instance", "untag", name, "team", "-o", "json")) == {"tier": "web"}
    assert json.loads(cli.ok("instance", "list", "--label", "team=ops", "-o", "json")) == []
    meta = cli.ok("instance", "metadata", name, "owner=ann", "-o", "json")
    assert json.loads(meta) == {"owner": "ann"}
    assert json.loads(cli.ok("instance", "get", name, "-o", "json"))["metadata"] == {"owner": "ann"}


def test_exec_prints_both_streams_and_exits_with_the_command_code(
    cli: Cli, vm: dict[str, str]
) -> None:
    done = cli("instance", "exec", vm["name"], "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
    inside = cli.ok("instance", "exec", vm["name"], "--", "cat", "/proc/1/cmdline")
    assert "echo booted; exec sleep 600" in inside  # the instance's own command line


def test_stats_show_the_memory_limit_and_watch_repeats(
    cli: Cli, vm: dict[str, str], started: list[Lines]
) -> None:
    table = cli.ok("instance", "stats", vm["name"]).splitlines()
    assert table[0].split()[:4] == ["CPU", "%", "MEMORY", "LIMIT"]
    assert table[1].split()[2] == "512.0MiB"
    sample = json.loads(cli.ok("instance", "stats", vm["name"], "-o", "json"))
    assert sample["memory_limit_bytes"] == 512 * MiB and sample["pids"] >= 1
    started.append(Lines(cli, "instance", "stats", vm["name"], "--watch", "-o", "json"))
    first, second = (json.loads(started[0].next()) for _ in range(2))
    assert first["at"] < second["at"] and second["memory_limit_bytes"] == 512 * MiB


def test_logs_follow_prints_a_line_written_after_it_started(
    cli: Cli, vm: dict[str, str], started: list[Lines]
) -> None:
    started.append(Lines(cli, "instance", "logs", vm["name"], "-f"))
    assert started[0].wait_for("booted")  # written before: the follow has begun
    mark = f"written-later-{uuid.uuid4().hex[:6]}"
    cli.ok("instance", "exec", vm["name"], "--", "sh", "-c", f"echo {mark} > /proc/1/fd/1")
    assert started[0].wait_for(mark)[-1] == mark


def test_console_runs_piped_input_in_a_shell(cli: Cli, vm: dict[str, str]) -> None:
    done = cli("instance", "console", vm["name"], stdin="echo $((6*7))\nexit\n")
    assert done.returncode == 0, done.stderr
    assert "42" in [line.strip() for line in done.stdout.splitlines()], done.stdout


def test_console_of_a_paused_instance_is_refused(cli: Cli, vm: dict[str, str]) -> None:
    cli.ok("instance", "pause", vm["name"])
    done = cli("instance", "console", vm["name"], stdin="exit\n")
    assert done.returncode == 1 and done.stderr.startswith("Error [CONFLICT]: "), done.stderr
    cli.ok("instance", "resume", vm["name"])


class Screen:
    """The far side of a pseudo-terminal: what the program wrote, read with deadlines. Like a
    real terminal it answers cursor-position queries (busybox's shell asks one at start)."""

    def __init__(self, fd: int) -> None:
        self.fd, self.seen = fd, b""

    def resize(self, rows: int, cols: int) -> None:
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def expect(self, text: bytes, timeout: float = 20.0, start: int = 0) -> None:
        """Wait until `text` shows up in the output from position `start` on."""
        deadline = time.monotonic() + timeout
        while text not in self.seen[start:]:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in {timeout} s: {self.seen[-300:]!r}"
            if select.select([self.fd], [], [], left)[0]:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:  # EIO: the program has closed the terminal
                    chunk = b""
                assert chunk, f"terminal closed before {text!r}: {self.seen[-300:]!r}"
                self.seen += chunk
                if b"\x1b[6n" in chunk:
                    os.write(self.fd, b"\x1b[1;1R")


def test_console_on_a_terminal_is_raw_follows_its_size_and_leaves_on_ctrl_bracket(
    cli: Cli, vm: dict[str, str]
) -> None:
    leader, follower = os.openpty()
    screen = Screen(leader)
    screen.resize(30, 100)
    before = termios.tcgetattr(follower)
    env = {k: v for k, v in cli.env.items() if k not in ("COLUMNS", "LINES")}
    command = [sys.executable, "-m", "thecloud.entrypoints.cli.main", "instance", "console"]
    attached = subprocess.Popen(
        [*command, vm["name"]], stdin=follower, stdout=follower, stderr=follower, env=env
    )
    try:
        screen.expect(b"Escape character is '^]'.")
        screen.expect(b"# ")  # the shell's prompt: type only once it reads
        os.write(leader, b"stty size\r")
        screen.expect(b"30 100")
        screen.resize(40, 120)
        attached.send_signal(signal.SIGWINCH)
        # The resize reaches the engine by its own API call, beside the typed bytes: ask
        # again until the shell sees the new size, as a person would look again.
        deadline = time.monotonic() + 20
        while b"40 120" not in screen.seen:
            assert time.monotonic() < deadline, f"never resized: {screen.seen[-300:]!r}"
            mark = len(screen.seen)
            os.write(leader, b"stty size\r")
            screen.expect(b"\r\n/ # ", start=mark)  # its answer, then the next prompt
            time.sleep(0.2)
        os.write(leader, b"\x1d")  # no newline: only a terminal in raw mode passes it on at once
        assert attached.wait(20) == 0
        assert termios.tcgetattr(follower) == before
    finally:
        attached.kill()
        attached.wait(10)
        os.close(follower)
        os.close(leader)


def read_to_the_end(term: ConsoleSession, timeout: float = 20.0) -> bytes:
    out, deadline = b"", time.monotonic() + timeout
    while (chunk := term.recv(timeout=max(deadline - time.monotonic(), 0.01))) is not None:
        out += chunk
        assert time.monotonic() < deadline, f"the session did not end: {out[-300:]!r}"
    return out


async def first_line(url: str, key: str, ident: str) -> dict[str, object]:
    async with AsyncClient(url, api_key=key) as cloud:
        lines = cloud.instances.follow_logs(ident, since="1970-01-01T00:00:00Z")
        try:
            return await asyncio.wait_for(anext(lines), 20)
        finally:
            await lines.aclose()


def test_sdk_console_session_and_log_streams(server: Server, user: dict[str, str]) -> None:
    with Client(server.url, api_key=user["api_key"]) as cloud:
        cmd = ["sh", "-c", "echo booted; exec sleep 600"]
        vm = cloud.instances.launch(f"sdk-{uuid.uuid4().hex[:8]}", "busybox", cmd=cmd)
        try:
            cloud.instances.wait(vm, timeout=30)
            with cloud.console(vm["name"], rows=24, cols=80) as term:
                term.send(b"echo $((6*7))\nexit\n")
                assert b"\r\n42\r\n" in read_to_the_end(term)
            line = asyncio.run(first_line(server.url, user["api_key"], vm["id"]))
            assert (line["stream"], line["text"]) == ("stdout", "booted")
        finally:
            cloud.instances.terminate(vm["id"])
            cloud.instances.wait(vm, "DELETED", timeout=30)
