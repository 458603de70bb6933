"""The SDK (sync and async) and the `cloud` CLI as a real subprocess, against the running server."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import Server
from thecloud.sdk import (
    AsyncClient,
    Client,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)

PASSWORD = "correct-horse-9"
READ_SECRETS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["secret:read"], "Resource": ["*"]}],
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def email(prefix: str = "sdk") -> str:
    return f"{unique(prefix)}@example.com"


@pytest.fixture
def sdk(server: Server, user: dict[str, str]) -> Iterator[Client]:
    """An SDK client with the fresh user's API key."""
    with Client(server.url, api_key=user["api_key"]) as client:
        yield client


def test_sdk_register_login_and_me(server: Server) -> None:
    address = email()
    with Client(server.url) as anonymous:
        reg = anonymous.auth.register(address, PASSWORD, "Sam")
        token = anonymous.auth.login(address, PASSWORD)["token"]
    with (
        Client(server.url, token=token) as by_token,
        Client(server.url, api_key=reg["api_key"]) as by_key,
    ):
        assert by_token.auth.me()["email"] == address
        assert by_key.auth.me()["tenant_id"] == reg["tenant"]["id"]


def test_sdk_api_keys_create_list_rotate_revoke(server: Server, sdk: Client) -> None:
    created = sdk.keys.create(unique("ci"))
    assert created["id"] in {k["id"] for k in sdk.keys.iterate()}
    rotated = sdk.keys.rotate(created["id"])
    with (
        Client(server.url, api_key=created["key"]) as old,
        Client(server.url, api_key=rotated["key"]) as new,
    ):
        with pytest.raises(UnauthorizedError):
            old.auth.me()
        assert new.auth.me()["type"] == "user"
        sdk.keys.revoke(rotated["id"])
        with pytest.raises(UnauthorizedError) as caught:
            new.auth.me()
    assert caught.value.request_id


def test_sdk_tenant_create_switch_and_invite(server: Server, sdk: Client) -> None:
    slug = unique("team")
    tenant = sdk.tenants.create("Team", slug, idempotency_key=slug)
    assert sdk.tenants.create("Team", slug, idempotency_key=slug)["id"] == tenant["id"]
    assert sdk.tenants.switch(tenant["id"])["id"] == tenant["id"]
    sdk.tenant_id = tenant["id"]
    assert sdk.auth.me()["tenant_id"] == tenant["id"]
    guest = server.register("guest")
    binding = sdk.tenants.invite(tenant["id"], guest["email"], "developer")
    members = {m["principal_id"]: m["role_name"] for m in sdk.tenants.iterate_members(tenant["id"])}
    assert members[guest["user_id"]] == "developer" == binding["role_name"]
    with Client(server.url, api_key=guest["api_key"], tenant_id=tenant["id"]) as as_guest:
        assert as_guest.auth.me()["tenant_id"] == tenant["id"]


def test_sdk_roles_and_bindings(server: Server, sdk: Client) -> None:
    name = unique("reader")
    sdk.rbac.create_role(name, ["secret:read"], "reads secrets")
    role = sdk.rbac.add_permission(name, "audit:read")
    assert sorted(role["permissions"]) == ["audit:read", "secret:read"]
    assert sdk.rbac.get_role(name)["builtin"] is False
    guest = server.register("member")
    binding = sdk.rbac.bind(guest["email"], name)
    assert binding["id"] in {b["id"] for b in sdk.rbac.iterate_bindings()}
    with pytest.raises(ConflictError):
        sdk.rbac.delete_role(name)
    sdk.rbac.unbind(binding["id"])
    sdk.rbac.delete_role(name)
    with pytest.raises(NotFoundError):
        sdk.rbac.get_role(name)


def test_sdk_policy_attach_and_service_account_token(server: Server, sdk: Client) -> None:
    sdk.secrets.create(unique("s"), "value-1")
    policy = sdk.iam.create_policy(unique("read-secrets"), document=READ_SECRETS)
    sa = sdk.service_accounts.create(unique("bot"), "viewer")
    token = sdk.service_accounts.token(sa["client_id"], sa["client_secret"])["access_token"]
    with Client(server.url, token=token) as bot:
        assert bot.auth.me()["type"] == "service_account"
        secret_name = sdk.secrets.list(limit=1).items[0]["name"]
        with pytest.raises(ForbiddenError):
            bot.secrets.get(secret_name)
        sdk.iam.attach("service_account", sa["id"], policy["id"])
        assert bot.secrets.get(secret_name)["value"] == "value-1"
    assert [p["id"] for p in sdk.iam.attached("service_account", sa["id"])] == [policy["id"]]


