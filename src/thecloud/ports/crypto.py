"""Cryptographic roles: password hashing, keyed hashing of tokens, secret sealing, JWTs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str:
        """A salted slow hash of the password (bcrypt in production)."""
        ...

    async def verify(self, password: str, hashed: str) -> bool:
        """Whether the password matches; constant-time."""
        ...


class KeyHasher(Protocol):
    def digest(self, token: str) -> str:
        """A keyed hash (HMAC) of an API key or client secret: what the store keeps."""
        ...


class SecretCipher(Protocol):
    def seal(self, tenant_id: str, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        """Encrypt with the tenant's derived key; returns (nonce, ciphertext)."""
        ...

    def open(self, tenant_id: str, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """Decrypt and authenticate; raises on tampering."""
        ...


class TokenCodec(Protocol):
    def issue(self, claims: Mapping[str, object], ttl_seconds: int) -> str:
        """A signed token carrying the claims, expiring after the TTL."""
        ...

    def decode(self, token: str) -> dict[str, object]:
        """The claims of a valid, unexpired token; raises Unauthorized otherwise."""
        ...


class DataKeys(Protocol):
    """Envelope encryption of object data: a fresh data key per blob, sealed by the tenant's
    object key (derived from the master key) or by a customer's key (SSE-C)."""

    def new(self) -> bytes:
        """A new random 32-byte data key."""
        ...

    def seal(
        self, tenant_id: str, data_key: bytes, aad: bytes, customer_key: bytes | None = None
    ) -> str:
        """The data key wrapped (AES-256-GCM) for storage, as text."""
        ...

    def open(
        self, tenant_id: str, sealed: str, aad: bytes, customer_key: bytes | None = None
    ) -> bytes:
        """The data key back; raises Forbidden when the key (or customer key) is wrong."""
        ...

    def encrypt(self, data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """A small object's bytes sealed whole with its data key (AES-256-GCM, random
        nonce), to be kept in its metadata row instead of a blob."""
        ...

    def decrypt(self, data_key: bytes, sealed: bytes, aad: bytes) -> bytes:
        """What encrypt() sealed; raises CloudError when it fails authentication."""
        ...
