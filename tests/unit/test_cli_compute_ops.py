"""`cloud instance` operations on a live instance: HTTP over a MockTransport, the live views
(logs -f, stats --watch, console) over a WebSocket server on loopback."""

from __future__ import annotations

import json
import os
import signal
import termios
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result
from websockets.sync.server import ServerConnection

from tests.unit.test_cli_compute import FakeAPI, instance, ok, page
from tests.unit.ws_fake import FakeStreams, running_streams, send_all
from thecloud.entrypoints.cli import context
from thecloud.entrypoints.cli.live import EPOCH, Replay
from thecloud.entrypoints.cli.main import app
from thecloud.entrypoints.cli.terminal import Resized, forward_input, raw_mode
from thecloud.sdk import Client

SAMPLE = {
    "at": "2030-01-01T00:00:00+00:00",
    "cpu_percent": 12.5,
    "memory_bytes": 4 << 20,
    "memory_limit_bytes": 512 << 20,
    "network_rx_bytes": 100,
    "network_tx_bytes": 2048,
    "block_read_bytes": 0,
    "block_write_bytes": 3 << 20,
    "pids": 2,
}


def line(second: int, text: str, stream: str = "stdout") -> dict[str, Any]:
    return {"at": f"2030-01-01T00:00:0{second}.5+00:00", "stream": stream, "text": text}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAPI:
    fake = FakeAPI()

    def make(*args: Any, **kwargs: Any) -> Client:
        return Client(*args, transport=httpx.MockTransport(fake), **kwargs)

    monkeypatch.setattr(context, "make_client", make)
    monkeypatch.setenv("CLOUD_CONFIG", str(tmp_path / "config.json"))
    monkeypatch.setenv("CLOUD_API_KEY", "thecloud_k")
    for name in ("CLOUD_API_URL", "CLOUD_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    return fake


@pytest.fixture
def streams(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeStreams]:
    with running_streams() as fake:
        monkeypatch.setenv("CLOUD_API_URL", fake.url)
        yield fake


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


@pytest.mark.parametrize(
    ("args", "route", "sent"),
    [
        (["pause", "web"], "POST /instances/web/pause", None),
        (["resume", "web"], "POST /instances/web/resume", None),
        (["resize", "web", "--type", "standard-2"], "POST /instances/web/resize",
         {"instance_type": "standard-2"}),
    ],
)  # fmt: skip
def test_pause_resume_resize_show_the_instance(
    api: FakeAPI, args: list[str], route: str, sent: dict[str, Any] | None
) -> None:
    api.on(route, ok(instance("PAUSED", instance_type="standard-2")))
    result = run("instance", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split()[:4] == ["web", "PAUSED", "alpine", "standard-2"]
    request = api.last(route)
    assert (json.loads(request.content) if request.content else None) == sent


def test_resize_needs_a_type(api: FakeAPI) -> None:
    assert run("instance", "resize", "web").exit_code == 2
    assert api.requests == []


def test_metadata_replaces_shows_and_clears(api: FakeAPI) -> None:
    api.on("PUT /instances/web/metadata", lambda r: ok(instance(**json.loads(r.content))))
    api.on("GET /instances/web", ok(instance(metadata={"owner": "ada"})))
    replaced = run("instance", "metadata", "web", "owner=ada", "tier=1", "-o", "json")
    assert json.loads(replaced.stdout) == {"owner": "ada", "tier": "1"}
    assert json.loads(api.last("PUT /instances/web/metadata").content) == {
        "metadata": {"owner": "ada", "tier": "1"}
    }
    assert run("instance", "metadata", "web").stdout.split() == ["owner", "ada"]
    assert run("instance", "metadata", "web", "--clear").stdout.strip() == "(none)"
    assert json.loads(api.last("PUT /instances/web/metadata").content) == {"metadata": {}}


@pytest.mark.parametrize(
    "args", [["metadata", "web", "a=1", "--clear"], ["metadata", "web", "novalue"], ["tag", "web"]]
)
def test_bad_metadata_and_tag_arguments_are_usage_errors(api: FakeAPI, args: list[str]) -> None:
    assert run("instance", *args).exit_code == 2
    assert api.requests == []


def test_tag_untag_and_tags(api: FakeAPI) -> None:
    api.on("POST /instances/web/tags", ok({"team": "blue", "env": "prod"}))
    api.on("DELETE /instances/web/tags/env", ok({"team": "blue"}))
    api.on("GET /instances/web/tags", ok({}))
    tagged = run("instance", "tag", "web", "team=blue", "env=prod")
    assert tagged.exit_code == 0, tagged.output
    rows = [row.split() for row in tagged.stdout.splitlines()]
    assert rows == [["team", "blue"], ["env", "prod"]]
    assert json.loads(api.last("POST /instances/web/tags").content) == {
        "tags": {"team": "blue", "env": "prod"}
    }
    assert json.loads(run("instance", "untag", "web", "env", "-o", "json").stdout) == {
        "team": "blue"
    }
    assert run("instance", "tags", "web").stdout.strip() == "(none)"


def test_list_filters_on_every_label(api: FakeAPI) -> None:
    api.on("GET /instances", page([instance("RUNNING")]))
    result = run("instance", "list", "--label", "team=blue", "-l", "env=prod", "--all")
    assert result.exit_code == 0, result.output
    assert api.requests[0].url.params.get_list("label") == ["team=blue", "env=prod"]
    assert run("instance", "list", "--label", "novalue").exit_code == 2


def test_exec_prints_both_streams_and_exits_with_the_command_code(api: FakeAPI) -> None:
    done = {"exit_code": 3, "stdout": "out\n", "stderr": "err\n"}
    api.on("POST /instances/web/exec", ok(done))
    result = run("instance", "exec", "web", "--timeout", "9", "--", "sh", "-c", "echo -o json")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    sent = json.loads(api.last("POST /instances/web/exec").content)
    assert sent == {"command": ["sh", "-c", "echo -o json"], "timeout": 9}


def test_exec_as_json_is_the_result_and_still_the_exit_code(api: FakeAPI) -> None:
    done = {"exit_code": 0, "stdout": "hi\n", "stderr": ""}
    api.on("POST /instances/web/exec", ok(done))
    result = run("instance", "exec", "web", "-o", "json", "--", "echo", "hi")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == done


def test_exec_needs_a_command(api: FakeAPI) -> None:
    assert run("instance", "exec", "web").exit_code == 2


def test_stats_table_shows_cpu_memory_and_its_limit(api: FakeAPI) -> None:
    api.on("GET /instances/web/stats", ok(SAMPLE))
    result = run("instance", "stats", "web")
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()
    assert header.split() == [
        "CPU", "%", "MEMORY", "LIMIT", "MEM", "%", "NET", "RX", "NET", "TX",
        "BLOCK", "READ", "BLOCK", "WRITE", "PIDS",
    ]  # fmt: skip
    assert row.split() == [
        "12.5", "4.0MiB", "512.0MiB", "0.8", "100B", "2.0KiB", "0B", "3.0MiB", "2",
    ]  # fmt: skip
    assert json.loads(run("instance", "stats", "web", "-o", "json").stdout) == SAMPLE


def test_stats_watch_prints_each_sample(api: FakeAPI, streams: FakeStreams) -> None:
    later = {**SAMPLE, "pids": 7}
    streams.on("/ws/stats/web", send_all(json.dumps(SAMPLE), json.dumps(later)))
    result = run("instance", "stats", "web", "--watch", "-o", "json")
    assert result.exit_code == 0, result.output
    assert [json.loads(x) for x in result.stdout.splitlines()] == [SAMPLE, later]
    assert streams.requests[0].headers["X-API-Key"] == "thecloud_k"
    tables = run("instance", "stats", "web", "-w").stdout.splitlines()
    assert [row.split()[-1] for row in tables] == ["PIDS", "2", "PIDS", "7"]


def test_logs_follow_prints_history_then_only_new_lines(api: FakeAPI, streams: FakeStreams) -> None:
    history = [line(1, "one"), line(2, "two", "stderr")]
    api.on("GET /instances/web/logs", ok(history))
    replayed = [line(2, "two", "stderr"), line(2, "two again"), line(3, "three")]
    streams.on("/ws/logs/web", send_all(*[json.dumps(x) for x in replayed]))
    result = run("instance", "logs", "web", "--tail", "2", "-f")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["one", "two again", "three"]
    assert result.stderr.splitlines() == ["two"]
    assert streams.query() == {"since": [history[-1]["at"]]}


def test_logs_follow_as_json_lines(api: FakeAPI, streams: FakeStreams) -> None:
    api.on("GET /instances/web/logs", ok([line(1, "one")]))
    streams.on("/ws/logs/web", send_all(json.dumps(line(4, "four"))))
    result = run("instance", "logs", "web", "--follow", "-o", "json")
    assert [json.loads(x)["text"] for x in result.stdout.splitlines()] == ["one", "four"]


@pytest.mark.parametrize(
    ("args", "since", "asked_history"),
    [
        ([], [EPOCH], True),  # nothing written yet: from the start
        (["--since", "2030-01-01T00:00:00Z"], ["2030-01-01T00:00:00+00:00"], True),
        (["--tail", "0"], None, False),  # new lines only
    ],
)
def test_logs_follow_without_history_starts_where_asked(
    api: FakeAPI, streams: FakeStreams, args: list[str], since: Any, asked_history: bool
) -> None:
    api.on("GET /instances/web/logs", ok([]))
    streams.on("/ws/logs/web", send_all(json.dumps(line(5, "five"))))
    result = run("instance", "logs", "web", "-f", *args)
    assert result.stdout == "five\n"
    assert streams.query().get("since") == since
    assert bool(api.requests) == asked_history


def test_logs_follow_of_an_unknown_instance_is_a_clean_error(
    api: FakeAPI, streams: FakeStreams
) -> None:
    result = run("instance", "logs", "nope", "-f", "--tail", "0")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error [NOT_FOUND]: no such stream"


def test_replay_drops_only_what_was_printed() -> None:
    printed = [line(1, "a"), line(2, "b"), line(2, "b")]
    replay = Replay(printed)
    again = [line(1, "a"), line(2, "b"), line(2, "b"), line(2, "b"), line(2, "c"), line(3, "d")]
    assert [x["text"] for x in again if replay.fresh(x)] == ["b", "c", "d"]
    assert Replay([]).fresh(line(1, "a"))


def console_server(received: list[str | bytes]) -> Any:
    def handle(ws: ServerConnection) -> None:
        for frame in ws:
            received.append(frame)
            if frame == b"\x04":
                ws.send(b"42\r\n")
                break
        ws.close()

    return handle


def test_console_pipes_stdin_then_ctrl_d_and_prints_the_output(
    api: FakeAPI, streams: FakeStreams, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINES", "30")
    monkeypatch.setenv("COLUMNS", "100")
    received: list[str | bytes] = []
    streams.on("/ws/console/web", console_server(received))
    result = run("instance", "console", "web", stdin="echo $((6*7))\n")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b"42\r\n"
    assert received[0] == json.dumps({"type": "resize", "rows": 30, "cols": 100})
    assert b"".join(x for x in received[1:] if isinstance(x, bytes)) == b"echo $((6*7))\n\x04"
    assert streams.query() == {"rows": ["30"], "cols": ["100"]}


def test_console_of_a_stopped_instance_is_a_clean_error(api: FakeAPI, streams: FakeStreams) -> None:
    streams.on("/ws/console/web", send_all(code=4409, reason="instance web is STOPPED"))
    result = run("instance", "console", "web", stdin="")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error [CONFLICT]: instance web is STOPPED"


class Typed:
    """Stands in for a console session: what was sent, and whether it was closed."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.closed = False

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        self.closed = True


def test_ctrl_right_bracket_leaves_without_sending_it() -> None:
    chunks = iter([b"ls\r", b"ab\x1dcd", b"never"])
    session = Typed()
    forward_input(session, lambda: next(chunks), escape=True)  # type: ignore[arg-type]
    assert (session.sent, session.closed) == ([b"ls\r", b"ab"], True)


def test_end_of_piped_input_types_ctrl_d() -> None:
    chunks = iter([b"a\x1db\n", b""])
    session = Typed()
    forward_input(session, lambda: next(chunks), escape=False)  # type: ignore[arg-type]
    assert (session.sent, session.closed) == ([b"a\x1db\n", b"\x04"], False)


def test_raw_mode_is_restored_even_on_error() -> None:
    leader, follower = os.openpty()
    try:
        before = termios.tcgetattr(follower)
        with pytest.raises(RuntimeError), raw_mode(follower):
            assert not termios.tcgetattr(follower)[3] & termios.ICANON
            raise RuntimeError("boom")
        assert termios.tcgetattr(follower) == before
    finally:
        os.close(leader)
        os.close(follower)


def test_a_window_change_is_noted_once_and_the_handler_restored() -> None:
    resized, previous = Resized(), signal.getsignal(signal.SIGWINCH)
    with resized.watching(True):
        os.kill(os.getpid(), signal.SIGWINCH)
        assert (resized.take(), resized.take()) == (True, False)
    assert signal.getsignal(signal.SIGWINCH) == previous


@pytest.mark.parametrize(
    "command",
    ["pause", "resume", "resize", "metadata", "tag", "untag", "tags", "exec", "stats", "console"],
)
def test_help_renders(api: FakeAPI, command: str) -> None:
    result = run("instance", command, "--help")
    assert result.exit_code == 0, result.output
    assert f"Usage: cloud instance {command}" in result.stdout
