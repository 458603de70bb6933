"""Registration, login with lockout, and authentication of API keys and bearer tokens."""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from thecloud.domain.common import RequestContext, new_id
from thecloud.domain.errors import AccountLocked, Conflict, Unauthorized
from thecloud.domain.identity import (
    API_KEY_PREFIX,
    ApiKey,
    LoginFailures,
    Principal,
    PrincipalType,
    Tenant,
    User,
    normalize_email,
    slugify,
    validate_name,
    validate_password,
)
from thecloud.ports.access import AccessWatch
from thecloud.ports.crypto import KeyHasher, PasswordHasher, TokenCodec
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service
from thecloud.services.principals import PrincipalCache, bare_principal, load_principal
from thecloud.services.tenancy import TenantSetup


@dataclass(frozen=True, slots=True)
class AuthSettings:
    token_ttl_seconds: int = 3600
    max_failures: int = 5
    lockout_seconds: int = 900


@dataclass(frozen=True, slots=True)
class Registration:
    user: User
    tenant: Tenant
    api_key: str
    key: ApiKey
    token: str


@dataclass(frozen=True, slots=True)
class Login:
    user: User
    token: str
    expires_at: datetime


def new_api_key() -> str:
    return API_KEY_PREFIX + pysecrets.token_hex(16)


