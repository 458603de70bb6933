"""SQL repositories of access control: roles, bindings, IAM policies and their attachments."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from tests.integration import builders as b
from tests.integration.builders import Db
from thecloud.adapters.sql import tables
from thecloud.domain.common import ListQuery, PageRequest
from thecloud.domain.policy import parse_policy_document, policy_to_dict


async def test_role_permissions_round_trip_as_an_ordered_tuple(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    r = b.role(t.id, permissions=("vpc:read", "*", "secret:read", "instance:*"))
    await b.add_all(db, "roles", r)
    changed = replace(r, permissions=("dns:read",), description="narrower", updated_at=b.at(3))
    async with db.uow() as w:
        assert await w.roles.get(r.id) == r
        await w.roles.update(changed)
        await w.commit()
    async with db.uow(read_only=True) as w:
        got = await w.roles.get(r.id, t.id)
    assert got == changed and isinstance(got.permissions, tuple)


async def test_role_name_is_unique_per_tenant(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    r = b.role(t.id)
    await b.add_all(db, "roles", r, b.role(other.id, r.name))
    await b.expect_conflict(db, "roles", "add", b.role(t.id, r.name))


async def test_by_name_prefers_the_tenants_custom_role_over_the_builtin(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    name = b.uniq("developer")
    builtin, custom = b.role(None, name), b.role(t.id, name, permissions=("dns:read",))
    await b.add_all(db, "roles", builtin, custom)
    async with db.uow(read_only=True) as w:
        assert await w.roles.by_name(t.id, name) == custom
        assert await w.roles.by_name(other.id, name) == builtin
        assert await w.roles.by_name(t.id, b.uniq("missing")) is None


async def test_visible_roles_are_builtins_plus_own_custom_roles(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    builtins = [b.role(None, created_at=b.at(i)) for i in range(2)]
    own, foreign = b.role(t.id, created_at=b.at(5)), b.role(other.id)
    await b.add_all(db, "roles", *builtins, own, foreign)
    async with db.uow(read_only=True) as w:
        page = await w.roles.visible(t.id, ListQuery())
        named = await w.roles.visible(t.id, ListQuery(filters={"name": own.name}))
        first = await w.roles.visible(t.id, ListQuery(PageRequest(1, 0)))
    assert (page.total, page.items) == (3, [*builtins, own])
    assert named.items == [own]
    assert (first.total, first.items, first.has_more) == (3, builtins[:1], True)


async def test_roles_by_ids(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    roles = [b.role(t.id) for _ in range(3)]
    await b.add_all(db, "roles", *roles)
    async with db.uow(read_only=True) as w:
        got = await w.roles.by_ids([roles[0].id, roles[2].id, "no-such-id"])
        none = await w.roles.by_ids([])
    assert sorted(got, key=lambda r: r.name) == sorted([roles[0], roles[2]], key=lambda r: r.name)
    assert none == []


async def test_binding_is_unique_per_member_and_role(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    r = b.role(None)
    await b.add_all(db, "roles", r)
    await b.add_all(db, "bindings", b.binding(t.id, u.id, r))
    await b.expect_conflict(db, "bindings", "add", b.binding(t.id, u.id, r))


async def test_deleting_a_role_cascades_to_its_bindings(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    r = b.role(t.id)
    await b.add_all(db, "roles", r)
    await b.add_all(db, "bindings", b.binding(t.id, u.id, r))
    async with db.uow() as w:
        assert await w.roles.delete(r.id, t.id) is True
        await w.commit()
    async with db.uow(read_only=True) as w:
        assert await w.bindings.count(role_id=r.id) == 0


async def test_policy_document_round_trips_through_its_json_form(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    p = b.policy(t.id)
    await b.add_all(db, "policies", p)
    async with db.engine.connect() as conn:
        raw = (await conn.execute(select(tables.policies.c.document))).scalar_one()
    async with db.uow(read_only=True) as w:
        got = await w.policies.get(p.id, t.id)
    assert got == p
    assert raw == policy_to_dict(p.document)
    assert parse_policy_document(raw) == p.document


async def test_policy_update_replaces_the_document(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    p = b.policy(t.id)
    doc = parse_policy_document(
        {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    await b.add_all(db, "policies", p)
    async with db.uow() as w:
        await w.policies.update(replace(p, document=doc, updated_at=b.at(1)))
        await w.commit()
    async with db.uow(read_only=True) as w:
        got = await w.policies.get(p.id)
    assert got is not None and got.document == doc


async def test_policy_name_is_unique_per_tenant(db: Db) -> None:
    _, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    p = b.policy(t.id)
    await b.add_all(db, "policies", p, b.policy(other.id, name=p.name))
    await b.expect_conflict(db, "policies", "add", b.policy(t.id, name=p.name))


async def test_attached_to_returns_the_principals_policies_in_that_tenant(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    _, other = await b.seed_tenant(db.uow)
    mine, unattached, elsewhere = b.policy(t.id), b.policy(t.id), b.policy(other.id)
    someone = b.policy(t.id)
    await b.add_all(db, "policies", mine, unattached, elsewhere, someone)
    links = [b.attachment(mine, u.id), b.attachment(elsewhere, u.id), b.attachment(someone, "x")]
    await b.add_all(db, "attachments", *links)
    async with db.uow(read_only=True) as w:
        assert await w.policies.attached_to(t.id, u.id) == [mine]
        assert await w.policies.attached_to(other.id, u.id) == [elsewhere]
        assert await w.policies.attached_to(t.id, b.uniq("nobody")) == []


async def test_attachment_pair_is_unique(db: Db) -> None:
    u, t = await b.seed_tenant(db.uow)
    p = b.policy(t.id)
    await b.add_all(db, "policies", p)
    await b.add_all(db, "attachments", b.attachment(p, u.id))
    await b.expect_conflict(db, "attachments", "add", b.attachment(p, u.id))