def test_sdk_service_account_secret_rotation(server: Server, sdk: Client) -> None:
    sa = sdk.service_accounts.create(unique("rotor"), "viewer")
    fresh = sdk.service_accounts.rotate_secret(sa["id"])
    with pytest.raises(UnauthorizedError):
        sdk.service_accounts.token(sa["client_id"], sa["client_secret"])
    assert (
        sdk.service_accounts.token(sa["client_id"], fresh["client_secret"])["token_type"]
        == "Bearer"
    )
    active = [s for s in sdk.service_accounts.secrets(sa["id"]) if s["active"]]
    assert [s["id"] for s in active] == [fresh["id"]]


def test_sdk_secrets_crud(sdk: Client) -> None:
    name = unique("db-pass")
    created = sdk.secrets.create(name, "hunter2", idempotency_key=name)
    assert created["value"] == "[REDACTED]"
    assert sdk.secrets.create(name, "hunter2", idempotency_key=name)["id"] == created["id"]
    with pytest.raises(ConflictError):
        sdk.secrets.create(name, "other")
    assert sdk.secrets.get(name)["value"] == "hunter2"
    assert [s["id"] for s in sdk.secrets.list(name=name).items] == [created["id"]]
    assert sdk.secrets.update(name, value="hunter3")["version"] == 2
    assert sdk.secrets.get(created["id"])["value"] == "hunter3"
    sdk.secrets.delete(name)
    with pytest.raises(NotFoundError):
        sdk.secrets.get(name)


def test_sdk_audit_and_events_listing(sdk: Client) -> None:
    created = sdk.secrets.create(unique("audited"), "v")
    records = sdk.audit.list(action="secret:create", resource_type="secret")
    assert created["id"] in {r["resource_id"] for r in records.items}
    events = sdk.events.list(resource_id=created["id"])
    assert [e["type"] for e in events.items] == ["secret.create"]
    assert sum(1 for _ in sdk.events.iterate(page_size=1)) == sdk.events.list().total


def last_seq(client: Client) -> int:
    newest = client.events.list(limit=1).items
    return int(newest[0]["seq"]) if newest else 0


def test_sdk_event_stream_receives_a_new_event(server: Server, user: dict[str, str]) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    stop = threading.Event()
    streamer = Client(server.url, api_key=user["api_key"])
    after = last_seq(streamer)

    def consume() -> None:
        with streamer:
            for message in streamer.events.stream(after=after):
                received.put(message)
                if stop.is_set():
                    return

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    with Client(server.url, api_key=user["api_key"]) as writer:
        secret = writer.secrets.create(unique("streamed"), "v")
        message = received.get(timeout=20)
        stop.set()
        writer.secrets.create(unique("wake"), "v")  # one more event lets the consumer return
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert (message["event"], message["data"]["resource_id"]) == ("secret.create", secret["id"])
    assert message["id"] == str(message["data"]["seq"])


async def test_async_sdk_register_keys_and_secrets(server: Server) -> None:
    address = email("async")
    async with AsyncClient(server.url) as anonymous:
        await anonymous.auth.register(address, PASSWORD, "Ann")
        token = (await anonymous.auth.login(address, PASSWORD))["token"]
    async with AsyncClient(server.url, token=token) as by_token:
        key = await by_token.keys.create(unique("async"))
    async with AsyncClient(server.url, api_key=key["key"]) as client:
        await client.secrets.create("a-secret", "async-value")
        assert (await client.secrets.get("a-secret"))["value"] == "async-value"
        names = [s["name"] async for s in client.secrets.iterate()]
        assert names == ["a-secret"]
        await client.keys.revoke(key["id"])
        with pytest.raises(UnauthorizedError):
            await client.auth.me()


