"""Service accounts, their client secrets, and the client_credentials token exchange."""

from __future__ import annotations

import builtins
import secrets as pysecrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from thecloud.domain.common import ListQuery, Page, new_id
from thecloud.domain.errors import Conflict, InvalidInput, Unauthorized, not_found
from thecloud.domain.identity import (
    CLIENT_SECRET_PREFIX,
    Principal,
    ServiceAccount,
    ServiceAccountSecret,
    validate_name,
)
from thecloud.ports.crypto import KeyHasher
from thecloud.ports.uow import UnitOfWork
from thecloud.services.auth import AuthService
from thecloud.services.authz import ensure_grantable
from thecloud.services.base import Kernel, Service


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    secret: ServiceAccountSecret
    client_secret: str


@dataclass(frozen=True, slots=True)
class ServiceToken:
    access_token: str
    expires_in: int
    expires_at: datetime


class ServiceAccountService(Service):
    def __init__(
        self, kernel: Kernel, hasher: KeyHasher, auth: AuthService, token_ttl: int
    ) -> None:
        super().__init__(kernel)
        self._hasher, self._auth, self._ttl = hasher, auth, token_ttl

    async def create(
        self, p: Principal, name: str, role: str, description: str = ""
    ) -> tuple[ServiceAccount, IssuedSecret]:
        name = validate_name(name, "service account name", 100)
        self.allow(p, "service_account:create", "service_account", name=name)
        sa = ServiceAccount(new_id(), p.tenant_id, name, role, description, p.id, self._clock.now())
        async with self._uow() as uow:
            granted = await uow.roles.by_name(p.tenant_id, role)
            if granted is None:
                raise InvalidInput(
                    f"role {role!r} does not exist (built-in: owner, admin, developer, viewer)"
                )
            ensure_grantable(p, granted.permissions)
            if await uow.service_accounts.find_one(tenant_id=p.tenant_id, name=name):
                raise Conflict(f"service account {name!r} already exists")
            await uow.service_accounts.add(sa)
            issued = await self._new_secret(uow, sa)
            await self._record(
                uow,
                p,
                "service_account:create",
                "service_account",
                sa.id,
                {"name": name, "role": role},
            )
            await uow.commit()
        return sa, issued

    async def _new_secret(self, uow: UnitOfWork, sa: ServiceAccount) -> IssuedSecret:
        raw = CLIENT_SECRET_PREFIX + pysecrets.token_urlsafe(32)
        secret = ServiceAccountSecret(
            new_id(), sa.id, sa.tenant_id, self._hasher.digest(raw), raw[:10], self._clock.now()
        )
        await uow.sa_secrets.add(secret)
        return IssuedSecret(secret, raw)

    async def list(self, p: Principal, query: ListQuery) -> Page[ServiceAccount]:
        self.allow(p, "service_account:read", "service_account")
        async with self._uow(read_only=True) as uow:
            return await uow.service_accounts.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> ServiceAccount:
        async with self._uow(read_only=True) as uow:
            sa = await self._find(uow, p, ident)
        self.allow(p, "service_account:read", "service_account", sa.id, sa.name)
        return sa

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> ServiceAccount:
        sa = await uow.service_accounts.get(ident, p.tenant_id)
        if sa is None:
            raise not_found("service account", ident)
        return sa

    async def delete(self, p: Principal, ident: str) -> None:
        async with self._uow() as uow:
            sa = await self._find(uow, p, ident)
            self.allow(p, "service_account:delete", "service_account", sa.id, sa.name)
            await uow.service_accounts.delete(sa.id, p.tenant_id)
            await uow.auth_state.bump()
            await self._record(
                uow, p, "service_account:delete", "service_account", sa.id, {"name": sa.name}
            )
            await uow.commit()

    async def secrets(self, p: Principal, ident: str) -> builtins.list[ServiceAccountSecret]:
        async with self._uow(read_only=True) as uow:
            sa = await self._find(uow, p, ident)
            self.allow(p, "service_account:read", "service_account", sa.id, sa.name)
            return await uow.sa_secrets.find(service_account_id=sa.id)

    async def rotate(self, p: Principal, ident: str) -> IssuedSecret:
        """A new client secret; the old ones are revoked."""
        async with self._uow() as uow:
            sa = await self._find(uow, p, ident)
            self.allow(p, "service_account:update", "service_account", sa.id, sa.name)
            for old in await uow.sa_secrets.find(service_account_id=sa.id, revoked_at=None):
                await uow.sa_secrets.update(replace(old, revoked_at=self._clock.now()))
            issued = await self._new_secret(uow, sa)
            await uow.auth_state.bump()
            await self._record(
                uow, p, "service_account:update", "service_account", sa.id, {"rotated": True}
            )
            await uow.commit()
        return issued

    async def revoke_secret(self, p: Principal, ident: str, secret_id: str) -> None:
        async with self._uow() as uow:
            sa = await self._find(uow, p, ident)
            self.allow(p, "service_account:update", "service_account", sa.id, sa.name)
            secret = await uow.sa_secrets.find_one(id=secret_id, service_account_id=sa.id)
            if secret is None:
                raise not_found("client secret", secret_id)
            await uow.sa_secrets.update(
                replace(secret, revoked_at=secret.revoked_at or self._clock.now())
            )
            await uow.auth_state.bump()
            await self._record(
                uow, p, "service_account:update", "service_account", sa.id, {"revoked": secret_id}
            )
            await uow.commit()

    async def token(self, client_id: str, client_secret: str) -> ServiceToken:
        """OAuth2 client_credentials: a short-lived JWT for the service account."""
        async with self._uow(read_only=True) as uow:
            sa = await uow.service_accounts.get(client_id)
            secret = await uow.sa_secrets.find_one(secret_hash=self._hasher.digest(client_secret))
        if (
            sa is None
            or not sa.enabled
            or secret is None
            or secret.service_account_id != sa.id
            or secret.revoked_at
        ):
            raise Unauthorized("invalid client_id or client_secret")
        token = self._auth.issue_service_token(sa.id, sa.tenant_id, self._ttl)
        return ServiceToken(token, self._ttl, self._clock.now() + timedelta(seconds=self._ttl))
