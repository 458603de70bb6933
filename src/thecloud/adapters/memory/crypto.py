"""Fast crypto fakes: a salted SHA-256 password hasher and a clock-driven signed token codec."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping

from thecloud.domain.errors import Unauthorized
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
