"""Real cryptography: bcrypt passwords, HMAC token hashes, AES-256-GCM secrets, HS256 JWTs."""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import bcrypt
import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from thecloud.adapters.crypto.keys import derive
from thecloud.domain.errors import CloudError, Unauthorized


class BcryptHasher:
    def __init__(self, rounds: int = 12) -> None:
        self._rounds = rounds

    async def hash(self, password: str) -> str:
        salt = bcrypt.gensalt(self._rounds)
        digest = await asyncio.to_thread(bcrypt.hashpw, password.encode(), salt)
        return digest.decode()

    async def verify(self, password: str, hashed: str) -> bool:
        return await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed.encode())


class HmacKeyHasher:
    def __init__(self, master: bytes) -> None:
        self._key = derive(master, "thecloud/token-hash")

    def digest(self, token: str) -> str:
        return hmac.digest(self._key, token.encode(), "sha256").hex()


class AesGcmCipher:
    """AES-256-GCM with a per-tenant key derived by HKDF from the master key."""

    def __init__(self, master: bytes) -> None:
        self._master = master
        self._aead = lru_cache(maxsize=4096)(self._make)

    def _make(self, tenant_id: str) -> AESGCM:
        return AESGCM(derive(self._master, f"thecloud/secrets/tenant/{tenant_id}"))

    def seal(self, tenant_id: str, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        nonce = os.urandom(12)
        return nonce, self._aead(tenant_id).encrypt(nonce, plaintext, aad)

    def open(self, tenant_id: str, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        try:
            return self._aead(tenant_id).decrypt(nonce, ciphertext, aad)
        except InvalidTag as exc:
            raise CloudError(
                "a stored secret failed authentication (wrong key or tampering)"
            ) from exc


class JwtCodec:
    def __init__(self, master: bytes, issuer: str = "thecloud") -> None:
        self._key = derive(master, "thecloud/jwt-hs256")
        self._issuer = issuer

    def issue(self, claims: Mapping[str, object], ttl_seconds: int) -> str:
        now = datetime.now(UTC)
        payload = {
            **claims,
            "iss": self._issuer,
            "iat": now,
            "exp": now + timedelta(seconds=ttl_seconds),
        }
        return jwt.encode(payload, self._key, algorithm="HS256")

    def decode(self, token: str) -> dict[str, object]:
        try:
            claims: dict[str, object] = jwt.decode(
                token,
                self._key,
                algorithms=["HS256"],
                issuer=self._issuer,
                options={"require": ["exp", "sub"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token expired; log in again") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid bearer token") from exc
        return claims
