"""Reading the audit log and the event stream of a tenant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from thecloud.domain.audit import AuditRecord, Event
from thecloud.domain.common import ListQuery, Page
from thecloud.domain.identity import Principal
from thecloud.services.base import Kernel, Service


class EventBus:
    """Wakes live streams in this process when events commit; streams also poll the store."""

    def __init__(self) -> None:
        self._waiters: set[asyncio.Event] = set()

    def publish(self, _events: list[Event]) -> None:
        for waiter in self._waiters:
            waiter.set()

    def waiter(self) -> asyncio.Event:
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        return waiter

    def forget(self, waiter: asyncio.Event) -> None:
        self._waiters.discard(waiter)


class ActivityService(Service):
    def __init__(self, kernel: Kernel, bus: EventBus, poll_seconds: float = 1.0) -> None:
        super().__init__(kernel)
        self._bus, self._poll = bus, poll_seconds

    async def audit(self, p: Principal, query: ListQuery) -> Page[AuditRecord]:
        self.allow(p, "audit:read", "audit")
        async with self._uow(read_only=True) as uow:
            return await uow.audit.list(query, p.tenant_id)

    async def events(self, p: Principal, query: ListQuery) -> Page[Event]:
        self.allow(p, "event:read", "event")
        async with self._uow(read_only=True) as uow:
            return await uow.events.list(query, p.tenant_id)

    async def stream(self, p: Principal, after: int | None = None) -> AsyncIterator[Event]:
        """The tenant's events as they happen, from `after` (default: from now on)."""
        self.allow(p, "event:read", "event")
        waiter = self._bus.waiter()
        try:
            seq = after if after is not None else await self.last_seq(p)
            while True:
                for event in await self._after(p, seq):
                    seq = event.seq
                    yield event
                await self._wait(waiter)
        finally:
            self._bus.forget(waiter)

    async def last_seq(self, p: Principal) -> int:
        """The sequence number of the tenant's newest event; streams start after it."""
        async with self._uow(read_only=True) as uow:
            return await uow.events.last_seq(p.tenant_id)

    async def _after(self, p: Principal, seq: int) -> list[Event]:
        async with self._uow(read_only=True) as uow:
            return await uow.events.after(p.tenant_id, seq, 500)

    async def _wait(self, waiter: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(waiter.wait(), self._poll)
        except TimeoutError:
            pass
        waiter.clear()
