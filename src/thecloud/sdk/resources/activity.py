"""The audit log, events (listed and streamed), and health."""

from __future__ import annotations

from datetime import datetime

from thecloud.sdk._core import Call, listing, query
from thecloud.sdk.resources.base import Done, ListT, One, PageT, Resource, Stream

When = datetime | str | None


class Audit(Resource[One, PageT, ListT, Done, Stream]):
    """`/audit`: who did what to which resource, newest first."""

    def list(
        self,
        *,
        action: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        actor_id: str | None = None,
        since: When = None,
        until: When = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of audit records matching the filters."""
        return self._x.page(
            listing(
                "/audit",
                limit,
                offset,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                actor_id=actor_id,
                since=since,
                until=until,
            )
        )

    def iterate(self, *, page_size: int = 100, action: str | None = None) -> Stream:
        """All audit records (optionally of one action)."""
        return self._x.iterate(listing("/audit", page_size, 0, action=action), page_size)


class Events(Resource[One, PageT, ListT, Done, Stream]):
    """`/events`: the tenant's events, listed or live."""

    def list(
        self,
        *,
        type: str | None = None,  # noqa: A002 - the API's filter name
        resource_type: str | None = None,
        resource_id: str | None = None,
        since: When = None,
        until: When = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> PageT:
        """One page of events, newest first."""
        return self._x.page(
            listing(
                "/events",
                limit,
                offset,
                type=type,
                resource_type=resource_type,
                resource_id=resource_id,
                since=since,
                until=until,
            )
        )

    def iterate(self, *, page_size: int = 100, type: str | None = None) -> Stream:  # noqa: A002
        """All events (optionally of one type)."""
        return self._x.iterate(listing("/events", page_size, 0, type=type), page_size)

    def stream(self, *, after: int | None = None) -> Stream:
        """Live events over SSE: dicts of `id`, `event` (the type) and `data` (the event)."""
        return self._x.sse(Call("GET", "/events/stream", params=query(after=after)))


class Health(Resource[One, PageT, ListT, Done, Stream]):
    """`/health`: liveness and readiness."""

    def live(self) -> One:
        """The process is up."""
        return self._x.one(Call("GET", "/health/live"))

    def ready(self) -> One:
        """The process can serve: `status` and `checks`."""
        return self._x.one(Call("GET", "/health/ready"))