async def test_async_sdk_event_stream_receives_a_new_event(
    server: Server, user: dict[str, str]
) -> None:
    async with AsyncClient(server.url, api_key=user["api_key"]) as client:
        newest = (await client.events.list(limit=1)).items
        after = int(newest[0]["seq"]) if newest else 0
        stream = client.events.stream(after=after)
        first = asyncio.ensure_future(anext(stream))
        secret = await client.secrets.create(unique("async-stream"), "v")
        message = await asyncio.wait_for(first, timeout=20)
        await stream.aclose()
    assert message["data"]["resource_id"] == secret["id"]


# --- the CLI as a subprocess -------------------------------------------------------------


class Cli:
    """Runs `cloud` in a subprocess with its own config file and the server's URL."""

    def __init__(self, server: Server, home: Path) -> None:
        self.config = home / ".cloud" / "config.json"
        drop = {"CLOUD_API_KEY", "CLOUD_TENANT_ID"}
        self.env = {k: v for k, v in os.environ.items() if k not in drop}
        self.env.update(CLOUD_CONFIG=str(self.config), CLOUD_API_URL=server.url, COLUMNS="200")

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "thecloud.entrypoints.cli.main", *args]
        return subprocess.run(
            command, input=stdin, env=self.env, capture_output=True, text=True, timeout=60
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        done = self(*args, stdin=stdin)
        assert done.returncode == 0, f"cloud {' '.join(args)}: {done.stderr}"
        return done.stdout

    def saved(self) -> dict[str, Any]:
        return dict(json.loads(self.config.read_text()))


@pytest.fixture
def cli(server: Server, tmp_path: Path) -> Cli:
    return Cli(server, tmp_path)


@pytest.fixture
def logged_in(cli: Cli) -> Cli:
    cli.ok("auth", "register", "--email", email("cli"), "--name", "Cli", "--password", PASSWORD)
    return cli


def test_cli_register_login_and_whoami(cli: Cli) -> None:
    address = email("cli")
    cli.ok("auth", "register", "--email", address, "--name", "Cli", "--password", PASSWORD)
    registered = cli.saved()
    assert (cli.config.stat().st_mode & 0o777) == 0o600
    cli.ok("auth", "login", "--email", address, "--password", PASSWORD)
    after_login = cli.saved()
    assert after_login["api_key"] != registered["api_key"]
    assert after_login["tenant_id"] == registered["tenant_id"]
    me = json.loads(cli.ok("auth", "whoami", "-o", "json"))
    assert (me["email"], me["tenant_id"]) == (address, registered["tenant_id"])
    keys = json.loads(cli.ok("keys", "list", "-o", "json"))
    assert any(k["name"].startswith("cli-") for k in keys)


def test_cli_secret_create_list_get(logged_in: Cli) -> None:
    logged_in.ok("secret", "create", "db-pass", "--value", "hunter2")
    logged_in.ok("secret", "create", "from-stdin", "-", stdin="piped\n")
    listed = json.loads(logged_in.ok("secret", "list", "-o", "json"))
    assert sorted(s["name"] for s in listed) == ["db-pass", "from-stdin"]
    assert "db-pass" in logged_in.ok("secret", "list")
    assert logged_in.ok("secret", "get", "db-pass") == "hunter2\n"
    assert logged_in.ok("secret", "get", "from-stdin") == "piped\n"
    assert json.loads(logged_in.ok("secret", "get", "db-pass", "--json"))["version"] == 1


def test_cli_tenant_create_and_switch(logged_in: Cli) -> None:
    tenant = json.loads(logged_in.ok("tenant", "create", "Team Blue", "-o", "json"))
    assert tenant["slug"] == "team-blue"
    logged_in.ok("tenant", "switch", tenant["id"])
    assert logged_in.saved()["tenant_id"] == tenant["id"]
    assert json.loads(logged_in.ok("auth", "whoami", "-o", "json"))["tenant_id"] == tenant["id"]
    listed = yaml.safe_load(logged_in.ok("tenant", "list", "-o", "yaml"))
    assert tenant["id"] in {t["id"] for t in listed}


def test_cli_api_error_is_one_clean_line_with_exit_1(logged_in: Cli) -> None:
    done = logged_in("secret", "get", "no-such-secret")
    assert done.returncode == 1
    assert done.stderr.startswith("Error [NOT_FOUND]: ")
    assert "(request id " in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
