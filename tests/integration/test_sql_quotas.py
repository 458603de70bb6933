"""SQL quota lines: upsert, conditional adjustment, and race-free reservation under concurrency."""

from __future__ import annotations

import asyncio

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.adapters.sql.engine import create_engine
from thecloud.adapters.sql.uow import SqlUnitOfWorkFactory
from thecloud.domain.quotas import QuotaLine, QuotaResource

INSTANCES, VCPUS = QuotaResource.INSTANCES, QuotaResource.VCPUS
DEFAULTS = {"instances": 3, "vcpus": 8}


async def put(db: Db, tenant_id: str, resource: QuotaResource, limit: int, used: int = 0) -> None:
    async with db.uow() as w:
        await w.quotas.put(QuotaLine(tenant_id, resource, limit, used, b.at(0)))
        await w.commit()


async def usage(db: Db, tenant_id: str) -> dict[str, tuple[int, int]]:
    """resource -> (limit, used)"""
    async with db.uow(read_only=True) as w:
        return {str(q.resource): (q.limit, q.used) for q in await w.quotas.lines(tenant_id)}


async def adjust(
    db: Db, tenant_id: str, changes: dict[str, int], uow: SqlUnitOfWorkFactory | None = None
) -> list[str]:
    """One unit of work that commits only if nothing was exceeded."""
    async with (uow or db.uow)() as w:
        exceeded = await w.quotas.adjust(tenant_id, changes, DEFAULTS)
        if not exceeded:
            await w.commit()
    return exceeded


async def test_put_inserts_then_replaces_a_line(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    assert await usage(db, t.id) == {}
    await put(db, t.id, INSTANCES, 5, 1)
    await put(db, t.id, INSTANCES, 7, 2)
    await put(db, t.id, VCPUS, 4)
    async with db.uow(read_only=True) as w:
        lines = sorted(await w.quotas.lines(t.id), key=lambda q: q.resource)
    assert lines == [
        QuotaLine(t.id, INSTANCES, 7, 2, b.at(0)),
        QuotaLine(t.id, VCPUS, 4, 0, b.at(0)),
    ]
    assert all(isinstance(q.resource, QuotaResource) for q in lines)


async def test_adjust_within_the_limit_counts_usage(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    await put(db, t.id, INSTANCES, 5, 1)
    assert await adjust(db, t.id, {"instances": 4}) == []
    assert await adjust(db, t.id, {"instances": -2}) == []
    assert await usage(db, t.id) == {"instances": (5, 3)}


async def test_adjust_over_the_limit_reports_and_changes_nothing(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    await put(db, t.id, INSTANCES, 2, 2)
    async with db.uow() as w:
        assert await w.quotas.adjust(t.id, {"instances": 1}, DEFAULTS) == ["instances"]
        assert await w.quotas.adjust(t.id, {"instances": -1}, DEFAULTS) == []
        await w.commit()
    assert await usage(db, t.id) == {"instances": (2, 1)}


async def test_adjust_of_several_resources_is_all_or_nothing(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    await put(db, t.id, INSTANCES, 5)
    await put(db, t.id, VCPUS, 2)
    async with db.uow() as w:
        exceeded = await w.quotas.adjust(t.id, {"instances": 1, "vcpus": 4}, DEFAULTS)
        after = {str(q.resource): q.used for q in await w.quotas.lines(t.id)}
        await w.commit()
    assert (exceeded, after) == (["vcpus"], {"instances": 0, "vcpus": 0})


async def test_adjust_creates_missing_lines_from_the_defaults(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    assert await adjust(db, t.id, {"vcpus": 8}) == []
    assert await adjust(db, t.id, {"instances": 4}) == ["instances"]
    assert await usage(db, t.id) == {"vcpus": (8, 8)}


async def reserve_concurrently(db: Db, tenant_id: str, writers: int) -> list[list[str]]:
    """`writers` single reservations at once, over two engines (as two processes would)."""
    engine = create_engine(db.url)
    second = SqlUnitOfWorkFactory(engine, db.published.append)
    start = asyncio.Event()

    async def one(uow: SqlUnitOfWorkFactory) -> list[str]:
        await start.wait()
        return await adjust(db, tenant_id, {"instances": 1}, uow)

    try:
        tasks = [asyncio.create_task(one(f)) for f in [db.uow, second] * (writers // 2)]
        start.set()
        async with asyncio.timeout(60):
            return await asyncio.gather(*tasks)
    finally:
        await second.dispose()
        await engine.dispose()


async def test_concurrent_reservations_never_exceed_the_limit(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    await put(db, t.id, INSTANCES, 7)
    results = await reserve_concurrently(db, t.id, 20)
    assert sum(1 for r in results if not r) == 7
    assert all(r in ([], ["instances"]) for r in results)
    assert await usage(db, t.id) == {"instances": (7, 7)}


async def test_concurrent_first_reservations_create_the_line_once(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    results = await reserve_concurrently(db, t.id, 20)
    assert sum(1 for r in results if not r) == DEFAULTS["instances"]
    assert await usage(db, t.id) == {"instances": (3, 3)}
