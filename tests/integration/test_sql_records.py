"""SQL repositories of records (secrets, audit, events, idempotency, auth state); UTC times."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.domain.common import ListQuery, PageRequest


async def test_secret_bytes_round_trip_and_update(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    s = b.secret(t.id, ciphertext=bytes(range(256)) * 3, nonce=b"\x00" * 11 + b"\xff")
    await b.add_all(db, "secrets", s)
    rotated = replace(s, ciphertext=b"\x80\x00new", version=2, last_accessed_at=b.at(4))
    async with db.uow() as w:
        got = await w.secrets.get(s.id, t.id)
        await w.secrets.update(rotated)
        await w.commit()
    assert got == s and isinstance(got.ciphertext, bytes) and isinstance(got.nonce, bytes)
    async with db.uow(read_only=True) as w:
        assert await w.secrets.get(s.id, t.id) == rotated


async def test_secret_name_is_unique_per_tenant(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    s, sibling = b.secret(t.id), b.secret(t.id)
    await b.add_all(db, "secrets", s, sibling, b.secret(other.id, name=s.name))
    await b.expect_conflict(db, "secrets", "add", b.secret(t.id, name=s.name))
    await b.expect_conflict(db, "secrets", "update", replace(sibling, name=s.name))
    async with db.uow(read_only=True) as w:
        assert await w.secrets.count(name=s.name) == 2


async def test_secret_scoped_to_its_tenant(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    s = b.secret(t.id)
    await b.add_all(db, "secrets", s)
    async with db.uow(read_only=True) as w:
        assert await w.secrets.get(s.id, other.id) is None
        assert await w.secrets.find_one(tenant_id=other.id, name=s.name) is None
        assert (await w.secrets.list(ListQuery(), other.id)).items == []


async def test_audit_details_json_round_trips(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    records = [b.audit(t.id, created_at=b.at(i)) for i in range(3)]
    await b.add_all(db, "audit", *records, b.audit(b.uniq("other-tenant")))
    async with db.uow(read_only=True) as w:
        page = await w.audit.list(ListQuery(newest_first=True), t.id)
    assert page.items == records[::-1]
    assert page.items[0].details == {
        "name": "db",
        "count": 3,
        "nested": {"ok": True, "items": [1, "two", None]},
    }


async def test_events_after_are_ordered_by_sequence(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    mine = [b.event(t.id, data={"i": i}) for i in range(5)]
    theirs = [b.event(other.id) for _ in range(2)]
    await b.add_all(db, "events", mine[0], theirs[0], *mine[1:3], theirs[1], *mine[3:])
    async with db.uow(read_only=True) as w:
        every = await w.events.after(t.id, 0, 100)
        rest = await w.events.after(t.id, every[1].seq, 2)
        last, their_last = await w.events.last_seq(t.id), await w.events.last_seq(other.id)
    seqs = [e.seq for e in every]
    assert [e.id for e in every] == [e.id for e in mine]
    assert [e.data for e in every] == [{"i": i} for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5 and seqs[0] > 0
    assert [e.id for e in rest] == [mine[2].id, mine[3].id]
    assert last == seqs[-1] and 0 < their_last < last


async def test_last_seq_of_a_tenant_without_events_is_zero(db: Db) -> None:
    async with db.uow(read_only=True) as w:
        assert await w.events.last_seq(b.uniq("quiet")) == 0
        assert await w.events.after(b.uniq("quiet"), 0, 10) == []


async def test_event_id_is_unique(db: Db) -> None:
    e = b.event(b.uniq("t"))
    await b.add_all(db, "events", e)
    await b.expect_conflict(db, "events", "add", replace(e, type="other"))


async def test_idempotency_record_lifecycle(db: Db) -> None:
    record = b.idempotency()
    done = replace(record, status_code=201, response=b'{"data": {"id": 1}}\x00', completed=True)
    await b.add_all(db, "idempotency", record)
    await b.expect_conflict(db, "idempotency", "add", replace(record, path="/other"))
    async with db.uow() as w:
        assert await w.idempotency.get(record.key) == record
        await w.idempotency.update(done)
        await w.commit()
    async with db.uow() as w:
        assert await w.idempotency.find_one(principal_id=record.principal_id) == done
        assert await w.idempotency.delete(record.key) is True
        await w.commit()


async def test_auth_state_generation_counts_committed_bumps(db: Db) -> None:
    async with db.uow() as w:
        assert await w.auth_state.generation() == 0
        await w.auth_state.bump()
        await w.auth_state.bump()
        await w.commit()
    async with db.uow() as w:
        await w.auth_state.bump()
        assert await w.auth_state.generation() == 3
    async with db.uow(read_only=True) as w:
        assert await w.auth_state.generation() == 2


async def test_concurrent_first_bumps_all_count(db: Db) -> None:
    async def bump() -> None:
        async with db.uow() as w:
            await w.auth_state.bump()
            await w.commit()

    await asyncio.gather(*(bump() for _ in range(12)))
    async with db.uow(read_only=True) as w:
        assert await w.auth_state.generation() == 12


OFFSETS = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]


@pytest.mark.parametrize("tz", OFFSETS, ids=["utc", "plus0530", "minus08"])
async def test_datetimes_come_back_as_the_same_instant_in_utc(db: Db, tz: timezone) -> None:
    when = datetime(2031, 3, 4, 23, 59, 58, 123456, tzinfo=tz)
    _, t = await b.seed_tenant(db.uow)
    s = b.secret(t.id, created_at=when, last_accessed_at=when)
    await b.add_all(db, "secrets", s)
    async with db.uow(read_only=True) as w:
        got = await w.secrets.get(s.id)
    assert got is not None
    for value in (got.created_at, got.last_accessed_at):
        assert value == when and value is not None and value.utcoffset() == timedelta(0)
        assert value.tzinfo is not None and value.tzname() == "UTC"


async def test_datetimes_are_stored_as_utc(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    when = datetime(2031, 3, 4, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    await b.add_all(db, "secrets", b.secret(t.id, created_at=when))
    sql = "SELECT created_at, pg_typeof(created_at)::text FROM secrets"
    async with db.engine.connect() as conn:
        if db.backend == "sqlite":
            raw = (await conn.execute(text("SELECT created_at FROM secrets"))).scalar_one()
            assert str(raw).startswith("2031-03-03 23:00:00")
        else:
            raw, kind = (await conn.execute(text(sql))).one()
            assert (raw, kind) == (when, "timestamp with time zone")


async def test_time_windows_compare_instants_whatever_the_offset(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    ids = [b.secret(t.id, created_at=b.at(m)) for m in (0, 60, 120)]
    await b.add_all(db, "secrets", *ids)
    plus2 = timezone(timedelta(hours=2))
    since = b.at(60).astimezone(plus2)
    async with db.uow(read_only=True) as w:
        page = await w.secrets.list(ListQuery(since=since, until=b.at(61)), t.id)
    assert [s.id for s in page.items] == [ids[1].id]


async def test_naive_datetime_is_refused(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    async with db.uow() as w:
        with pytest.raises(StatementError, match="naive datetime"):
            await w.secrets.add(b.secret(t.id, created_at=datetime(2031, 1, 1)))  # noqa: DTZ001


@pytest.mark.parametrize("read_only", [True, False], ids=["reader", "writer"])
async def test_pages_carry_the_total_of_the_whole_filtered_list(db: Db, read_only: bool) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    mine = [b.secret(t.id, created_at=b.at(m)) for m in range(5)]
    await b.add_all(db, "secrets", *mine, b.secret(other.id))

    async def page(limit: int, offset: int, **filters: object) -> tuple[list[str], int]:
        query = ListQuery(page=PageRequest(limit=limit, offset=offset), filters=filters)
        async with db.uow(read_only=read_only) as w:
            got = await w.secrets.list(query, t.id)
        return [s.id for s in got.items], got.total

    ids = [s.id for s in mine]
    assert await page(2, 0) == (ids[:2], 5)
    assert await page(2, 3) == (ids[3:], 5)  # a full page that ends the list
    assert await page(5, 0) == (ids, 5)
    assert await page(6, 0) == (ids, 5)
    assert await page(2, 4) == (ids[4:], 5)
    assert await page(2, 5) == ([], 5)  # past the end: the total still says how many
    assert await page(10, 50) == ([], 5)
    assert await page(10, 0, name=mine[3].name) == ([ids[3]], 1)
    assert await page(10, 0, name="nothing-by-this-name") == ([], 0)
    assert await page(10, 3, name="nothing-by-this-name") == ([], 0)
