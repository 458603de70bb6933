"""Unit tests for the `cloud` CLI: parsing, config precedence, output formats, config file mode."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner, Result

from thecloud.entrypoints.cli import context
from thecloud.entrypoints.cli.activity import parse_when
from thecloud.entrypoints.cli.main import app, hoist_globals
from thecloud.sdk import Client

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]
SECRETS = [
    {"id": "s-1", "name": "db-pass", "version": 1, "description": "", "value": "[REDACTED]"},
    {"id": "s-2", "name": "api-token", "version": 3, "description": "ci", "value": "[REDACTED]"},
]


def ok(data: Any, status: int = 200, **meta: Any) -> httpx.Response:
    return httpx.Response(status, json={"data": data, "meta": {"request_id": "rid", **meta}})


def page(items: list[Any]) -> httpx.Response:
    return ok(items, total=len(items), limit=100, offset=0, has_more=False)


class FakeAPI:
    """Routes `METHOD /path` to canned answers; unknown routes are 404 in the error envelope."""

    def __init__(self) -> None:
        self.routes: dict[str, Answer] = {}
        self.requests: list[httpx.Request] = []

    def on(self, route: str, answer: Answer) -> None:
        self.routes[route] = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get(f"{request.method} {request.url.path}")
        if answer is None:
            error = {"type": "NOT_FOUND", "code": "NOT_FOUND", "message": "no such thing"}
            return httpx.Response(404, json={"error": error, "meta": {"request_id": "req-404"}})
        return answer(request) if callable(answer) else answer

    def last(self, route: str) -> httpx.Request:
        method, path = route.split(" ", 1)
        return [r for r in self.requests if (r.method, r.url.path) == (method, path)][-1]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeAPI:
    fake = FakeAPI()

    def make(*args: Any, **kwargs: Any) -> Client:
        return Client(*args, transport=httpx.MockTransport(fake), **kwargs)

    monkeypatch.setattr(context, "make_client", make)
    return fake


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "home" / ".cloud" / "config.json"
    monkeypatch.setenv("CLOUD_CONFIG", str(path))
    for name in ("CLOUD_API_URL", "CLOUD_API_KEY", "CLOUD_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    return path


def write_config(path: Path, **values: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin, env=env)


def test_default_url_is_localhost_when_nothing_is_configured(api: FakeAPI, config: Path) -> None:
    api.on("GET /auth/me", ok({"id": "u1"}))
    assert run("auth", "whoami").exit_code == 0
    assert str(api.requests[0].url) == "http://localhost:8080/auth/me"


def test_config_file_supplies_url_key_and_tenant(api: FakeAPI, config: Path) -> None:
    write_config(config, api_url="http://cfg.test", api_key="thecloud_cfg", tenant_id="t-cfg")
    api.on("GET /auth/me", ok({"id": "u1"}))
    assert run("auth", "whoami").exit_code == 0
    request = api.requests[0]
    assert request.url.host == "cfg.test"
    assert (request.headers["X-API-Key"], request.headers["X-Tenant-ID"]) == (
        "thecloud_cfg",
        "t-cfg",
    )


def test_env_overrides_config(api: FakeAPI, config: Path) -> None:
    write_config(config, api_url="http://cfg.test", api_key="thecloud_cfg", tenant_id="t-cfg")
    api.on("GET /auth/me", ok({"id": "u1"}))
    env = {"CLOUD_API_URL": "http://env.test", "CLOUD_API_KEY": "thecloud_env"}
    assert run("auth", "whoami", env={**env, "CLOUD_TENANT_ID": "t-env"}).exit_code == 0
    request = api.requests[0]
    assert request.url.host == "env.test"
    assert (request.headers["X-API-Key"], request.headers["X-Tenant-ID"]) == (
        "thecloud_env",
        "t-env",
    )


def test_flags_override_env_and_may_follow_the_command(api: FakeAPI, config: Path) -> None:
    write_config(config, api_url="http://cfg.test", api_key="thecloud_cfg")
    api.on("GET /auth/me", ok({"id": "u1"}))
    env = {"CLOUD_API_URL": "http://env.test", "CLOUD_API_KEY": "thecloud_env"}
    flags = ["--api-url", "http://flag.test", "--api-key=thecloud_flag", "--tenant", "t-flag"]
    assert run("auth", "whoami", *flags, env=env).exit_code == 0
    request = api.requests[0]
    assert request.url.host == "flag.test"
    assert (request.headers["X-API-Key"], request.headers["X-Tenant-ID"]) == (
        "thecloud_flag",
        "t-flag",
    )


def test_hoist_globals_moves_only_global_options() -> None:
    args = ["secret", "get", "db", "-o", "json", "--json", "--tenant=t1", "--", "-o"]
    assert hoist_globals(args) == [
        "-o",
        "json",
        "--tenant=t1",
        "secret",
        "get",
        "db",
        "--json",
        "--",
        "-o",
    ]


def test_list_as_table_shows_chosen_columns(api: FakeAPI, config: Path) -> None:
    api.on("GET /secrets", page(SECRETS))
    result = run("secret", "list")
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0].split()
    assert header[:3] == ["ID", "NAME", "VERSION"]
    assert "api-token" in result.stdout
    assert "REDACTED" not in result.stdout


def test_list_as_json_is_the_items(api: FakeAPI, config: Path) -> None:
    api.on("GET /secrets", page(SECRETS))
    result = run("secret", "list", "-o", "json")
    assert json.loads(result.stdout) == SECRETS


def test_list_as_yaml_is_the_items(api: FakeAPI, config: Path) -> None:
    api.on("GET /secrets", page(SECRETS))
    result = run("--output", "yaml", "secret", "list")
    assert yaml.safe_load(result.stdout) == SECRETS


def test_unknown_output_format_is_a_usage_error(api: FakeAPI, config: Path) -> None:
    result = run("-o", "xml", "secret", "list")
    assert result.exit_code == 2
    assert api.requests == []


def test_list_limit_and_offset_are_passed_on(api: FakeAPI, config: Path) -> None:
    api.on("GET /auth/keys", ok([], total=9, limit=2, offset=4, has_more=True))
    assert run("keys", "list", "--limit", "2", "--offset", "4").exit_code == 0
    assert dict(api.requests[0].url.params) == {"limit": "2", "offset": "4"}


def test_api_error_prints_one_line_and_exits_1(api: FakeAPI, config: Path) -> None:
    result = run("secret", "get", "missing")
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error [NOT_FOUND]: no such thing (request id req-404)"
    assert "Traceback" not in result.output


def test_unreachable_server_is_a_clean_error(config: Path) -> None:
    result = run("--api-url", "http://127.0.0.1:9", "auth", "whoami")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error [CONNECTION_ERROR]: request to http://127.0.0.1:9")


def test_corrupt_config_is_a_clean_error(api: FakeAPI, config: Path) -> None:
    config.parent.mkdir(parents=True)
    config.write_text("{not json")
    result = run("auth", "whoami")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error [CONFIG]: cannot read config file")


def login_routes(api: FakeAPI) -> None:
    api.on("POST /auth/login", ok({"token": "jwt-abc", "user": {"id": "u1"}}))
    key = {"id": "k1", "key": "thecloud_new", "tenant_id": "t-home", "prefix": "thecloud_new"}
    api.on("POST /auth/keys", ok(key, 201))


def test_login_creates_a_cli_key_with_the_token_and_saves_it(api: FakeAPI, config: Path) -> None:
    login_routes(api)
    args = ["--api-url", "http://api.test", "auth", "login", "--email", "a@x.io"]
    result = run(*args, "--password", "pw")
    assert result.exit_code == 0, result.output
    create = api.last("POST /auth/keys")
    assert create.headers["Authorization"] == "Bearer jwt-abc"
    assert json.loads(create.content)["name"].startswith("cli-")
    saved = json.loads(config.read_text())
    assert saved == {"api_url": "http://api.test", "api_key": "thecloud_new", "tenant_id": "t-home"}


def test_config_file_is_private(api: FakeAPI, config: Path) -> None:
    login_routes(api)
    assert run("auth", "login", "--email", "a@x.io", "--password", "pw").exit_code == 0
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700


def test_login_password_can_be_prompted(api: FakeAPI, config: Path) -> None:
    login_routes(api)
    result = run("auth", "login", "--email", "a@x.io", stdin="secret-pw\n")
    assert result.exit_code == 0, result.output
    assert json.loads(api.last("POST /auth/login").content)["password"] == "secret-pw"


def test_register_saves_the_returned_key(api: FakeAPI, config: Path) -> None:
    reg = {"user": {"id": "u1"}, "tenant": {"id": "t1"}, "api_key": "thecloud_reg", "token": "j"}
    api.on("POST /auth/register", ok(reg, 201))
    result = run("auth", "register", "--email", "a@x.io", "--name", "A", "--password", "pw")
    assert result.exit_code == 0, result.output
    assert json.loads(config.read_text())["api_key"] == "thecloud_reg"


def test_logout_revokes_the_saved_key_and_forgets_it(api: FakeAPI, config: Path) -> None:
    write_config(config, api_key="thecloud_abcd1234", tenant_id="t1")
    keys = [
        {"id": "k-other", "prefix": "thecloud_ffff", "active": True},
        {"id": "k-mine", "prefix": "thecloud_abcd", "active": True},
    ]
    api.on("GET /auth/keys", page(keys))
    api.on("DELETE /auth/keys/k-mine", httpx.Response(204))
    assert run("auth", "logout").exit_code == 0
    assert api.last("DELETE /auth/keys/k-mine").method == "DELETE"
    assert json.loads(config.read_text()) == {"tenant_id": "t1"}


def test_tenant_switch_checks_and_saves_the_tenant(api: FakeAPI, config: Path) -> None:
    write_config(config, api_key="thecloud_k", tenant_id="t-old")
    api.on("POST /tenants/t-new/switch", ok({"id": "t-new", "name": "Blue"}))
    result = run("tenant", "switch", "t-new")
    assert result.exit_code == 0, result.output
    assert json.loads(config.read_text())["tenant_id"] == "t-new"


def test_tenant_create_derives_the_slug(api: FakeAPI, config: Path) -> None:
    api.on("POST /tenants", ok({"id": "t1", "name": "Team Blue!"}, 201))
    assert run("tenant", "create", "Team Blue!").exit_code == 0
    assert json.loads(api.last("POST /tenants").content) == {
        "name": "Team Blue!",
        "slug": "team-blue",
    }


def test_secret_value_from_stdin(api: FakeAPI, config: Path) -> None:
    api.on("POST /secrets", ok(SECRETS[0], 201))
    result = run("secret", "create", "db-pass", "-", stdin="from-stdin\n")
    assert result.exit_code == 0, result.output
    assert json.loads(api.last("POST /secrets").content)["value"] == "from-stdin"


def test_secret_value_from_file(api: FakeAPI, config: Path, tmp_path: Path) -> None:
    api.on("POST /secrets", ok(SECRETS[0], 201))
    (tmp_path / "v.txt").write_text("file-value")
    assert (
        run("secret", "create", "db-pass", "--value-file", str(tmp_path / "v.txt")).exit_code == 0
    )
    assert json.loads(api.last("POST /secrets").content)["value"] == "file-value"


def test_secret_value_given_twice_is_a_usage_error(api: FakeAPI, config: Path) -> None:
    result = run("secret", "create", "db", "-", "--value", "x", stdin="y")
    assert result.exit_code == 2
    assert api.requests == []


def test_secret_get_prints_the_bare_value(api: FakeAPI, config: Path) -> None:
    api.on("GET /secrets/db-pass", ok({**SECRETS[0], "value": "hunter2"}))
    assert run("secret", "get", "db-pass").stdout == "hunter2\n"


def test_secret_get_json_prints_the_record(api: FakeAPI, config: Path) -> None:
    api.on("GET /secrets/db-pass", ok({**SECRETS[0], "value": "hunter2"}))
    assert json.loads(run("secret", "get", "db-pass", "--json").stdout)["value"] == "hunter2"


def test_policy_file_with_statement_list(api: FakeAPI, config: Path, tmp_path: Path) -> None:
    api.on("POST /iam/policies", ok({"id": "p1", "name": "ro"}, 201))
    statements = [{"effect": "Allow", "actions": ["secret:read"], "resources": ["*"]}]
    (tmp_path / "p.json").write_text(json.dumps(statements))
    assert run("iam", "policy", "create", "ro", "--file", str(tmp_path / "p.json")).exit_code == 0
    sent = json.loads(api.last("POST /iam/policies").content)
    assert sent == {"name": "ro", "description": "", "statements": statements}


def test_policy_file_in_aws_style(api: FakeAPI, config: Path, tmp_path: Path) -> None:
    api.on("POST /iam/policies", ok({"id": "p1", "name": "ro"}, 201))
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}]}
    (tmp_path / "p.json").write_text(json.dumps(document))
    assert run("iam", "policy", "create", "ro", "-f", str(tmp_path / "p.json")).exit_code == 0
    assert json.loads(api.last("POST /iam/policies").content)["document"] == document


def test_policy_attach_needs_one_principal(api: FakeAPI, config: Path) -> None:
    result = run("iam", "policy", "attach", "p1", "--user", "u1", "--service-account", "s1")
    assert result.exit_code == 2
    assert api.requests == []


def test_policy_attach_to_service_account(api: FakeAPI, config: Path) -> None:
    api.on("POST /iam/service-accounts/s1/policies/p1", ok({"id": "a1"}, 201))
    assert run("iam", "policy", "attach", "p1", "--service-account", "s1").exit_code == 0


def test_rbac_role_create_with_permissions(api: FakeAPI, config: Path) -> None:
    api.on("POST /rbac/roles", ok({"id": "r1", "name": "reader"}, 201))
    assert (
        run("rbac", "roles", "create", "reader", "-p", "secret:read", "-p", "audit:read").exit_code
        == 0
    )
    sent = json.loads(api.last("POST /rbac/roles").content)
    assert sent["permissions"] == ["secret:read", "audit:read"]


def test_quotas_set_sends_given_limits(api: FakeAPI, config: Path) -> None:
    api.on("PUT /quotas", ok([{"resource": "vpcs", "limit": 3, "used": 0, "available": 3}]))
    result = run("quotas", "set", "--vpcs", "3")
    assert result.exit_code == 0, result.output
    assert json.loads(api.last("PUT /quotas").content) == {"vpcs": 3}
    assert "vpcs" in result.stdout


def sse(_request: httpx.Request) -> httpx.Response:
    body = b'id: 4\nevent: secret.create\ndata: {"seq": 4, "type": "secret.create"}\n\n'
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


def test_events_watch_prints_each_event(api: FakeAPI, config: Path) -> None:
    api.on("GET /events/stream", sse)
    result = run("events", "watch", "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"seq": 4, "type": "secret.create"}


def test_audit_list_sends_filters(api: FakeAPI, config: Path) -> None:
    api.on("GET /audit", page([{"action": "secret:create", "outcome": "success"}]))
    result = run("audit", "list", "--action", "secret:create", "--since", "2030-01-01T00:00:00")
    assert result.exit_code == 0, result.output
    params = dict(api.requests[0].url.params)
    assert params == {"action": "secret:create", "since": "2030-01-01T00:00:00+00:00"}


def test_parse_when_understands_relative_times() -> None:
    got = parse_when("2h")
    assert got is not None
    assert abs((datetime.now(UTC) - timedelta(hours=2) - got).total_seconds()) < 5


def test_help_keeps_shell_completion_options(config: Path) -> None:
    result = run("--help")
    assert "--install-completion" in result.stdout
    assert "--show-completion" in result.stdout
