"""Audit records (who changed what) and events (what happened), both tenant-scoped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: str
    tenant_id: str
    actor_id: str
    actor_type: str
    action: str
    resource_type: str
    resource_id: str
    source_ip: str
    request_id: str
    created_at: datetime
    outcome: str = "success"
    details: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened to a resource; `seq` orders the stream."""

    id: str
    tenant_id: str
    type: str
    resource_type: str
    resource_id: str
    actor_id: str
    created_at: datetime
    data: Mapping[str, object] = field(default_factory=dict)
    seq: int = 0
