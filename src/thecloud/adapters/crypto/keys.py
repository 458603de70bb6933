"""The master key: loaded from settings, or generated and persisted for the embedded default."""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from thecloud.domain.errors import ConfigurationError

log = logging.getLogger(__name__)
KEY_BYTES = 32


def decode_master_key(text: str) -> bytes:
    """Accept 64 hex characters or base64 of 32 bytes."""
    text = text.strip()
    try:
        key = (
            bytes.fromhex(text)
            if len(text) == 2 * KEY_BYTES
            else base64.b64decode(text, validate=True)
        )
    except (ValueError, binascii.Error) as exc:
        raise ConfigurationError(
            "THECLOUD_MASTER_KEY must be 64 hex chars or base64 of 32 bytes"
        ) from exc
    if len(key) != KEY_BYTES:
        raise ConfigurationError("THECLOUD_MASTER_KEY must decode to exactly 32 bytes")
    return key


def load_or_create_master_key(configured: str | None, path: Path, *, production: bool) -> bytes:
    """The configured key; in production it is required, else one is kept in `path`."""
    if configured:
        return decode_master_key(configured)
    if production:
        raise ConfigurationError(
            "refusing to start in production mode without THECLOUD_MASTER_KEY "
            "(64 hex chars; generate one with: openssl rand -hex 32)"
        )
    if path.exists():
        return _read_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex())
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # atomic: a complete file appears, or another process won
    except FileExistsError:
        return _read_key_file(path)
    finally:
        tmp.unlink()
    log.warning("generated a master key at %s; set THECLOUD_MASTER_KEY in production", path)
    return key


def _read_key_file(path: Path) -> bytes:
    try:
        return decode_master_key(path.read_text())
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"the master key file {path} is corrupt ({exc.message}); restore it from a backup "
            "(secrets sealed with it cannot be read without it) or set THECLOUD_MASTER_KEY"
        ) from exc


def derive(master: bytes, purpose: str, length: int = KEY_BYTES) -> bytes:
    """A sub-key for one purpose (HKDF-SHA256), so no two uses share key material."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose.encode())
    return hkdf.derive(master)
