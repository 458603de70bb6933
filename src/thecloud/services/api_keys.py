"""API keys of the calling user: create, list, rotate, revoke. Shown once, stored hashed."""

from __future__ import annotations

from dataclasses import replace

from thecloud.domain.common import ListQuery, Page
from thecloud.domain.errors import InvalidInput, not_found
from thecloud.domain.identity import ApiKey, Principal, validate_name
from thecloud.ports.uow import UnitOfWork
from thecloud.services.auth import AuthService
from thecloud.services.base import Kernel, Service


class ApiKeyService(Service):
    def __init__(self, kernel: Kernel, auth: AuthService) -> None:
        super().__init__(kernel)
        self._auth = auth

    def _user(self, p: Principal) -> None:
        if not p.is_user:
            raise InvalidInput("service accounts use client secrets, not API keys")

    async def create(self, p: Principal, name: str) -> tuple[ApiKey, str]:
        self._user(p)
        self.allow(p, "identity:create", "api_key", name=name)
        key, raw = self._auth.make_key(p.id, p.tenant_id, validate_name(name, "key name"))
        async with self._uow() as uow:
            await uow.api_keys.add(key)
            await self._record(uow, p, "identity:create", "api_key", key.id, {"name": key.name})
            await uow.commit()
        return key, raw

    async def list(self, p: Principal, query: ListQuery) -> Page[ApiKey]:
        self._user(p)
        async with self._uow(read_only=True) as uow:
            return await uow.api_keys.list(
                replace(query, filters={**query.filters, "user_id": p.id})
            )

    async def _own(self, uow: UnitOfWork, p: Principal, ident: str) -> ApiKey:
        key = await uow.api_keys.find_one(id=ident, user_id=p.id)
        if key is None:
            raise not_found("API key", ident)
        return key

    async def revoke(self, p: Principal, ident: str) -> None:
        """Revoking is always allowed on your own keys; it takes effect on the next request."""
        self._user(p)
        async with self._uow() as uow:
            key = await self._own(uow, p, ident)
            if key.revoked_at is None:
                await uow.api_keys.update(replace(key, revoked_at=self._clock.now()))
                await uow.auth_state.bump()
            await self._record(uow, p, "identity:delete", "api_key", key.id, {"name": key.name})
            await uow.commit()

    async def rotate(self, p: Principal, ident: str) -> tuple[ApiKey, str]:
        """A new key with the same name and tenant; the old one is revoked in the same step."""
        self._user(p)
        self.allow(p, "identity:create", "api_key", ident)
        async with self._uow() as uow:
            old = await self._own(uow, p, ident)
            key, raw = self._auth.make_key(p.id, old.tenant_id, old.name)
            await uow.api_keys.update(replace(old, revoked_at=old.revoked_at or self._clock.now()))
            await uow.api_keys.add(key)
            await uow.auth_state.bump()
            await self._record(
                uow, p, "identity:create", "api_key", key.id, {"rotated_from": old.id}
            )
            await uow.commit()
        return key, raw
