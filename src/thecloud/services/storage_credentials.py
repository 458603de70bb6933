"""S3 access keys: issue (the secret shown once), list, revoke; and resolve an access key id
to its principal and secret for the S3 endpoint's signature checks."""

from __future__ import annotations

import base64
import secrets
import time
from dataclasses import dataclass, replace

from thecloud.domain.common import ListQuery, Page, RequestContext, new_id
from thecloud.domain.errors import InvalidInput, not_found
from thecloud.domain.identity import Principal, PrincipalType
from thecloud.domain.objects import CredentialStatus, S3Forbidden, StorageCredential
from thecloud.ports.access import AccessWatch
from thecloud.ports.crypto import SecretCipher
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service, by_id
from thecloud.services.principals import bare_principal, load_principal

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
CACHE_SECONDS = 60.0


def new_access_key_id() -> str:
    """20 characters, like AWS's: 'TC' and 18 random base32 characters."""
    return "TC" + "".join(secrets.choice(_ALPHABET) for _ in range(18))


def new_secret_key() -> str:
    return secrets.token_urlsafe(30)  # 40 characters


@dataclass(frozen=True, slots=True)
class Signer:
    """Who signs with an access key, and the secret their signatures are checked with."""

    principal: Principal
    secret: str
    credential_id: str


@dataclass(frozen=True, slots=True)
class _Cached:
    signer: Signer
    generation: int
    expires: float


