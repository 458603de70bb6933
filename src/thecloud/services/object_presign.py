"""Presigned object URLs: HMAC-SHA256 grants to GET or PUT one object as its signer, for a while."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from thecloud.domain.common import RequestContext
from thecloud.domain.errors import Forbidden, InvalidInput
from thecloud.domain.identity import Principal, PrincipalType
from thecloud.domain.objects import validate_key
from thecloud.ports.uow import UnitOfWork
from thecloud.services.base import Kernel, Service
from thecloud.services.buckets import BucketService
from thecloud.services.principals import bare_principal, load_principal

MAX_EXPIRES_SECONDS = 7 * 24 * 3600  # S3's limit for presigned URLs
ACTIONS = {"GET": "s3:GetObject", "PUT": "s3:PutObject"}


@dataclass(frozen=True, slots=True)
class Grant:
    """What a presigned URL carries: the request it allows, who signed it, and the signature."""

    method: str
    bucket: str
    key: str
    expires: int  # Unix time
    tenant_id: str
    principal_id: str
    signature: str = ""

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.expires, UTC)

    def message(self) -> bytes:
        """Every field, unambiguously (keys may hold any character)."""
        fields = [self.method, self.bucket, self.key, self.expires]
        return json.dumps([*fields, self.tenant_id, self.principal_id]).encode()


class Presigner(Service):
    def __init__(self, kernel: Kernel, buckets: BucketService, key: bytes) -> None:
        super().__init__(kernel)
        self._buckets, self._key = buckets, key

    def _sign(self, grant: Grant) -> str:
        return hmac.new(self._key, grant.message(), hashlib.sha256).hexdigest()

    async def sign(
        self, p: Principal, method: str, bucket_name: str, key: str, expires_in: int
    ) -> Grant:
        """A grant for `method` (GET or PUT) on the object, valid `expires_in` seconds; the
        signer must be allowed that call now (and still be when the URL is used)."""
        action = ACTIONS.get(method.upper())
        if action is None:
            raise InvalidInput(f"a presigned URL is for GET or PUT, not {method!r}")
        if not 1 <= expires_in <= MAX_EXPIRES_SECONDS:
            raise InvalidInput(f"expires_in is 1-{MAX_EXPIRES_SECONDS} seconds, not {expires_in}")
        validate_key(key)
        bucket = await self._buckets.get(p, bucket_name, action)
        self._buckets.check(p, action, bucket, key)
        expires = int(self._clock.now().timestamp()) + expires_in
        grant = Grant(method.upper(), bucket.name, key, expires, p.tenant_id, p.id)
        return replace(grant, signature=self._sign(grant))

    async def principal(self, grant: Grant, ctx: RequestContext) -> Principal:
        """The signer, as they are now, if the signature holds and has not expired."""
        if not hmac.compare_digest(self._sign(grant), grant.signature.lower()):
            raise Forbidden("the presigned URL's signature does not match: it was altered, or "
                            "not made by this platform")  # fmt: skip
        if grant.expires <= self._clock.now().timestamp():
            raise Forbidden(f"the presigned URL expired at {grant.expires_at.isoformat()}")
        async with self._uow(read_only=True) as uow:
            signer = await _signer(uow, grant)
        return replace(signer, context=ctx)


async def _signer(uow: UnitOfWork, grant: Grant) -> Principal:
    """The user or service account who signed, with their rights in the tenant today."""
    user = await uow.users.get(grant.principal_id)
    if user is not None:
        base = bare_principal(user.id, PrincipalType.USER, user.name, user.email)
        return await load_principal(uow, base, grant.tenant_id)
    sa = await uow.service_accounts.get(grant.principal_id)
    if sa is None or not sa.enabled or sa.tenant_id != grant.tenant_id:
        raise Forbidden("the signer of this presigned URL no longer exists or is disabled")
    base = bare_principal(sa.id, PrincipalType.SERVICE_ACCOUNT, sa.name)
    return await load_principal(uow, base, sa.tenant_id, extra_roles=(sa.role,))
