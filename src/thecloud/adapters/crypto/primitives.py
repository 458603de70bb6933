"""Real cryptography: bcrypt passwords, HMAC token hashes, AES-256-GCM secrets, HS256 JWTs."""

from __future__ import annotations

import asyncio
import base64
import binascii
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
from thecloud.domain.errors import CloudError, Forbidden, InvalidInput, Unauthorized


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


class AesGcmDataKeys:
    """Envelope keys of object data: a random data key per blob, wrapped with AES-256-GCM
    under the tenant's object key (HKDF of the master key) or an SSE-C customer key; the
    sealed form is base64(nonce || ciphertext)."""

    def __init__(self, master: bytes) -> None:
        self._master = master
        self._aead = lru_cache(maxsize=4096)(self._make)

    def _make(self, tenant_id: str) -> AESGCM:
        return AESGCM(derive(self._master, f"thecloud/objects/tenant/{tenant_id}"))

    def _wrapper(self, tenant_id: str, customer_key: bytes | None) -> AESGCM:
        if customer_key is None:
            return self._aead(tenant_id)
        if len(customer_key) != 32:
            raise InvalidInput("an SSE-C customer key must be 32 bytes (AES-256)")
        return AESGCM(customer_key)

    def new(self) -> bytes:
        return os.urandom(32)

    def seal(
        self, tenant_id: str, data_key: bytes, aad: bytes, customer_key: bytes | None = None
    ) -> str:
        nonce = os.urandom(12)
        wrapped = self._wrapper(tenant_id, customer_key).encrypt(nonce, data_key, aad)
        return base64.b64encode(nonce + wrapped).decode()

    def open(
        self, tenant_id: str, sealed: str, aad: bytes, customer_key: bytes | None = None
    ) -> bytes:
        raw = _unbase64(sealed)
        try:
            return self._wrapper(tenant_id, customer_key).decrypt(raw[:12], raw[12:], aad)
        except InvalidTag as exc:
            raise Forbidden(_WRONG_KEY if customer_key is None else _WRONG_CUSTOMER_KEY) from exc

    def encrypt(self, data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(data_key).encrypt(nonce, plaintext, aad)

    def decrypt(self, data_key: bytes, sealed: bytes, aad: bytes) -> bytes:
        try:
            return AESGCM(data_key).decrypt(sealed[:12], sealed[12:], aad)
        except (InvalidTag, ValueError) as exc:
            raise CloudError(_INLINE_DAMAGED) from exc


_WRONG_KEY = "the object's data key does not open with this tenant's key (wrong key or altered)"
_INLINE_DAMAGED = "stored object data failed authentication (wrong data key, or row altered)"
_WRONG_CUSTOMER_KEY = "the customer key does not match the one the object was written with (SSE-C)"


def _unbase64(sealed: str) -> bytes:
    try:
        raw = base64.b64decode(sealed, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise CloudError("a sealed object data key is damaged (not base64)") from exc
    if len(raw) < 12 + 16:
        raise CloudError("a sealed object data key is damaged (too short)")
    return raw
