"""Authorization over HTTP: viewers change nothing, developers administer nothing, Deny wins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import assert_error

Member = Callable[[str], tuple[dict[str, str], httpx.Client]]

READ_ALL = [{"effect": "Allow", "action": "secret:read", "resource": "*"}]

# (method, path, body); {tenant}, {secret} and {email} are filled in per test.
VIEWER_WRITES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/secrets", {"name": "viewer-made", "value": "x"}),
    ("POST", "/rbac/roles", {"name": "viewer-role", "permissions": ["secret:read"]}),
    ("POST", "/rbac/bindings", {"user_identifier": "{email}", "role_name": "admin"}),
    ("POST", "/iam/policies", {"name": "viewer-policy", "statements": READ_ALL}),
    ("POST", "/iam/service-accounts", {"name": "viewer-sa", "role": "viewer"}),
    ("POST", "/tenants/{tenant}/members", {"email": "{email}", "role": "admin"}),
    ("PUT", "/quotas", {"instances": 1}),
    ("PUT", "/secrets/{secret}", {"value": "overwritten"}),
    ("DELETE", "/secrets/{secret}", None),
    ("POST", "/auth/keys", {"name": "viewer-key"}),
]


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "path", "body"), VIEWER_WRITES)
def test_viewer_gets_403_on_every_write(
    client: httpx.Client,
    user: dict[str, str],
    member: Member,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    r = client.post("/secrets", json={"name": "owned", "value": "original"})
    assert r.status_code == 201, r.text
    viewer, as_viewer = member("viewer")
    names = {
        "tenant": user["tenant_id"],
        "secret": r.json()["data"]["id"],
        "email": viewer["email"],
    }
    r = as_viewer.request(method, _fill(path, names), json=_fill(body, names))
    assert_error(r, 403, "FORBIDDEN")
    assert client.get("/secrets/owned").json()["data"]["value"] == "original"
    assert client.get("/secrets").json()["meta"]["total"] == 1


def test_viewer_reads_what_a_viewer_may_read(user: dict[str, str], member: Member) -> None:
    viewer, as_viewer = member("viewer")
    me = as_viewer.get("/auth/me").json()["data"]
    assert (me["id"], me["tenant_id"]) == (viewer["user_id"], user["tenant_id"])
    assert as_viewer.get("/quotas").status_code == 200
    assert as_viewer.get(f"/tenants/{user['tenant_id']}/members").json()["meta"]["total"] == 2


def test_viewer_lists_secret_names_but_never_values(client: httpx.Client, member: Member) -> None:
    assert client.post("/secrets", json={"name": "listed", "value": "hidden"}).status_code == 201
    _, as_viewer = member("viewer")
    listed = as_viewer.get("/secrets").json()["data"]
    assert [(s["name"], s["value"]) for s in listed] == [("listed", "[REDACTED]")]
    assert_error(as_viewer.get("/secrets/listed"), 403, "FORBIDDEN")
    assert "hidden" not in as_viewer.get("/secrets").text


def test_developer_creates_secrets_but_administers_nothing(
    client: httpx.Client, user: dict[str, str], member: Member
) -> None:
    developer, as_dev = member("developer")
    policy = client.post("/iam/policies", json={"name": "dev-p", "statements": READ_ALL})
    assert policy.status_code == 201, policy.text
    denied = [
        as_dev.post("/rbac/roles", json={"name": "dev-role"}),
        as_dev.post(
            "/rbac/bindings", json={"user_identifier": developer["email"], "role_name": "admin"}
        ),
        as_dev.post("/iam/policies", json={"name": "dev-policy", "statements": READ_ALL}),
        as_dev.post("/iam/service-accounts", json={"name": "dev-sa", "role": "admin"}),
        as_dev.post(f"/iam/users/{developer['user_id']}/policies/{policy.json()['data']['id']}"),
        as_dev.post(
            f"/tenants/{user['tenant_id']}/members",
            json={"email": developer["email"], "role": "owner"},
        ),
        as_dev.put("/quotas", json={"instances": 1000}),
    ]
    for r in denied:
        assert_error(r, 403, "FORBIDDEN")
    r = as_dev.post("/secrets", json={"name": "dev-secret", "value": "s3cr3t"})
    assert r.status_code == 201, r.text
    assert as_dev.get("/secrets/dev-secret").json()["data"]["value"] == "s3cr3t"


DENY_PROD_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "secret:*", "Resource": "trn:*:secret/prod-*"}],
}
DENY_PROD_STATEMENTS = [
    {"effect": "Deny", "actions": ["secret:*"], "resources": ["trn:*:secret/prod-*"]}
]


@pytest.mark.parametrize(
    "shape",
    [{"document": DENY_PROD_DOCUMENT}, {"statements": DENY_PROD_STATEMENTS}],
    ids=["document", "statements"],
)
def test_explicit_deny_overrides_the_admin_role(
    client: httpx.Client, member: Member, shape: dict[str, Any]
) -> None:
    admin, as_admin = member("admin")
    r = client.post("/iam/policies", json={"name": "no-prod", **shape})
    assert r.status_code == 201, r.text
    attach = f"/iam/users/{admin['user_id']}/policies/{r.json()['data']['id']}"
    assert client.post(attach).status_code == 201
    prod = client.post("/secrets", json={"name": "prod-db", "value": "owner-made"})
    assert prod.status_code == 201, prod.text

    assert_error(
        as_admin.post("/secrets", json={"name": "prod-db2", "value": "x"}), 403, "FORBIDDEN"
    )
    assert_error(as_admin.get("/secrets/prod-db"), 403, "FORBIDDEN")
    assert_error(as_admin.get(f"/secrets/{prod.json()['data']['id']}"), 403, "FORBIDDEN")
    assert as_admin.post("/secrets", json={"name": "dev-db", "value": "x"}).status_code == 201

    assert client.delete(attach).status_code == 204
    assert as_admin.get("/secrets/prod-db").json()["data"]["value"] == "owner-made"
    assert as_admin.post("/secrets", json={"name": "prod-db2", "value": "x"}).status_code == 201


def test_policy_attachments_are_listed_per_user(client: httpx.Client, member: Member) -> None:
    admin, _ = member("admin")
    r = client.post("/iam/policies", json={"name": "listed", "document": DENY_PROD_DOCUMENT})
    policy_id = r.json()["data"]["id"]
    assert client.post(f"/iam/users/{admin['user_id']}/policies/{policy_id}").status_code == 201
    attached = client.get(f"/iam/users/{admin['user_id']}/policies").json()["data"]
    assert [p["id"] for p in attached] == [policy_id]
    assert attached[0]["document"]["Statement"][0]["Effect"] == "Deny"
