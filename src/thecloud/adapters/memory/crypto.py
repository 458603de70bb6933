"""Fast crypto fakes: a salted SHA-256 password hasher and a clock-driven signed token codec."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping

from thecloud.domain.errors import CloudError, Forbidden, InvalidInput, Unauthorized
from thecloud.ports.clock import Clock


class FakePasswordHasher:
    """`fake$<salt>$<sha256(salt + password)>`: salted like bcrypt, but microseconds fast."""

    async def hash(self, password: str) -> str:
        salt = os.urandom(8).hex()
        return f"fake${salt}${self._digest(salt, password)}"

    async def verify(self, password: str, hashed: str) -> bool:
        scheme, _, rest = hashed.partition("$")
        salt, _, digest = rest.partition("$")
        if scheme != "fake" or not digest:
            return False
        return hmac.compare_digest(digest, self._digest(salt, password))

    @staticmethod
    def _digest(salt: str, password: str) -> str:
        return hashlib.sha256((salt + password).encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeTokenCodec:
    """HMAC-signed JSON claims whose expiry follows the injected clock (JwtCodec reads the
    system clock, so tests could not expire its tokens without sleeping)."""

    def __init__(self, clock: Clock, key: bytes = b"fake-token-key") -> None:
        self._clock, self._key = clock, key

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, claims: Mapping[str, object], ttl_seconds: int) -> str:
        now = self._clock.now().timestamp()
        body = {**claims, "iss": "thecloud", "iat": now, "exp": now + ttl_seconds}
        payload = _b64(json.dumps(body, sort_keys=True, default=str).encode())
        return f"fake.{payload}.{self._sign(payload)}"

    def decode(self, token: str) -> dict[str, object]:
        claims = self._verified(token)
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or "sub" not in claims:
            raise Unauthorized("invalid bearer token")
        if exp <= self._clock.now().timestamp():
            raise Unauthorized("token expired; log in again")
        return claims

    def _verified(self, token: str) -> dict[str, object]:
        scheme, _, rest = token.partition(".")
        payload, _, signature = rest.partition(".")
        if scheme != "fake" or not hmac.compare_digest(signature, self._sign(payload)):
            raise Unauthorized("invalid bearer token")
        try:
            claims = json.loads(_unb64(payload))
        except ValueError as exc:
            raise Unauthorized("invalid bearer token") from exc
        if not isinstance(claims, dict):
            raise Unauthorized("invalid bearer token")
        return claims


class PlainDataKeys:
    """Object data keys without cryptography: the "sealed" form is the key in base64 beside a
    check of who sealed it (tenant or customer key) and the aad, so opening with the wrong
    one fails with the same Forbidden as AesGcmDataKeys."""

    def new(self) -> bytes:
        return os.urandom(32)

    @staticmethod
    def _check(tenant_id: str, aad: bytes, customer_key: bytes | None) -> str:
        who = (
            b"customer:" + customer_key
            if customer_key is not None
            else b"tenant:" + tenant_id.encode()
        )
        return hashlib.sha256(who + b"|" + aad).hexdigest()[:16]

    def seal(
        self, tenant_id: str, data_key: bytes, aad: bytes, customer_key: bytes | None = None
    ) -> str:
        if customer_key is not None and len(customer_key) != 32:
            raise InvalidInput("an SSE-C customer key must be 32 bytes (AES-256)")
        return f"plain${_b64(data_key)}${self._check(tenant_id, aad, customer_key)}"

    def open(
        self, tenant_id: str, sealed: str, aad: bytes, customer_key: bytes | None = None
    ) -> bytes:
        scheme, key, check = (sealed.split("$") + ["", ""])[:3]
        if scheme != "plain" or not key:
            raise CloudError("a sealed object data key is damaged (test)")
        if not hmac.compare_digest(check, self._check(tenant_id, aad, customer_key)):
            raise Forbidden(
                "the customer key does not match the one the object was written with (SSE-C)"
                if customer_key is not None
                else "the object's data key does not open with this tenant's key (test)"
            )
        return _unb64(key)

    def encrypt(self, data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return _check_of(data_key, aad, plaintext) + plaintext

    def decrypt(self, data_key: bytes, sealed: bytes, aad: bytes) -> bytes:
        plaintext = sealed[8:]
        if not hmac.compare_digest(sealed[:8], _check_of(data_key, aad, plaintext)):
            raise CloudError("stored object data failed authentication (test)")
        return plaintext


def _check_of(data_key: bytes, aad: bytes, plaintext: bytes) -> bytes:
    """What the test form of inline data starts with: 8 bytes of a hash of key, aad and
    plaintext, so a wrong key or altered bytes fail as AES-GCM's tag would."""
    return hashlib.sha256(data_key + b"|" + aad + b"|" + plaintext).digest()[:8]
