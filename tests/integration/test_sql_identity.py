"""SQL repositories of identity: CRUD, filters, pagination, tenant scoping, unique fields."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.domain.common import ListQuery, PageRequest
from thecloud.domain.errors import InvalidInput
from thecloud.domain.identity import LoginFailures


async def test_user_add_get_update_delete(db: Db) -> None:
    u, _ = await b.seed_tenant(db.uow)
    changed = replace(u, name="Bea", updated_at=b.at(5))
    async with db.uow() as w:
        assert await w.users.get(u.id) == u
        await w.users.update(changed)
        await w.commit()
    async with db.uow() as w:
        assert await w.users.get(u.id) == changed
        assert await w.users.delete(u.id) is True
        assert await w.users.delete(u.id) is False
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert await w.users.get(u.id) is None


async def test_user_email_is_unique_on_add_and_update(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    other = b.user(default_tenant_id=t.id)
    async with db.uow() as w:
        await w.users.add(other)
        await w.commit()
    await b.expect_conflict(db, "users", "add", b.user(email=u.email))
    await b.expect_conflict(db, "users", "update", replace(other, email=u.email))


async def test_tenant_slug_is_unique(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    await b.expect_conflict(db, "tenants", "add", b.tenant(u.id, slug=t.slug))


async def test_tenant_personal_flag_round_trips(db: Db) -> None:
    u, _ = await b.seed_tenant(db.uow)
    personal = b.tenant(u.id, personal=True)
    async with db.uow() as w:
        await w.tenants.add(personal)
        await w.commit()
    async with db.uow(read_only=True) as w:
        got = await w.tenants.get(personal.id)
    assert got is not None and got.personal is True


async def test_find_and_count_filter_by_value_and_by_null(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    keys = [b.api_key(u.id, t.id) for _ in range(3)]
    revoked = replace(keys[0], revoked_at=b.at(1), expires_at=b.at(60), last_used_at=b.at(2))
    async with db.uow() as w:
        for k in [revoked, *keys[1:]]:
            await w.api_keys.add(k)
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert await w.api_keys.count(user_id=u.id) == 3
        assert {k.id for k in await w.api_keys.find(revoked_at=None)} == {keys[1].id, keys[2].id}
        assert await w.api_keys.find_one(key_hash=revoked.key_hash) == revoked
        assert await w.api_keys.find_one(key_hash="nope") is None
        assert await w.api_keys.count(user_id=u.id, name=keys[1].name) == 1


async def test_filter_on_unknown_column_is_invalid_input(db: Db) -> None:
    async with db.uow(read_only=True) as w:
        with pytest.raises(InvalidInput, match="colour"):
            await w.users.find(colour="red")


async def test_api_key_hash_is_unique(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    key = b.api_key(u.id, t.id)
    async with db.uow() as w:
        await w.api_keys.add(key)
        await w.commit()
    await b.expect_conflict(db, "api_keys", "add", b.api_key(u.id, t.id, key_hash=key.key_hash))


async def seed_accounts(db: Db, tenant_id: str, minutes: list[int]) -> list[str]:
    """Service accounts created at the given minutes; returns their ids in that order."""
    accounts = [b.service_account(tenant_id, created_at=b.at(m)) for m in minutes]
    async with db.uow() as w:
        for sa in accounts:
            await w.service_accounts.add(sa)
        await w.commit()
    return [sa.id for sa in accounts]


async def test_list_paginates_with_totals_in_creation_order(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    ids = await seed_accounts(db, t.id, [3, 1, 4, 0, 2])
    await seed_accounts(db, other.id, [1, 2])
    oldest_first = [ids[3], ids[1], ids[4], ids[0], ids[2]]
    async with db.uow(read_only=True) as w:
        first = await w.service_accounts.list(ListQuery(PageRequest(2, 0)), t.id)
        last = await w.service_accounts.list(ListQuery(PageRequest(2, 4)), t.id)
        newest = await w.service_accounts.list(ListQuery(newest_first=True), t.id)
    assert (first.total, first.has_more, [s.id for s in first.items]) == (5, True, oldest_first[:2])
    assert (last.total, last.has_more, [s.id for s in last.items]) == (5, False, oldest_first[4:])
    assert [s.id for s in newest.items] == oldest_first[::-1]


async def test_list_breaks_creation_time_ties_by_id(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    ids = await seed_accounts(db, t.id, [7, 7, 7, 7])
    async with db.uow(read_only=True) as w:
        page = await w.service_accounts.list(ListQuery(), t.id)
        newest = await w.service_accounts.list(ListQuery(newest_first=True), t.id)
    assert [s.id for s in page.items] == sorted(ids)
    assert [s.id for s in newest.items] == sorted(ids, reverse=True)


async def test_list_since_is_inclusive_and_until_exclusive(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    ids = await seed_accounts(db, t.id, [0, 1, 2, 3])
    query = ListQuery(since=b.at(1), until=b.at(3))
    async with db.uow(read_only=True) as w:
        page = await w.service_accounts.list(query, t.id)
    assert (page.total, [s.id for s in page.items]) == (2, ids[1:3])


async def test_list_filters_by_column(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    admin = b.service_account(t.id, role="admin", enabled=False)
    async with db.uow() as w:
        await w.service_accounts.add(admin)
        await w.service_accounts.add(b.service_account(t.id))
        await w.commit()
    async with db.uow(read_only=True) as w:
        page = await w.service_accounts.list(ListQuery(filters={"role": "admin"}), t.id)
    assert (page.total, page.items) == (1, [admin])


async def test_other_tenant_cannot_get_delete_or_list(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    [sa_id] = await seed_accounts(db, t.id, [0])
    async with db.uow() as w:
        assert await w.service_accounts.get(sa_id, other.id) is None
        assert await w.service_accounts.delete(sa_id, other.id) is False
        assert (await w.service_accounts.list(ListQuery(), other.id)).total == 0
        await w.commit()
    async with db.uow(read_only=True) as w:
        found = await w.service_accounts.get(sa_id, t.id)
    assert found is not None and found.id == sa_id


async def test_service_account_name_is_unique_per_tenant(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    sa = b.service_account(t.id)
    async with db.uow() as w:
        await w.service_accounts.add(sa)
        await w.service_accounts.add(b.service_account(other.id, name=sa.name))
        await w.commit()
    await b.expect_conflict(db, "service_accounts", "add", b.service_account(t.id, name=sa.name))


async def test_client_secret_hash_is_unique_and_revocation_round_trips(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    sa = b.service_account(t.id)
    secret = b.sa_secret(sa)
    async with db.uow() as w:
        await w.service_accounts.add(sa)
        await w.sa_secrets.add(secret)
        await w.sa_secrets.update(replace(secret, revoked_at=b.at(9)))
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert await w.sa_secrets.get(secret.id, t.id) == replace(secret, revoked_at=b.at(9))
    await b.expect_conflict(
        db, "sa_secrets", "add", b.sa_secret(sa, secret_hash=secret.secret_hash)
    )


async def test_tenants_of_principal_lists_each_member_tenant_once(db: Db) -> None:
    u, own = await b.seed_tenant(db.uow)
    _, joined = await b.seed_tenant(db.uow)
    await b.seed_tenant(db.uow)
    roles = [b.role(None), b.role(None)]
    async with db.uow() as w:
        for r in roles:
            await w.roles.add(r)
        for tenant_id, r in [(own.id, roles[0]), (own.id, roles[1]), (joined.id, roles[0])]:
            await w.bindings.add(b.binding(tenant_id, u.id, r))
        await w.commit()
    async with db.uow(read_only=True) as w:
        page = await w.tenants.of_principal(u.id, ListQuery())
        first = await w.tenants.of_principal(u.id, ListQuery(PageRequest(1, 0)))
    assert (page.total, {x.id for x in page.items}) == (2, {own.id, joined.id})
    assert (first.total, len(first.items), first.has_more) == (2, 1, True)


async def test_login_failures_keyed_by_email(db: Db) -> None:
    email = f"{b.uniq('lf')}@example.com"
    record = LoginFailures(email, 1, None, b.at(0))
    locked = LoginFailures(email, 0, b.at(0) + timedelta(minutes=15), b.at(1))
    async with db.uow() as w:
        await w.login_failures.add(record)
        await w.commit()
    await b.expect_conflict(db, "login_failures", "add", record)
    async with db.uow() as w:
        assert await w.login_failures.get(email) == record
        await w.login_failures.update(locked)
        await w.commit()
    async with db.uow() as w:
        assert await w.login_failures.get(email) == locked
        assert await w.login_failures.delete(email) is True
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert await w.login_failures.get(email) is None
