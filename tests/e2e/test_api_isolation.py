"""Tenant isolation over HTTP: another tenant's ids are 404, its X-Tenant-ID is 403."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Server, assert_error


@pytest.fixture
def other(server: Server) -> Iterator[dict[str, Any]]:
    """Bob's tenant with one resource of each kind; their ids under the kind's name."""
    bob = server.register("bob")
    with server.api(bob) as c:
        ids: dict[str, Any] = {"user": bob, "tenant": bob["tenant_id"]}
        ids["secret"] = _create(c, "/secrets", {"name": "bob-only", "value": "bob-value"})
        ids["role"] = _create(c, "/rbac/roles", {"name": "bob-role", "permissions": ["*"]})
        statements = [{"effect": "Allow", "action": "*", "resource": "*"}]
        ids["policy"] = _create(c, "/iam/policies", {"name": "bob-pol", "statements": statements})
        ids["sa"] = _create(c, "/iam/service-accounts", {"name": "bob-sa", "role": "viewer"})
        ids["binding"] = c.get("/rbac/bindings").json()["data"][0]["id"]
        yield ids
        assert c.get("/secrets/bob-only").json()["data"]["value"] == "bob-value"
        assert c.get(f"/rbac/roles/{ids['role']}").status_code == 200
        assert c.get(f"/iam/policies/{ids['policy']}").status_code == 200
        assert c.get(f"/iam/service-accounts/{ids['sa']}").status_code == 200
        assert c.get("/rbac/bindings").json()["meta"]["total"] == 1


def _create(c: httpx.Client, path: str, body: dict[str, Any]) -> str:
    r = c.post(path, json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["data"]["id"])


def _requests(ids: dict[str, Any], me: dict[str, str]) -> list[tuple[str, str, Any]]:
    t, pol = ids["tenant"], ids["policy"]
    return [
        ("GET", f"/secrets/{ids['secret']}", None),
        ("GET", "/secrets/bob-only", None),
        ("PUT", f"/secrets/{ids['secret']}", {"value": "stolen"}),
        ("PUT", "/secrets/bob-only", {"description": "stolen"}),
        ("DELETE", f"/secrets/{ids['secret']}", None),
        ("DELETE", "/secrets/bob-only", None),
        ("GET", f"/rbac/roles/{ids['role']}", None),
        ("PUT", f"/rbac/roles/{ids['role']}", {"description": "stolen"}),
        ("DELETE", f"/rbac/roles/{ids['role']}", None),
        ("POST", f"/rbac/roles/{ids['role']}/permissions", {"permission": "secret:read"}),
        ("GET", f"/iam/policies/{pol}", None),
        ("DELETE", f"/iam/policies/{pol}", None),
        ("POST", f"/iam/users/{me['user_id']}/policies/{pol}", None),
        ("GET", f"/iam/service-accounts/{ids['sa']}", None),
        ("DELETE", f"/iam/service-accounts/{ids['sa']}", None),
        ("POST", f"/iam/service-accounts/{ids['sa']}/rotate-secret", None),
        ("GET", f"/iam/service-accounts/{ids['sa']}/secrets", None),
        ("DELETE", f"/rbac/bindings/{ids['binding']}", None),
        ("GET", f"/tenants/{t}", None),
        ("POST", f"/tenants/{t}/switch", None),
        ("GET", f"/tenants/{t}/members", None),
        ("POST", f"/tenants/{t}/members", {"email": me["email"], "role": "owner"}),
    ]


def test_every_id_of_another_tenant_is_404(
    client: httpx.Client, user: dict[str, str], other: dict[str, Any]
) -> None:
    for method, path, body in _requests(other, user):
        r = client.request(method, path, json=body)
        assert r.status_code == 404, f"{method} {path}: {r.status_code} {r.text}"
        assert_error(r, 404, "NOT_FOUND")
        assert "bob-value" not in r.text


def test_another_tenants_id_in_x_tenant_id_is_403(
    server: Server, user: dict[str, str], other: dict[str, Any]
) -> None:
    with server.api(user, other["tenant"]) as c:
        for path in ("/secrets", "/auth/me", "/rbac/bindings", "/audit", "/quotas"):
            assert_error(c.get(path), 403, "FORBIDDEN")
        assert_error(c.post("/secrets", json={"name": "x", "value": "y"}), 403, "FORBIDDEN")


def test_listings_show_only_the_callers_tenant(
    client: httpx.Client, user: dict[str, str], other: dict[str, Any]
) -> None:
    assert client.post("/secrets", json={"name": "mine", "value": "v"}).status_code == 201
    assert [s["name"] for s in client.get("/secrets").json()["data"]] == ["mine"]
    roles = client.get("/rbac/roles").json()["data"]
    assert "bob-role" not in {r["name"] for r in roles}
    assert client.get("/iam/policies").json()["meta"]["total"] == 0
    assert client.get("/iam/service-accounts").json()["meta"]["total"] == 0
    tenants = client.get("/tenants").json()["data"]
    assert [t["id"] for t in tenants] == [user["tenant_id"]]
    audit = client.get("/audit", params={"limit": 1000}).json()["data"]
    assert other["secret"] not in {a["resource_id"] for a in audit}


def test_malformed_x_tenant_id_is_400(server: Server, user: dict[str, str]) -> None:
    with server.api(user, "not-a-uuid") as c:
        assert "X-Tenant-ID" in str(
            assert_error(c.get("/secrets"), 400, "INVALID_INPUT")["message"]
        )
