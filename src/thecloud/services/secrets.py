"""The secrets manager: values sealed with AES-256-GCM under a per-tenant key."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.errors import Conflict
from thecloud.domain.identity import Principal
from thecloud.domain.secrets import Secret, validate_secret_name, validate_secret_value
from thecloud.ports.crypto import SecretCipher
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id_or_name
from thecloud.services.recent import UntilCommit, query_key

ACCESS_RESOLUTION = timedelta(seconds=1)
_NEVER = datetime.min.replace(tzinfo=UTC)
LISTED_SECRETS = 50_000  # secrets kept in listed pages until the next commit
FOUND_BYTES = 8 << 20  # sealed secrets kept (by id or name) until the next commit


def _size(secret: Secret) -> int:
    return len(secret.ciphertext) + 512  # and the fields around it


def _count(page: Page[Secret]) -> int:
    return len(page.items)


def _aad(secret_id: str, tenant_id: str) -> bytes:
    return f"{tenant_id}/{secret_id}".encode()


class SecretService(Service):
    def __init__(self, kernel: Kernel, cipher: SecretCipher) -> None:
        super().__init__(kernel)
        self._cipher = cipher
        self._touched: dict[str, datetime] = {}
        self._listed: UntilCommit[Hashable, Page[Secret]] = UntilCommit(256, LISTED_SECRETS)
        self._found: UntilCommit[tuple[str, str], Secret] = UntilCommit(4096, FOUND_BYTES)

    async def create(self, p: Principal, name: str, value: str, description: str = "") -> Secret:
        validate_secret_name(name)
        validate_secret_value(value)
        self.allow(p, "secret:create", "secret", name=name)
        now, sid = self._clock.now(), new_id()
        nonce, ct = self._cipher.seal(p.tenant_id, value.encode(), _aad(sid, p.tenant_id))
        secret = Secret(sid, p.tenant_id, name, description, ct, nonce, p.id, now, now)
        async with self._uow() as uow:
            if await uow.secrets.find_one(tenant_id=p.tenant_id, name=name):
                raise Conflict(f"secret {name!r} already exists")
            await uow.secrets.add(secret)
            await self._record(uow, p, "secret:create", "secret", sid, {"name": name})
            await uow.commit()
        return secret

    async def list(self, p: Principal, query: ListQuery) -> Page[Secret]:
        """A page of the tenant's secrets (values stay sealed). Kept until the next commit
        to the store by any process (where the store can tell: not in memory)."""
        self.allow(p, "secret:list", "secret")

        async def load() -> Page[Secret]:
            async with self._uow(read_only=True) as uow:
                return await uow.secrets.list(query, p.tenant_id)

        key = query_key(p.tenant_id, query)
        page, _ = await self._listed.read(await self._uow.version(), key, load, _count)
        return replace(page, items=list(page.items))  # the kept page stays as it was read

    async def reveal(self, p: Principal, ident: str) -> tuple[Secret, str]:
        """The secret (by id or name) and its plaintext; records the access time.

        Like a filesystem's relatime, `last_accessed_at` is written at most once per
        ACCESS_RESOLUTION, so hot secrets are not a write per read. The sealed secret is
        kept until the next commit to the store, like a listed page; the value is opened
        for every call, after it is authorized.
        """

        async def load() -> Secret:
            async with self._uow(read_only=True) as uow:
                return await self._find(uow, p, ident)

        key = (p.tenant_id, ident)
        secret, _ = await self._found.read(await self._uow.version(), key, load, _size)
        self.allow(p, "secret:read", "secret", secret.id, secret.name)
        secret = await self._touch(secret)
        aad = _aad(secret.id, secret.tenant_id)
        plain = self._cipher.open(secret.tenant_id, secret.nonce, secret.ciphertext, aad)
        return secret, plain.decode()

    async def _touch(self, secret: Secret) -> Secret:
        """Record the access unless it was recorded less than ACCESS_RESOLUTION ago; the
        in-process note keeps concurrent readers of one secret from all writing at once."""
        now = self._clock.now()
        last = max(secret.last_accessed_at or _NEVER, self._touched.get(secret.id, _NEVER))
        if now - last < ACCESS_RESOLUTION:
            return replace(secret, last_accessed_at=last)
        if len(self._touched) > 10_000:
            self._touched.clear()
        self._touched[secret.id] = now
        async with self._uow() as uow:
            await uow.secrets.touch(secret.id, now)
            await uow.commit()
        return replace(secret, last_accessed_at=now)

    async def update(
        self, p: Principal, ident: str, value: str | None, description: str | None
    ) -> Secret:
        async with self._uow() as uow:
            secret = await self._find(uow, p, ident)
            self.allow(p, "secret:write", "secret", secret.id, secret.name)
            secret = self._changed(secret, value, description)
            await uow.secrets.update(secret)
            await self._record(
                uow, p, "secret:write", "secret", secret.id, {"version": secret.version}
            )
            await uow.commit()
        return secret

    def _changed(self, secret: Secret, value: str | None, description: str | None) -> Secret:
        secret = replace(secret, updated_at=self._clock.now())
        if description is not None:
            secret = replace(secret, description=description)
        if value is not None:
            validate_secret_value(value)
            aad = _aad(secret.id, secret.tenant_id)
            nonce, ct = self._cipher.seal(secret.tenant_id, value.encode(), aad)
            secret = replace(secret, nonce=nonce, ciphertext=ct, version=secret.version + 1)
        return secret

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            secret = await self._find(uow, p, ident)
            self.allow(p, "secret:delete", "secret", secret.id, secret.name)
            await uow.secrets.delete(secret.id, p.tenant_id)
            await self._record(uow, p, "secret:delete", "secret", secret.id, {"name": secret.name})
            await uow.commit()

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> Secret:
        return await by_id_or_name(uow.secrets, "secret", p.tenant_id, ident)