class AuthService(Service):
    def __init__(
        self,
        kernel: Kernel,
        passwords: PasswordHasher,
        hasher: KeyHasher,
        tokens: TokenCodec,
        tenants: TenantSetup,
        settings: AuthSettings,
        watch: AccessWatch | None = None,
    ) -> None:
        super().__init__(kernel)
        self._passwords, self._hasher, self._tokens = passwords, hasher, tokens
        self._tenants, self._settings = tenants, settings
        self._cache = PrincipalCache()
        self._watch = watch
        self._dummy_hash = ""

    async def register(
        self, email: str, password: str, name: str, ctx: RequestContext
    ) -> Registration:
        email, name = normalize_email(email), validate_name(name)
        pw_hash = await self._passwords.hash(validate_password(password))
        now, uid = self._clock.now(), new_id()
        async with self._uow() as uow:
            if await uow.users.find_one(email=email):
                raise Conflict(f"a user with email {email} is already registered; log in instead")
            tenant = await self._tenants.create_tenant(
                uow, f"{name}'s tenant", self._slug(email), uid, personal=True
            )
            user = User(uid, email, name, pw_hash, tenant.id, now, now)
            await uow.users.add(user)
            principal = replace(
                bare_principal(uid, PrincipalType.USER, name, email),
                tenant_id=tenant.id,
                context=ctx,
            )
            key, raw = self.make_key(uid, tenant.id, "default")
            await uow.api_keys.add(key)
            await self._record(uow, principal, "identity:register", "user", uid, {"email": email})
            await uow.commit()
        token = self._issue(
            user.id, PrincipalType.USER, tenant.id, self._settings.token_ttl_seconds
        )
        return Registration(user, tenant, raw, key, token)

    def _slug(self, email: str) -> str:
        return f"{slugify(email.split('@')[0])}-{pysecrets.token_hex(3)}"

    def make_key(self, user_id: str, tenant_id: str, name: str) -> tuple[ApiKey, str]:
        raw = new_api_key()
        key = ApiKey(
            new_id(),
            user_id,
            tenant_id,
            name,
            self._hasher.digest(raw),
            raw[:13],
            self._clock.now(),
        )
        return key, raw

    async def login(self, email: str, password: str, ctx: RequestContext) -> Login:
        email = email.strip().lower()
        async with self._uow(read_only=True) as uow:
            await self._check_lock(uow, email)
            user = await uow.users.find_one(email=email)
        # checked outside any write transaction: bcrypt takes tens of milliseconds, for which
        # every other writer of the store would wait
        ok = await self._passwords.verify(
            password, user.password_hash if user else await self._dummy()
        )
        async with self._uow() as uow:
            await self._check_lock(uow, email)  # other failures may have locked it meanwhile
            if user is None or not ok:
                await self._fail(uow, email)
                await uow.commit()
                raise Unauthorized("invalid email or password")
            await uow.login_failures.delete(email)
            principal = replace(
                bare_principal(user.id, PrincipalType.USER, user.name, email),
                tenant_id=user.default_tenant_id,
                context=ctx,
            )
            await self._record(uow, principal, "identity:login", "user", user.id)
            await uow.commit()
        ttl = self._settings.token_ttl_seconds
        token = self._issue(user.id, PrincipalType.USER, user.default_tenant_id, ttl)
        return Login(user, token, self._clock.now() + timedelta(seconds=ttl))

    async def _dummy(self) -> str:
        """A real hash to verify against for unknown emails, so timing reveals nothing."""
        if not self._dummy_hash:
            self._dummy_hash = await self._passwords.hash(new_id())
        return self._dummy_hash

    async def _check_lock(self, uow: UnitOfWork, email: str) -> None:
        record = await uow.login_failures.get(email)
        if record and record.locked_until and record.locked_until > self._clock.now():
            wait = int((record.locked_until - self._clock.now()).total_seconds()) + 1
            raise AccountLocked(
                f"too many failed logins; try again in {wait} s", details={"retry_after": wait}
            )

    async def _fail(self, uow: UnitOfWork, email: str) -> None:
        now, limit = self._clock.now(), self._settings.max_failures
        record = await uow.login_failures.get(email)
        count = (record.count if record else 0) + 1
        locked = now + timedelta(seconds=self._settings.lockout_seconds) if count >= limit else None
        fresh = LoginFailures(email, 0 if locked else count, locked, now)
        await (uow.login_failures.update(fresh) if record else uow.login_failures.add(fresh))

    def _issue(self, sub: str, kind: PrincipalType, tenant_id: str, ttl: int) -> str:
        return self._tokens.issue(
            {"sub": sub, "typ": str(kind), "tid": tenant_id, "jti": new_id()}, ttl
        )

    def issue_service_token(self, sa_id: str, tenant_id: str, ttl: int) -> str:
        return self._issue(sa_id, PrincipalType.SERVICE_ACCOUNT, tenant_id, ttl)

    async def authenticate(
        self, api_key: str | None, bearer: str | None, tenant: str | None, ctx: RequestContext
    ) -> Principal:
        """The principal behind an API key or a bearer token, in the requested tenant."""
        if not api_key and not bearer:
            raise Unauthorized(
                "authentication required: send X-API-Key or Authorization: Bearer <token>"
            )
        credential = self._hasher.digest(api_key) if api_key else f"jwt:{bearer}"
        claims = None if api_key else self._tokens.decode(bearer or "")
        key = (credential, tenant or "")
        pushed = self._watch.current() if self._watch is not None else None
        if pushed is not None and (hit := self._cache.get(key, pushed, ctx)) is not None:
            return hit
        async with self._uow(read_only=True) as uow:
            # tagged with the store's generation: a pushed value may announce a change the
            # store does not show yet (ports/access.py)
            generation = await uow.auth_state.generation()
            if (hit := self._cache.get(key, generation, ctx)) is not None:
                return hit
            if api_key:
                principal = await self._from_key(uow, credential, tenant)
            else:
                principal = await self._from_claims(uow, claims or {}, tenant)
        self._cache.put(key, generation, principal)
        return replace(principal, context=ctx)

    async def _from_key(self, uow: UnitOfWork, digest: str, tenant: str | None) -> Principal:
        key = await uow.api_keys.find_one(key_hash=digest)
        now = self._clock.now()
        if key is None or not key.active or (key.expires_at and key.expires_at <= now):
            raise Unauthorized("invalid, expired or revoked API key")
        user = await uow.users.get(key.user_id)
        if user is None:
            raise Unauthorized("invalid, expired or revoked API key")
        base = replace(
            bare_principal(user.id, PrincipalType.USER, user.name, user.email), api_key_id=key.id
        )
        return await load_principal(uow, base, tenant or key.tenant_id)

    async def _from_claims(
        self, uow: UnitOfWork, claims: dict[str, object], tenant: str | None
    ) -> Principal:
        sub, tid = str(claims.get("sub", "")), str(claims.get("tid", ""))
        if claims.get("typ") == PrincipalType.SERVICE_ACCOUNT:
            sa = await uow.service_accounts.get(sub)
            if sa is None or not sa.enabled or (tenant and tenant != sa.tenant_id):
                raise Unauthorized("service account token is no longer valid for this tenant")
            base = bare_principal(sa.id, PrincipalType.SERVICE_ACCOUNT, sa.name)
            return await load_principal(uow, base, sa.tenant_id, extra_roles=(sa.role,))
        user = await uow.users.get(sub)
        if user is None:
            raise Unauthorized("the user of this token no longer exists")
        base = bare_principal(user.id, PrincipalType.USER, user.name, user.email)
        return await load_principal(uow, base, tenant or tid or user.default_tenant_id)
