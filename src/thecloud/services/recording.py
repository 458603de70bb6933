"""Writes the audit record and the event of a mutation, in the mutation's own transaction;
`system_event` is the event of a change the platform made by itself (the workers)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from thecloud.domain.audit import AuditRecord, Event
from thecloud.domain.common import new_id
from thecloud.domain.identity import Principal
from thecloud.ports.clock import Clock
from thecloud.ports.uow import UnitOfWork

SYSTEM = "system"  # the actor of what the platform does by itself


def system_event(
    tenant_id: str,
    kind: str,
    resource_type: str,
    resource_id: str,
    at: datetime,
    data: Mapping[str, object],
) -> Event:
    """An event of type `kind` whose actor is the platform (a worker or a reconciler)."""
    return Event(
        id=new_id(),
        tenant_id=tenant_id,
        type=kind,
        resource_type=resource_type,
        resource_id=resource_id,
        actor_id=SYSTEM,
        created_at=at,
        data=dict(data),
    )


class Recorder:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def record(
        self,
        uow: UnitOfWork,
        principal: Principal,
        action: str,
        resource_type: str,
        resource_id: str,
        details: Mapping[str, object] | None = None,
        *,
        tenant_id: str | None = None,
    ) -> None:
        """`action` is `<kind>:<verb>`; the event type is `<kind>.<verb>`."""
        now, tenant = self._clock.now(), tenant_id or principal.tenant_id
        data = dict(details or {})
        await uow.audit.add(
            AuditRecord(
                id=new_id(),
                tenant_id=tenant,
                actor_id=principal.id,
                actor_type=str(principal.type),
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                source_ip=principal.context.source_ip,
                request_id=principal.context.request_id,
                created_at=now,
                details=data,
            )
        )
        await uow.emit(
            Event(
                id=new_id(),
                tenant_id=tenant,
                type=action.replace(":", "."),
                resource_type=resource_type,
                resource_id=resource_id,
                actor_id=principal.id,
                created_at=now,
                data=data,
            )
        )
