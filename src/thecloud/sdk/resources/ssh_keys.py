"""SSH public keys, installed into the instances launched with them."""

from __future__ import annotations

from thecloud.sdk._core import Call, body, listing, seg
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream


class SshKeys(Resource[One, PageT, ListT, Done, Stream]):
    """`/ssh-keys`: the tenant's OpenSSH public keys, for `instances.launch(ssh_key=...)`."""

    def create(self, name: str, public_key: str, *, idempotency_key: str | None = None) -> One:
        """Store a public key (`ssh-ed25519 AAAA... comment`); the result shows its
        SHA256 fingerprint, as `ssh-keygen -lf` prints it."""
        payload = body(name=name, public_key=public_key)
        return self._x.one(Call("POST", "/ssh-keys", payload, idempotency_key=idempotency_key))

    def list(
        self, *, name: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> PageT:
        """One page of the tenant's SSH keys, optionally of one name."""
        return self._x.page(listing("/ssh-keys", limit, offset, name=name))

    def iterate(self, *, name: str | None = None, page_size: int = 100) -> Stream:
        """All the tenant's SSH keys."""
        return self._x.iterate(listing("/ssh-keys", page_size, 0, name=name), page_size)

    def get(self, key: str) -> One:
        """An SSH key by id or name."""
        return self._x.one(Call("GET", f"/ssh-keys/{seg(key)}"))

    def delete(self, key: str) -> Done:
        """Delete an SSH key (instances launched with it keep it)."""
        return self._x.done(Call("DELETE", f"/ssh-keys/{seg(key)}"))
