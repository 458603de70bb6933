"""A secret of the secrets manager: ciphertext only, never the value at rest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from thecloud.domain.errors import InvalidInput

REDACTED = "[REDACTED]"
MAX_VALUE_BYTES = 64 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_+=.@-]{0,254}$")


@dataclass(frozen=True, slots=True)
class Secret:
    id: str
    tenant_id: str
    name: str
    description: str
    ciphertext: bytes
    nonce: bytes
    created_by: str
    created_at: datetime
    updated_at: datetime
    last_accessed_at: datetime | None = None
    version: int = 1


def validate_secret_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidInput(
            "secret name must be 1-255 characters: letters, digits and /_+=.@- "
            "(starting with a letter or digit)"
        )
    return name


def validate_secret_value(value: str) -> str:
    if not value:
        raise InvalidInput("secret value must not be empty")
    if len(value.encode()) > MAX_VALUE_BYTES:
        raise InvalidInput(f"secret value must be at most {MAX_VALUE_BYTES} bytes")
    return value
