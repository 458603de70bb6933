"""Idempotency-Key handling: the first response to a key is replayed for the same body."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from thecloud.domain.errors import Conflict, InvalidInput
from thecloud.domain.idempotency import IdempotencyRecord
from thecloud.ports.crypto import SecretCipher
from thecloud.services.base import Kernel, Service

STALE_AFTER = timedelta(minutes=2)


def _scope(principal_id: str) -> str:
    return f"idempotency/{principal_id}"


class IdempotencyService(Service):
    """Stored responses are sealed (AES-256-GCM, a key per principal): a create's response may
    carry a credential shown once, such as a new API key, and must not sit in the store in clear."""

    def __init__(self, kernel: Kernel, ttl_hours: int, cipher: SecretCipher) -> None:
        super().__init__(kernel)
        self._ttl = timedelta(hours=ttl_hours)
        self._cipher = cipher

    async def begin(
        self, principal_id: str, key: str, method: str, path: str, body_hash: str
    ) -> IdempotencyRecord | None:
        """None if the caller should run the request; the stored record to replay otherwise."""
        if not 1 <= len(key) <= 255:
            raise InvalidInput("Idempotency-Key must be 1 to 255 characters")
        ident, now = f"{principal_id}:{key}", self._clock.now()
        fresh = IdempotencyRecord(ident, principal_id, method, path, body_hash, 0, b"", now)
        async with self._uow() as uow:
            old = await uow.idempotency.get(ident)
            if old is None:
                await uow.idempotency.add(fresh)
            elif now - old.created_at > self._ttl or (
                not old.completed and now - old.created_at > STALE_AFTER
            ):
                await uow.idempotency.update(fresh)
            else:
                return self._replay(old, method, path, body_hash)
            await uow.commit()
        return None

    def _replay(
        self, old: IdempotencyRecord, method: str, path: str, body_hash: str
    ) -> IdempotencyRecord:
        if (old.method, old.path, old.body_hash) != (method, path, body_hash):
            raise Conflict(
                "Idempotency-Key was already used with a different request; use a new key"
            )
        if not old.completed:
            raise Conflict(
                "a request with this Idempotency-Key is still in progress; retry shortly"
            )
        nonce, sealed = old.response[:12], old.response[12:]
        plain = self._cipher.open(_scope(old.principal_id), nonce, sealed, old.key.encode())
        return replace(old, response=plain)

    async def complete(self, principal_id: str, key: str, status: int, body: bytes) -> None:
        async with self._uow() as uow:
            old = await uow.idempotency.get(f"{principal_id}:{key}")
            if old is not None:
                nonce, sealed = self._cipher.seal(_scope(principal_id), body, old.key.encode())
                done = replace(old, status_code=status, response=nonce + sealed, completed=True)
                await uow.idempotency.update(done)
                await uow.commit()

    async def abandon(self, principal_id: str, key: str) -> None:
        """Forget a key whose request failed, so the client can retry with it."""
        async with self._uow() as uow:
            await uow.idempotency.delete(f"{principal_id}:{key}")
            await uow.commit()
