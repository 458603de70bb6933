"""The secrets manager."""

from __future__ import annotations

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream


class Secrets(Resource[One, PageT, ListT, Done, Stream]):
    """`/secrets`: values encrypted at rest, shown only by `get`."""

    def create(
        self, name: str, value: str, description: str = "", *, idempotency_key: str | None = None
    ) -> One:
        """Store a secret; the result shows its value redacted."""
        payload = body(name=name, value=value, description=description)
        return self._x.one(Call("POST", "/secrets", payload, idempotency_key=idempotency_key))

    def list(
        self, *, name: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the tenant's secrets, values redacted; `name` filters by exact name."""
        return self._x.page(listing("/secrets", limit, offset, name=name))

    def iterate(self, *, name: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's secrets, values redacted."""
        return self._x.iterate(listing("/secrets", page_size, 0, name=name), page_size)

    def get(self, secret: str) -> One:
        """A secret by id or name, with its `value`."""
        return self._x.one(Call("GET", f"/secrets/{seg(secret)}"))

    def update(
        self, secret: str, *, value: str | None = None, description: str | None = None
    ) -> One:
        """A new value (a new version) and/or description."""
        payload = body(value=value, description=description)
        return self._x.one(Call("PUT", f"/secrets/{seg(secret)}", payload))

    def delete(self, secret: str) -> Done:
        """Delete a secret by id or name."""
        return self._x.done(Call("DELETE", f"/secrets/{seg(secret)}"))
