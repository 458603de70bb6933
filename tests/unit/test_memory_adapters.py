"""The in-memory fakes behave like the SQL adapters: constraints, filters, pages, transactions."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from thecloud.adapters.crypto.primitives import BcryptHasher, JwtCodec
from thecloud.adapters.memory import (
    FakePasswordHasher,
    FakeTokenCodec,
    FixedClock,
    ManualClock,
    MemoryStore,
    MemoryUnitOfWorkFactory,
    NestedWrite,
    ReadOnlyViolation,
)
from thecloud.adapters.memory.runtime import MemoryRuntime
from thecloud.domain.audit import Event
from thecloud.domain.common import ListQuery, PageRequest, new_id
from thecloud.domain.errors import BackendUnavailable, Conflict, InvalidInput, Unauthorized
from thecloud.domain.identity import ApiKey, Tenant, User
from thecloud.domain.quotas import QuotaLine, QuotaResource
from thecloud.domain.rbac import Role
from thecloud.domain.secrets import Secret
from thecloud.ports.compute import ContainerSpec

T0 = datetime(2030, 1, 1, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def tenant(slug: str = "", minutes: int = 0) -> Tenant:
    return Tenant(new_id(), "Team", slug or new_id()[:8], new_id(), at(minutes))


def secret(tenant_id: str, name: str, minutes: int = 0) -> Secret:
    return Secret(new_id(), tenant_id, name, "", b"ct", b"n" * 12, new_id(), at(minutes), at(0))


def event(tenant_id: str) -> Event:
    return Event(new_id(), tenant_id, "secret.create", "secret", new_id(), new_id(), T0)


@pytest.fixture
def uow() -> MemoryUnitOfWorkFactory:
    return MemoryUnitOfWorkFactory(MemoryStore(FixedClock(T0)))


async def seed(uow: MemoryUnitOfWorkFactory, *tenants: Tenant) -> None:
    async with uow() as w:
        for t in tenants:
            await w.tenants.add(t)
        await w.commit()


async def test_add_rejects_a_duplicate_key_and_a_duplicate_unique_field(uow) -> None:
    t = tenant("acme")
    await seed(uow, t)
    async with uow() as w:
        with pytest.raises(Conflict):
            await w.tenants.add(replace(t, slug="other"))
        with pytest.raises(Conflict):
            await w.tenants.add(tenant("acme"))


async def test_unique_sets_are_per_tenant_and_ignore_null_members(uow) -> None:
    a, b = tenant(), tenant()
    await seed(uow, a, b)
    async with uow() as w:
        await w.secrets.add(secret(a.id, "db"))
        await w.secrets.add(secret(b.id, "db"))
        with pytest.raises(Conflict):
            await w.secrets.add(secret(a.id, "db"))
        role = Role(new_id(), None, "builtin-like", "", (), T0, T0)
        await w.roles.add(role)
        await w.roles.add(replace(role, id=new_id()))  # NULL tenant: SQL UNIQUE lets it pass
        assert await w.roles.count(name="builtin-like") == 2


async def test_update_checks_unique_fields_and_ignores_missing_rows(uow) -> None:
    a, b = tenant("first"), tenant("second")
    await seed(uow, a, b)
    async with uow() as w:
        with pytest.raises(Conflict):
            await w.tenants.update(replace(b, slug="first"))
        await w.tenants.update(tenant("ghost"))
        assert await w.tenants.find_one(slug="ghost") is None


async def test_foreign_keys_are_checked_and_deletes_cascade(uow) -> None:
    t = tenant()
    await seed(uow, t)
    async with uow() as w:
        with pytest.raises(Conflict):
            await w.secrets.add(secret(new_id(), "orphan"))
        await w.secrets.add(secret(t.id, "child"))
        assert await w.tenants.delete(t.id)
        assert await w.secrets.count() == 0


async def test_get_and_delete_are_scoped_by_tenant(uow) -> None:
    a, b = tenant(), tenant()
    await seed(uow, a, b)
    s = secret(a.id, "db")
    async with uow() as w:
        await w.secrets.add(s)
        assert await w.secrets.get(s.id, b.id) is None
        assert not await w.secrets.delete(s.id, b.id)
        assert await w.secrets.get(s.id, a.id) == s
        assert await w.secrets.delete(s.id, a.id)


async def test_none_filter_matches_only_none(uow) -> None:
    user = User(new_id(), "a@example.com", "A", "h", new_id(), T0, T0)
    live = ApiKey(new_id(), user.id, new_id(), "live", "h1", "p", T0)
    dead = replace(live, id=new_id(), key_hash="h2", revoked_at=T0)
    async with uow() as w:
        await w.users.add(user)
        await w.api_keys.add(live)
        await w.api_keys.add(dead)
        assert await w.api_keys.find(revoked_at=None) == [live]
        assert await w.api_keys.find(revoked_at=T0) == [dead]


async def test_filter_on_an_unknown_field_is_invalid_input(uow) -> None:
    async with uow() as w:
        with pytest.raises(InvalidInput, match="colour"):
            await w.tenants.find(colour="red")


async def test_list_orders_by_creation_then_id_and_paginates(uow) -> None:
    t = tenant()
    await seed(uow, t)
    rows = [secret(t.id, f"s{i}", minutes=i // 2) for i in range(6)]
    async with uow() as w:
        for s in reversed(rows):
            await w.secrets.add(s)
        expected = sorted(rows, key=lambda s: (s.created_at, s.id))
        page = await w.secrets.list(ListQuery(page=PageRequest(limit=2, offset=2)), t.id)
        newest = await w.secrets.list(ListQuery(newest_first=True), t.id)
    assert (page.items, page.total, page.has_more) == (expected[2:4], 6, True)
    assert newest.items == expected[::-1]


async def test_list_since_is_inclusive_until_exclusive_and_filters_apply(uow) -> None:
    t = tenant()
    await seed(uow, t)
    rows = [secret(t.id, f"s{i}", minutes=i) for i in range(4)]
    async with uow() as w:
        for s in rows:
            await w.secrets.add(s)
        window = await w.secrets.list(ListQuery(since=at(1), until=at(3)), t.id)
        named = await w.secrets.list(ListQuery(filters={"name": "s3"}), t.id)
    assert window.items == rows[1:3]
    assert (named.items, named.total) == ([rows[3]], 1)


async def test_changes_are_visible_to_others_only_after_commit(uow) -> None:
    t = tenant()
    async with uow() as w:
        await w.tenants.add(t)
        async with uow(read_only=True) as reader:
            assert await reader.tenants.get(t.id) is None
        await w.commit()
    async with uow(read_only=True) as reader:
        assert await reader.tenants.get(t.id) == t


async def test_leaving_without_commit_rolls_back(uow) -> None:
    t = tenant()
    with pytest.raises(RuntimeError):
        async with uow() as w:
            await w.tenants.add(t)
            raise RuntimeError("boom")
    async with uow() as w:
        await w.tenants.add(tenant())
        await w.rollback()
        await w.commit()
    async with uow() as w:
        assert await w.tenants.count() == 0


async def test_events_publish_after_commit_only_with_sequence_numbers(uow) -> None:
    published: list[list[Event]] = []
    factory = MemoryUnitOfWorkFactory(uow.store, published.append)
    async with factory() as w:
        await w.emit(event("t1"))
        assert published == []
        await w.commit()
        await w.emit(event("t1"))
    async with factory() as w:
        await w.emit(event("t1"))
        await w.emit(event("t2"))
        await w.commit()
    assert [[e.seq for e in batch] for batch in published] == [[1], [2, 3]]


async def test_events_after_and_last_seq_are_per_tenant(uow) -> None:
    async with uow() as w:
        for tid in ("a", "b", "a", "a"):
            await w.events.add(event(tid))
        await w.commit()
    async with uow(read_only=True) as r:
        assert [e.seq for e in await r.events.after("a", 1, 10)] == [3, 4]
        assert [e.seq for e in await r.events.after("a", 0, 2)] == [1, 3]
        assert (await r.events.last_seq("a"), await r.events.last_seq("c")) == (4, 0)


async def test_quota_adjust_applies_only_changes_that_fit(uow) -> None:
    t = tenant()
    await seed(uow, t)
    async with uow() as w:
        await w.quotas.put(QuotaLine(t.id, QuotaResource.VPCS, 2, 1, T0))
        over = await w.quotas.adjust(t.id, {"vpcs": 2, "instances": 3}, {"instances": 20})
        assert over == ["vpcs"]
        lines = {str(q.resource): (q.limit, q.used) for q in await w.quotas.lines(t.id)}
        assert lines == {"vpcs": (2, 1), "instances": (20, 3)}
        assert await w.quotas.adjust(t.id, {"vpcs": -1}, {}) == []


async def test_auth_generation_bumps_only_on_commit(uow) -> None:
    async with uow() as w:
        await w.auth_state.bump()
    async with uow() as w:
        assert await w.auth_state.generation() == 0
        await w.auth_state.bump()
        await w.commit()
    async with uow(read_only=True) as r:
        assert await r.auth_state.generation() == 1


async def test_read_only_units_of_work_refuse_writes(uow) -> None:
    async with uow(read_only=True) as r:
        with pytest.raises(ReadOnlyViolation):
            await r.tenants.add(tenant())


async def test_a_nested_writer_in_the_same_task_fails_fast(uow) -> None:
    async with uow():
        with pytest.raises(NestedWrite):
            async with uow():
                pass


async def test_writers_in_other_tasks_queue_and_time_out() -> None:
    store = MemoryStore(lock_timeout=0.05)
    factory = MemoryUnitOfWorkFactory(store)

    async def write() -> None:
        async with factory() as w:
            await w.tenants.add(tenant())
            await w.commit()

    async with factory():
        with pytest.raises(BackendUnavailable):
            await asyncio.create_task(write())
    await asyncio.gather(write(), write())
    async with factory(read_only=True) as r:
        assert await r.tenants.count() == 2


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(T0)
    assert clock.now() == clock.now() == T0
    assert clock.advance(90, minutes=1) == T0 + timedelta(seconds=150)
    clock.set(at(60))
    assert clock.now() == at(60)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        ManualClock(datetime(2030, 1, 1))  # noqa: DTZ001 - naive on purpose


@pytest.mark.parametrize("hasher", [FakePasswordHasher(), BcryptHasher(rounds=4)])
async def test_password_hashers_share_the_contract(hasher) -> None:
    first, second = await hasher.hash("s3cret-pass"), await hasher.hash("s3cret-pass")
    assert first != second and "s3cret-pass" not in first
    assert await hasher.verify("s3cret-pass", first)
    assert not await hasher.verify("wrong-pass", first)


@pytest.mark.parametrize("kind", ["fake", "jwt"])
def test_token_codecs_share_the_contract(kind: str) -> None:
    codec = FakeTokenCodec(FixedClock(datetime.now(UTC))) if kind == "fake" else JwtCodec(b"k" * 32)
    token = codec.issue({"sub": "u1", "tid": "t1"}, 60)
    assert {"sub": "u1", "tid": "t1"}.items() <= codec.decode(token).items()
    with pytest.raises(Unauthorized, match="invalid"):
        codec.decode(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(Unauthorized, match="expired"):
        codec.decode(codec.issue({"sub": "u1"}, -5))


def test_fake_tokens_expire_with_the_manual_clock() -> None:
    clock = ManualClock(T0)
    codec = FakeTokenCodec(clock)
    token = codec.issue({"sub": "u1"}, 60)
    clock.advance(59)
    assert codec.decode(token)["sub"] == "u1"
    clock.advance(1)
    with pytest.raises(Unauthorized, match="expired"):
        codec.decode(token)


async def _talking_container() -> tuple[MemoryRuntime, str]:
    runtime = MemoryRuntime(images=("img",))
    made = await runtime.create(ContainerSpec("c", "img", {}, 10**9, 1 << 20))
    await runtime.start(made.id)  # says "started ..."
    runtime.say(made.id, "two")
    return runtime, made.id


async def test_memory_runtime_logs_tail_like_docker() -> None:
    runtime, ident = await _talking_container()
    assert await runtime.logs(ident, tail=0) == []
    assert [x.text for x in await runtime.logs(ident, tail=1)] == ["two"]
    assert len(await runtime.logs(ident, tail=5)) == 2
    assert len(await runtime.logs(ident)) == 2


async def test_memory_runtime_follow_sends_new_lines_unless_asked_from_a_time() -> None:
    runtime, ident = await _talking_container()
    history = await runtime.logs(ident)
    following = runtime.follow(ident)
    nxt = asyncio.ensure_future(anext(following))
    await asyncio.sleep(0.05)
    assert not nxt.done()  # no replay of what was written before
    runtime.say(ident, "three")
    assert (await asyncio.wait_for(nxt, 2)).text == "three"
    await runtime.stop(ident)
    assert [x async for x in following] == []  # it ends once the container stopped
    replay = [x.text async for x in runtime.follow(ident, since=history[0].at)]
    assert replay == [history[0].text, "two", "three"]