class StorageCredentialService(Service):
    def __init__(self, kernel: Kernel, cipher: SecretCipher, watch: AccessWatch | None) -> None:
        super().__init__(kernel)
        self._cipher, self._watch = cipher, watch
        self._cache: dict[str, _Cached] = {}

    def _seal(self, tenant_id: str, access_key_id: str, secret: str) -> str:
        nonce, sealed = self._cipher.seal(tenant_id, secret.encode(), access_key_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def _unseal(self, cred: StorageCredential) -> str:
        raw = base64.b64decode(cred.sealed_secret)
        aad = cred.access_key_id.encode()
        return self._cipher.open(cred.tenant_id, raw[:12], raw[12:], aad).decode()

    async def create(
        self, p: Principal, description: str = "", service_account_id: str | None = None
    ) -> tuple[StorageCredential, str]:
        """A new key pair for the caller (anyone who may read storage: the key carries only
        the caller's own rights), or for one of the tenant's service accounts."""
        self.allow(p, "storage:read", "storage_credential")
        if len(description) > 256:
            raise InvalidInput("description is at most 256 characters")
        async with self._uow() as uow:
            owner, kind = await self._owner(uow, p, service_account_id)
            cred, secret = self._new(p, owner, kind, description)
            await uow.storage_credentials.add(cred)
            await uow.auth_state.bump()
            await self._record(
                uow, p, "storage:write", "storage_credential", cred.id,
                {"access_key_id": cred.access_key_id, "principal_id": owner},
            )  # fmt: skip
            await uow.commit()
        return cred, secret

    async def _owner(
        self, uow: UnitOfWork, p: Principal, service_account_id: str | None
    ) -> tuple[str, str]:
        if service_account_id is None:
            return p.id, str(p.type)
        self.allow(p, "storage:write", "storage_credential")
        self.allow(p, "service_account:update", "service_account", service_account_id)
        sa = await by_id(uow.service_accounts, "service account", p.tenant_id, service_account_id)
        return sa.id, str(PrincipalType.SERVICE_ACCOUNT)

    def _new(
        self, p: Principal, owner: str, kind: str, description: str
    ) -> tuple[StorageCredential, str]:
        akid, secret = new_access_key_id(), new_secret_key()
        cred = StorageCredential(
            id=new_id(), tenant_id=p.tenant_id, access_key_id=akid,
            sealed_secret=self._seal(p.tenant_id, akid, secret), principal_id=owner,
            principal_type=kind, description=description, status=CredentialStatus.ACTIVE,
            created_at=self._clock.now(), created_by=p.id,
        )  # fmt: skip
        return cred, secret

    async def list(self, p: Principal, query: ListQuery) -> Page[StorageCredential]:
        self.allow(p, "storage:read", "storage_credential")
        async with self._uow(read_only=True) as uow:
            return await uow.storage_credentials.list(query, p.tenant_id)

    async def get(self, p: Principal, ident: str) -> StorageCredential:
        self.allow(p, "storage:read", "storage_credential", ident)
        async with self._uow(read_only=True) as uow:
            return await self._find(uow, p, ident)

    async def _find(self, uow: UnitOfWork, p: Principal, ident: str) -> StorageCredential:
        found = await uow.storage_credentials.get(ident, p.tenant_id)
        found = found or await uow.storage_credentials.find_one(
            tenant_id=p.tenant_id, access_key_id=ident
        )
        if found is None:
            raise not_found("storage credential", ident)
        return found

    async def revoke(self, p: Principal, ident: str) -> StorageCredential:
        """Revoked at once in every server process (the auth generation moves)."""
        async with self._uow() as uow:
            cred = await self._find(uow, p, ident)
            if cred.principal_id != p.id:
                self.allow(p, "storage:delete", "storage_credential", cred.id)
            if cred.status is CredentialStatus.ACTIVE:
                cred = replace(cred, status=CredentialStatus.REVOKED)
                await uow.storage_credentials.update(cred)
                await uow.auth_state.bump()
            await self._record(uow, p, "storage:delete", "storage_credential", cred.id)
            await uow.commit()
        return cred

    async def signer(self, access_key_id: str, ctx: RequestContext) -> Signer:
        """The principal and secret behind an access key id; InvalidAccessKeyId if there is
        no active one."""
        pushed = self._watch.current() if self._watch is not None else None
        hit = self._cache.get(access_key_id)
        if pushed is not None and hit and self._fresh(hit, pushed):
            return _with_context(hit.signer, ctx)
        async with self._uow(read_only=True) as uow:
            generation = await uow.auth_state.generation()  # never the pushed value: see auth
            if hit and self._fresh(hit, generation):
                return _with_context(hit.signer, ctx)
            signer = await self._load(uow, access_key_id)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[access_key_id] = _Cached(signer, generation, time.monotonic() + CACHE_SECONDS)
        return _with_context(signer, ctx)

    @staticmethod
    def _fresh(hit: _Cached, generation: int) -> bool:
        return hit.generation == generation and hit.expires > time.monotonic()

    async def _load(self, uow: UnitOfWork, access_key_id: str) -> Signer:
        cred = await uow.storage_credentials.find_one(access_key_id=access_key_id)
        if cred is None or cred.status is not CredentialStatus.ACTIVE:
            raise S3Forbidden(
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        principal = await self._principal(uow, cred)
        return Signer(principal, self._unseal(cred), cred.id)

    async def _principal(self, uow: UnitOfWork, cred: StorageCredential) -> Principal:
        if cred.principal_type == PrincipalType.SERVICE_ACCOUNT:
            sa = await uow.service_accounts.get(cred.principal_id)
            if sa is None or not sa.enabled:
                raise S3Forbidden("InvalidAccessKeyId", "the service account is disabled")
            base = bare_principal(sa.id, PrincipalType.SERVICE_ACCOUNT, sa.name)
            return await load_principal(uow, base, sa.tenant_id, extra_roles=(sa.role,))
        user = await uow.users.get(cred.principal_id)
        if user is None:
            raise S3Forbidden("InvalidAccessKeyId", "the user of this access key is gone")
        base = bare_principal(user.id, PrincipalType.USER, user.name, user.email)
        return await load_principal(uow, base, cred.tenant_id)


def _with_context(signer: Signer, ctx: RequestContext) -> Signer:
    return replace(signer, principal=replace(signer.principal, context=ctx))
