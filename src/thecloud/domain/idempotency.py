"""A remembered response for an Idempotency-Key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    principal_id: str
    method: str
    path: str
    body_hash: str
    status_code: int
    response: bytes
    created_at: datetime
    completed: bool = False
