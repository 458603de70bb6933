"""Registration, login, identity, API keys."""

from __future__ import annotations

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream


class Auth(Resource[One, PageT, ListT, Done, Stream]):
    """`/auth`: register, login, who am I."""

    def register(self, email: str, password: str, name: str) -> One:
        """A new user with a personal tenant: `user`, `tenant`, `api_key` (shown once), `token`."""
        return self._x.one(
            Call("POST", "/auth/register", body(email=email, password=password, name=name))
        )

    def login(self, email: str, password: str) -> One:
        """A JWT for email and password: `user`, `token`, `expires_at`."""
        return self._x.one(Call("POST", "/auth/login", body(email=email, password=password)))

    def me(self) -> One:
        """The caller: id, type, name, email, tenant_id, permissions."""
        return self._x.one(Call("GET", "/auth/me"))


class ApiKeys(Resource[One, PageT, ListT, Done, Stream]):
    """`/auth/keys`: the caller's API keys."""

    def create(self, name: str, *, idempotency_key: str | None = None) -> One:
        """A new key in the current tenant; `key` is shown only in this result."""
        return self._x.one(
            Call("POST", "/auth/keys", body(name=name), idempotency_key=idempotency_key)
        )

    def list(self, *, limit: int | None = None, offset: int | None = None) -> PageT:
        """One page of your keys (never the keys themselves)."""
        return self._x.page(listing("/auth/keys", limit, offset))

    def iterate(self, *, page_size: int = 100) -> Stream:
        """All your keys."""
        return self._x.iterate(listing("/auth/keys", page_size, 0), page_size)

    def rotate(self, key_id: str) -> One:
        """A replacement key (shown once); the old one is revoked."""
        return self._x.one(Call("POST", f"/auth/keys/{seg(key_id)}/rotate"))

    def revoke(self, key_id: str) -> Done:
        """Revoke a key; it is refused from the next request on."""
        return self._x.done(Call("DELETE", f"/auth/keys/{seg(key_id)}"))
