"""`cloud instance`, `cloud image`, `cloud instance-type` over the SDK on a MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner, Result

from thecloud.entrypoints.cli import context
from thecloud.entrypoints.cli.main import app
from thecloud.sdk import Client

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]
IMAGE = {"id": "img-1", "name": "alpine", "status": "AVAILABLE", "os": "alpine", "version": "3"}
TYPES = [
    {"id": "basic-1", "name": "Basic 1", "category": "basic", "vcpus": 1, "memory_mb": 512},
    {"id": "standard-2", "name": "Standard 2", "category": "standard", "vcpus": 2},
]


def ok(data: Any, status: int = 200, **meta: Any) -> httpx.Response:
    return httpx.Response(status, json={"data": data, "meta": {"request_id": "rid", **meta}})


def page(items: list[Any]) -> httpx.Response:
    return ok(items, total=len(items), limit=100, offset=0, has_more=False)


def instance(status: str = "STARTING", **fields: Any) -> dict[str, Any]:
    base = {
        "id": "i-1",
        "name": "web",
        "image": "alpine",
        "instance_type": "basic-2",
        "status": status,
        "status_reason": "",
        "host_ports": ["49153:80/tcp"],
        "env": ["SECRET_TOKEN=xyz"],
    }
    return {**base, **fields}


class FakeAPI:
    """Routes `METHOD /path` to answers in turn (the last repeats); unknown routes are 404."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, route: str, *answers: Answer) -> None:
        self.routes[route] = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get(f"{request.method} {request.url.path}")
        if not queue:
            error = {"type": "NOT_FOUND", "code": "NOT_FOUND", "message": "no such thing"}
            return httpx.Response(404, json={"error": error, "meta": {"request_id": "r404"}})
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer

    def last(self, route: str) -> httpx.Request:
        method, path = route.split(" ", 1)
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)][-1]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAPI:
    fake = FakeAPI()

    def make(*args: Any, **kwargs: Any) -> Client:
        return Client(*args, transport=httpx.MockTransport(fake), **kwargs)

    monkeypatch.setattr(context, "make_client", make)
    monkeypatch.setenv("CLOUD_CONFIG", str(tmp_path / "config.json"))
    for name in ("CLOUD_API_URL", "CLOUD_API_KEY", "CLOUD_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    return fake


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def test_launch_sends_options_and_the_command_after_the_separator(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    args = ["instance", "launch", "web", "--image", "alpine", "--type", "basic-1"]
    opts = ["-p", "8080:80", "--port", "0:22", "-e", "MODE=a=b", "-l", "team=blue"]
    result = run(*args, *opts, "--meta", "owner=ada", "--", "sh", "-c", "echo -o json")
    assert result.exit_code == 0, result.output
    assert json.loads(api.last("POST /instances").content) == {
        "name": "web",
        "image": "alpine",
        "instance_type": "basic-1",
        "ports": "8080:80,0:22",
        "env": ["MODE=a=b"],
        "cmd": ["sh", "-c", "echo -o json"],
        "labels": {"team": "blue"},
        "metadata": {"owner": "ada"},
    }
    header = result.stdout.splitlines()[0].split()
    assert header == [
        "NAME", "STATUS", "IMAGE", "INSTANCE", "TYPE", "PRIVATE", "IP", "HOST", "PORTS", "ID"
    ]  # fmt: skip
    assert "SECRET_TOKEN" not in result.stdout


def test_launch_wait_shows_each_status_until_running(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    starting = instance("STARTING", status_reason="creating the container")
    api.on("GET /instances/i-1", ok(starting), ok(instance("RUNNING", status_reason="running")))
    result = run("instance", "launch", "web", "-i", "alpine", "--wait", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "RUNNING"
    progress = [line.split(" (")[0] for line in result.stderr.splitlines()]
    assert progress == ["web: STARTING - creating the container", "web: RUNNING"]


def test_launch_wait_exits_non_zero_with_the_reason_on_error(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    failed = instance("ERROR", status_reason="image alpine is MISSING")
    api.on("GET /instances/i-1", ok(failed))
    result = run("instance", "launch", "web", "-i", "alpine", "--wait")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        "Error [RESOURCE_FAILED]: instance web (i-1) is ERROR: image alpine is MISSING"
    )


def test_launch_wait_times_out(api: FakeAPI) -> None:
    api.on("POST /instances", ok(instance(), 202))
    api.on("GET /instances/i-1", ok(instance("STARTING")))
    result = run("instance", "launch", "web", "-i", "alpine", "--wait", "--timeout", "0")
    assert result.exit_code == 1
    assert "Error [WAIT_TIMEOUT]: instance web (i-1) is still STARTING" in result.stderr


def test_env_without_equals_is_a_usage_error(api: FakeAPI) -> None:
    result = run("instance", "launch", "web", "-i", "alpine", "-e", "NOVALUE")
    assert result.exit_code == 2
    assert api.requests == []


def test_list_filters_and_shows_the_instance_columns(api: FakeAPI) -> None:
    api.on("GET /instances", page([instance("RUNNING"), instance("STOPPED", name="db")]))
    result = run("instance", "list", "--status", "running", "--name", "web")
    assert result.exit_code == 0, result.output
    assert dict(api.requests[0].url.params) == {"status": "RUNNING", "name": "web"}
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert rows == [
        ["web", "RUNNING", "alpine", "basic-2", "-", "49153:80/tcp", "i-1"],
        ["db", "STOPPED", "alpine", "basic-2", "-", "49153:80/tcp", "i-1"],
    ]


def test_get_as_yaml_is_the_whole_instance(api: FakeAPI) -> None:
    api.on("GET /instances/web", ok(instance("RUNNING")))
    result = run("instance", "get", "web", "-o", "yaml")
    assert yaml.safe_load(result.stdout) == instance("RUNNING")


@pytest.mark.parametrize(
    ("action", "route", "moving", "settled"),
    [
        ("stop", "POST /instances/web/stop", "STOPPING", "STOPPED"),
        ("start", "POST /instances/web/start", "STARTING", "RUNNING"),
        ("reboot", "POST /instances/web/reboot", "REBOOTING", "RUNNING"),
    ],
)
def test_lifecycle_commands_wait_for_their_status(
    api: FakeAPI, action: str, route: str, moving: str, settled: str
) -> None:
    api.on(route, ok(instance(moving), 202))
    api.on("GET /instances/i-1", ok(instance(settled)))
    result = run("instance", action, "web", "--wait", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == settled


def test_terminate_without_wait_shows_deleting(api: FakeAPI) -> None:
    api.on("DELETE /instances/web", ok(instance("DELETING"), 202))
    result = run("instance", "terminate", "web", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "DELETING"
    assert [r.method for r in api.requests] == ["DELETE"]


def test_terminate_wait_ends_when_the_instance_is_gone(api: FakeAPI) -> None:
    api.on("DELETE /instances/web", ok(instance("DELETING"), 202))
    result = run("instance", "terminate", "web", "--wait", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["status"] == "DELETED"


def test_logs_print_text_and_send_tail_and_since(api: FakeAPI) -> None:
    lines = [
        {"at": "2030-01-01T00:00:00Z", "stream": "stdout", "text": "hello"},
        {"at": "2030-01-01T00:00:01Z", "stream": "stderr", "text": "oops\n"},
    ]
    api.on("GET /instances/web/logs", ok(lines))
    result = run("instance", "logs", "web", "--tail", "5", "--since", "2030-01-01T00:00:00")
    assert result.exit_code == 0, result.output
    assert (result.stdout, result.stderr) == ("hello\n", "oops\n")
    params = dict(api.requests[0].url.params)
    assert params == {"tail": "5", "since": "2030-01-01T00:00:00+00:00"}


def test_logs_as_json_are_the_records(api: FakeAPI) -> None:
    lines = [{"at": "2030-01-01T00:00:00Z", "stream": "stdout", "text": "hi"}]
    api.on("GET /instances/web/logs", ok(lines))
    assert json.loads(run("instance", "logs", "web", "-o", "json").stdout) == lines


def test_image_list_get_and_instance_types(api: FakeAPI) -> None:
    api.on("GET /images", page([IMAGE]))
    api.on("GET /images/alpine", ok(IMAGE))
    api.on("GET /instance-types", page(TYPES))
    listed = run("image", "list")
    assert listed.stdout.splitlines()[0].split()[:4] == ["NAME", "STATUS", "OS", "VERSION"]
    assert json.loads(run("image", "get", "alpine", "-o", "json").stdout) == IMAGE
    types = run("instance-type", "list")
    assert types.exit_code == 0, types.output
    assert [line.split()[0] for line in types.stdout.splitlines()] == [
        "ID",
        "basic-1",
        "standard-2",
    ]


def test_unknown_instance_is_a_clean_error(api: FakeAPI) -> None:
    result = run("instance", "get", "nope")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error [NOT_FOUND]: no such thing (request id r404)"


@pytest.mark.parametrize(
    "command",
    [
        ["instance"],
        ["instance", "launch"],
        ["instance", "list"],
        ["instance", "get"],
        ["instance", "stop"],
        ["instance", "start"],
        ["instance", "reboot"],
        ["instance", "terminate"],
        ["instance", "logs"],
        ["image"],
        ["image", "list"],
        ["image", "get"],
        ["instance-type"],
        ["instance-type", "list"],
    ],
)
def test_help_renders(api: FakeAPI, command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage: cloud " + " ".join(command) in result.stdout
