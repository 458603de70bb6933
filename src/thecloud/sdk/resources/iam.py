"""IAM policies and their attachments; service accounts, their secrets and OAuth2 tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream

PrincipalKind = Literal["user", "service_account"]
_BASE: dict[str, str] = {"user": "/iam/users", "service_account": "/iam/service-accounts"}


def _attachment(kind: PrincipalKind, principal_id: str, policy: str | None = None) -> str:
    path = f"{_BASE[kind]}/{seg(principal_id)}/policies"
    return f"{path}/{seg(policy)}" if policy is not None else path


class Iam(Resource[One, PageT, ListT, Done, Stream]):
    """`/iam/policies` and their attachments to users and service accounts."""

    def create_policy(
        self,
        name: str,
        *,
        document: Mapping[str, Any] | None = None,
        statements: Sequence[Mapping[str, Any]] | None = None,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> One:
        """A policy from an AWS-style `document` or a list of `statements` (give one)."""
        payload = body(
            name=name,
            description=description,
            document=dict(document) if document is not None else None,
            statements=[dict(s) for s in statements] if statements is not None else None,
        )
        return self._x.one(Call("POST", "/iam/policies", payload, idempotency_key=idempotency_key))

    def list_policies(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the tenant's policies."""
        return self._x.page(listing("/iam/policies", limit, offset))

    def iterate_policies(self, *, page_size: int = 100) -> Stream:
        """All the tenant's policies."""
        return self._x.iterate(listing("/iam/policies", page_size, 0), page_size)

    def get_policy(self, policy: str) -> One:
        """A policy by id or name."""
        return self._x.one(Call("GET", f"/iam/policies/{seg(policy)}"))

    def delete_policy(self, policy: str) -> Done:
        """Delete a policy and all its attachments."""
        return self._x.done(Call("DELETE", f"/iam/policies/{seg(policy)}"))

    def attach(self, kind: PrincipalKind, principal_id: str, policy: str) -> One:
        """Attach a policy to a user or a service account."""
        return self._x.one(Call("POST", _attachment(kind, principal_id, policy)))

    def detach(self, kind: PrincipalKind, principal_id: str, policy: str) -> Done:
        """Detach a policy from a user or a service account."""
        return self._x.done(Call("DELETE", _attachment(kind, principal_id, policy)))

    def attached(self, kind: PrincipalKind, principal_id: str) -> ListT:
        """The policies attached to a user or a service account."""
        return self._x.items(Call("GET", _attachment(kind, principal_id)))


class ServiceAccounts(Resource[One, PageT, ListT, Done, Stream]):
    """`/iam/service-accounts`, their client secrets, and `/oauth2/token`."""

    def create(
        self, name: str, role: str, description: str = "", *, idempotency_key: str | None = None
    ) -> One:
        """A service account; `client_id` and `client_secret` (shown once) come with it."""
        payload = body(name=name, role=role, description=description)
        call = Call("POST", "/iam/service-accounts", payload, idempotency_key=idempotency_key)
        return self._x.one(call)

    def list(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of the tenant's service accounts."""
        return self._x.page(listing("/iam/service-accounts", limit, offset))

    def iterate(self, *, page_size: int = 100) -> Stream:
        """All the tenant's service accounts."""
        return self._x.iterate(listing("/iam/service-accounts", page_size, 0), page_size)

    def get(self, sa_id: str) -> One:
        """One service account."""
        return self._x.one(Call("GET", f"/iam/service-accounts/{seg(sa_id)}"))

    def delete(self, sa_id: str) -> Done:
        """Delete a service account; its tokens stop working at once."""
        return self._x.done(Call("DELETE", f"/iam/service-accounts/{seg(sa_id)}"))

    def secrets(self, sa_id: str) -> ListT:
        """Its client secrets (metadata only)."""
        return self._x.items(Call("GET", f"/iam/service-accounts/{seg(sa_id)}/secrets"))

    def rotate_secret(self, sa_id: str) -> One:
        """A new client secret (shown once); the previous ones are revoked."""
        return self._x.one(Call("POST", f"/iam/service-accounts/{seg(sa_id)}/rotate-secret"))

    def revoke_secret(self, sa_id: str, secret_id: str) -> Done:
        """Revoke one client secret."""
        path = f"/iam/service-accounts/{seg(sa_id)}/secrets/{seg(secret_id)}"
        return self._x.done(Call("POST", path))

    def token(self, client_id: str, client_secret: str) -> One:
        """OAuth2 client credentials: `access_token`, `token_type`, `expires_in`."""
        payload = body(
            grant_type="client_credentials", client_id=client_id, client_secret=client_secret
        )
        return self._x.one(Call("POST", "/oauth2/token", payload, enveloped=False))
