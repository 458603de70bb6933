"""Credentials over HTTP: API keys, service-account tokens, login, lockout and rate limits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, assert_error, stop_server


def _bearer(server: Server, token: str) -> httpx.Client:
    auth = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=server.url, headers=auth, timeout=30)


def _key_client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30)


def test_revoked_api_key_is_refused_at_once(server: Server, client: httpx.Client) -> None:
    r = client.post("/auth/keys", json={"name": "ci"})
    assert r.status_code == 201, r.text
    key = r.json()["data"]
    assert key["key"].startswith("thecloud_") and key["active"] is True
    with _key_client(server, key["key"]) as c:
        assert c.get("/auth/me").status_code == 200
        assert client.delete(f"/auth/keys/{key['id']}").status_code == 204
        assert_error(c.get("/auth/me"), 401, "UNAUTHORIZED")
    listed = {k["id"]: k for k in client.get("/auth/keys").json()["data"]}
    assert listed[key["id"]]["active"] is False
    assert all("key" not in k and "key_hash" not in k for k in listed.values())


def test_rotated_key_replaces_the_old_one(server: Server, client: httpx.Client) -> None:
    old = client.post("/auth/keys", json={"name": "rotating"}).json()["data"]
    r = client.post(f"/auth/keys/{old['id']}/rotate")
    assert r.status_code == 200, r.text
    new = r.json()["data"]
    assert new["key"] != old["key"] and new["name"] == "rotating"
    with _key_client(server, old["key"]) as c:
        assert_error(c.get("/auth/me"), 401, "UNAUTHORIZED")
    with _key_client(server, new["key"]) as c:
        assert c.get("/auth/me").status_code == 200


def test_missing_and_bogus_credentials_are_401(server: Server) -> None:
    assert_error(httpx.get(f"{server.url}/secrets"), 401, "UNAUTHORIZED")
    with _key_client(server, "thecloud_" + "0" * 32) as c:
        assert_error(c.get("/secrets"), 401, "UNAUTHORIZED")
    with _bearer(server, "not.a.jwt") as c:
        assert_error(c.get("/secrets"), 401, "UNAUTHORIZED")


def _service_account(client: httpx.Client, name: str, role: str) -> dict[str, str]:
    r = client.post("/iam/service-accounts", json={"name": name, "role": role})
    assert r.status_code == 201, r.text
    data: dict[str, str] = r.json()["data"]
    assert data["client_secret"] and data["client_id"] == data["id"]
    return data


def _token(server: Server, sa: dict[str, str], form: bool = False) -> httpx.Response:
    body = {
        "grant_type": "client_credentials",
        "client_id": sa["client_id"],
        "client_secret": sa["client_secret"],
    }
    url = f"{server.url}/oauth2/token"
    return httpx.post(url, data=body) if form else httpx.post(url, json=body)


@pytest.mark.parametrize("form", [False, True], ids=["json", "form"])
def test_service_account_token_acts_with_the_accounts_role(
    server: Server, client: httpx.Client, user: dict[str, str], form: bool
) -> None:
    sa = _service_account(client, "reader", "viewer")
    shown = client.get(f"/iam/service-accounts/{sa['id']}").json()["data"]
    assert "client_secret" not in shown
    issued = client.get(f"/iam/service-accounts/{sa['id']}/secrets").json()["data"]
    assert len(issued) == 1 and sa["client_secret"] not in str(issued)
    r = _token(server, sa, form=form)
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer" and r.json()["expires_in"] > 0
    with _bearer(server, r.json()["access_token"]) as c:
        me = c.get("/auth/me").json()["data"]
        assert (me["id"], me["type"], me["tenant_id"]) == (
            sa["id"],
            "service_account",
            user["tenant_id"],
        )
        assert c.get("/quotas").status_code == 200
        assert_error(c.post("/secrets", json={"name": "sa-made", "value": "x"}), 403, "FORBIDDEN")


def test_developer_service_account_may_create_secrets(server: Server, client: httpx.Client) -> None:
    sa = _service_account(client, "builder", "developer")
    with _bearer(server, _token(server, sa).json()["access_token"]) as c:
        assert c.post("/secrets", json={"name": "sa-made", "value": "x"}).status_code == 201


def test_wrong_client_secret_is_401(server: Server, client: httpx.Client) -> None:
    sa = _service_account(client, "guessed", "viewer")
    assert_error(
        _token(server, {**sa, "client_secret": sa["client_secret"] + "x"}), 401, "UNAUTHORIZED"
    )
    assert_error(_token(server, {**sa, "client_id": "nobody"}), 401, "UNAUTHORIZED")
    bad_grant = httpx.post(f"{server.url}/oauth2/token", data={"grant_type": "password"})
    assert_error(bad_grant, 400, "INVALID_INPUT")


def test_deleted_service_accounts_token_is_401(server: Server, client: httpx.Client) -> None:
    sa = _service_account(client, "doomed", "viewer")
    with _bearer(server, _token(server, sa).json()["access_token"]) as c:
        assert c.get("/auth/me").status_code == 200
        assert client.delete(f"/iam/service-accounts/{sa['id']}").status_code == 204
        assert_error(c.get("/auth/me"), 401, "UNAUTHORIZED")
    assert_error(_token(server, sa), 401, "UNAUTHORIZED")


def test_login_jwt_works_as_bearer(server: Server, user: dict[str, str]) -> None:
    r = httpx.post(
        f"{server.url}/auth/login", json={"email": user["email"], "password": user["password"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["data"]["user"]["id"] == user["user_id"]
    assert "password_hash" not in r.json()["data"]["user"]
    with _bearer(server, r.json()["data"]["token"]) as c:
        assert c.get("/auth/me").json()["data"]["id"] == user["user_id"]
        assert c.post("/secrets", json={"name": "via-jwt", "value": "x"}).status_code == 201


def _login(server: Server, user: dict[str, str], password: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/auth/login", json={"email": user["email"], "password": password}
    )


def _assert_locked(r: httpx.Response) -> None:
    assert_error(r, 429, "ACCOUNT_LOCKED")
    assert 0 < int(r.headers["retry-after"]) <= 900


def test_lockout_after_five_failures_survives_a_restart(
    spawn: Callable[..., Server], tmp_path: Path
) -> None:
    first = spawn(tmp_path)
    victim = first.register("victim")
    for _ in range(5):
        assert_error(_login(first, victim, "wrong-password-1"), 401, "UNAUTHORIZED")
    _assert_locked(_login(first, victim, victim["password"]))
    second = spawn(tmp_path)
    stop_server(first)
    assert second.data_dir == first.data_dir and second.url != first.url
    _assert_locked(_login(second, victim, victim["password"]))
    with second.api(victim) as c:
        assert c.get("/auth/me").status_code == 200  # the lock is on logins, not on keys


def test_rate_limit_per_ip_answers_429_with_retry_after(spawn: Callable[..., Server]) -> None:
    limited = spawn(THECLOUD_RATE_LIMIT_PER_IP="5", THECLOUD_RATE_LIMIT_BURST_SECONDS="1")
    with httpx.Client(base_url=limited.url, timeout=30) as c:
        statuses = [c.get("/openapi.json") for _ in range(12)]
    assert statuses[0].status_code == 200
    refused = [r for r in statuses if r.status_code == 429]
    assert refused, [r.status_code for r in statuses]
    assert_error(refused[0], 429, "RATE_LIMITED")
    assert int(refused[0].headers["retry-after"]) >= 1
