"""The event log of a tenant: listing, who may read it, and the live stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.domain.audit import Event
from thecloud.domain.common import ListQuery, PageRequest
from thecloud.domain.errors import Forbidden
from thecloud.domain.identity import Principal

TIMEOUT = 2.0


async def subscribe(
    h: Harness, p: Principal, after: int | None = None
) -> tuple[AsyncIterator[Event], asyncio.Task[Event]]:
    """Start a stream and wait until it has subscribed; returns it and its pending next event."""
    stream = h.cloud.activity.stream(p, after)
    pending = asyncio.ensure_future(anext(stream))
    await asyncio.wait_for(h.bus.subscribed.wait(), TIMEOUT)
    return stream, pending


async def close(stream: AsyncIterator[Event], pending: asyncio.Task[Event]) -> None:
    pending.cancel()
    with pytest.raises((asyncio.CancelledError, StopAsyncIteration)):
        await pending
    await stream.aclose()  # type: ignore[attr-defined]


async def test_the_stream_yields_events_created_after_subscribing(
    h: Harness, owner: Account
) -> None:
    await h.cloud.secrets.create(owner.principal, "before", "v")
    stream, pending = await subscribe(h, owner.principal)
    after = await h.cloud.secrets.create(owner.principal, "after", "v")
    event = await asyncio.wait_for(pending, TIMEOUT)
    assert (event.type, event.resource_id, event.tenant_id) == (
        "secret.create",
        after.id,
        owner.tenant_id,
    )
    second = asyncio.ensure_future(anext(stream))
    later = await h.cloud.secrets.create(owner.principal, "later", "v")
    assert (await asyncio.wait_for(second, TIMEOUT)).resource_id == later.id
    await stream.aclose()  # type: ignore[attr-defined]


async def test_a_commit_wakes_the_stream_before_its_poll_interval(
    h: Harness, owner: Account
) -> None:
    stream, pending = await subscribe(h, owner.principal)
    await h.cloud.secrets.create(owner.principal, "now", "v")
    assert h.bus.published and h.bus.published[-1].type == "secret.create"
    event = await asyncio.wait_for(pending, 0.5)  # the stream polls every 1 s otherwise
    assert event.type == "secret.create"
    await stream.aclose()  # type: ignore[attr-defined]


async def test_the_stream_skips_other_tenants(h: Harness, owner: Account) -> None:
    other = await h.register("other")
    stream, pending = await subscribe(h, owner.principal)
    await h.cloud.secrets.create(other.principal, "theirs", "v")
    mine = await h.cloud.secrets.create(owner.principal, "mine", "v")
    assert (await asyncio.wait_for(pending, TIMEOUT)).resource_id == mine.id
    await stream.aclose()  # type: ignore[attr-defined]


async def test_the_stream_replays_from_a_sequence_number(h: Harness, owner: Account) -> None:
    first = await h.cloud.secrets.create(owner.principal, "first", "v")
    second = await h.cloud.secrets.create(owner.principal, "second", "v")
    stream = h.cloud.activity.stream(owner.principal, after=0)
    seen = [await asyncio.wait_for(anext(stream), TIMEOUT) for _ in range(3)]
    await stream.aclose()  # type: ignore[attr-defined]
    assert [e.type for e in seen] == ["identity.register", "secret.create", "secret.create"]
    assert [e.resource_id for e in seen[1:]] == [first.id, second.id]
    assert seen[0].seq < seen[1].seq < seen[2].seq


async def test_a_cancelled_stream_unsubscribes(h: Harness, owner: Account) -> None:
    stream, pending = await subscribe(h, owner.principal)
    assert h.bus.listening == 1
    await close(stream, pending)
    assert h.bus.listening == 0


async def test_streaming_needs_event_read(h: Harness, owner: Account) -> None:
    await h.cloud.rbac.create_role(owner.principal, "blind", "", ["secret:create"])
    other = await h.register("blind")
    await h.cloud.rbac.bind(owner.principal, other.email, "blind")
    blind = await h.login_key(other.key, owner.tenant_id)
    with pytest.raises(Forbidden):
        await anext(h.cloud.activity.stream(blind))
    with pytest.raises(Forbidden):
        await h.cloud.activity.events(blind, ListQuery())


async def test_viewers_read_events_but_not_the_audit_log(h: Harness, owner: Account) -> None:
    viewer = await h.member(owner, "viewer")
    events = await h.cloud.activity.events(viewer, ListQuery())
    assert events.total >= 1
    with pytest.raises(Forbidden):
        await h.cloud.activity.audit(viewer, ListQuery())


async def test_events_filter_by_type_and_page(h: Harness, owner: Account) -> None:
    for i in range(3):
        h.clock.advance(1)
        await h.cloud.secrets.create(owner.principal, f"s{i}", "v")
    query = ListQuery(page=PageRequest(limit=2), filters={"type": "secret.create"})
    page = await h.cloud.activity.events(owner.principal, query)
    assert (page.total, len(page.items), page.has_more) == (3, 2, True)
    assert all(e.type == "secret.create" for e in page.items)
    other = await h.register("other")
    theirs = await h.cloud.activity.events(other.principal, query)
    assert theirs.total == 0
