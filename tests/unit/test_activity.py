"""Audit records and events: written by every mutation, listed with filters, streamed live."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.domain.audit import AuditRecord, Event
from thecloud.domain.common import ListQuery, PageRequest, RequestContext
from thecloud.domain.errors import Forbidden
from thecloud.domain.identity import Principal, PrincipalType

USER = PrincipalType.USER
DENY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "vpc:*", "Resource": "*"}],
}
MARK = RequestContext(request_id="req-marked", source_ip="198.51.100.23")

# Each operation may set things up as `setup`, then does one mutation as `marked`;
# it returns the expected (action, resource_type, resource_id) of that mutation.
Op = Callable[[Harness, Account, Principal], Awaitable[tuple[str, str, str]]]


async def _secret_create(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    s = await h.cloud.secrets.create(p, "db", "v")
    return "secret:create", "secret", s.id


async def _secret_write(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    s = await h.cloud.secrets.create(o.principal, "db", "v")
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.secrets.update(p, s.id, "v2", None)
    return "secret:write", "secret", s.id


async def _secret_delete(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    s = await h.cloud.secrets.create(o.principal, "db", "v")
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.secrets.delete(p, s.id)
    return "secret:delete", "secret", s.id


async def _role_create(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    r = await h.cloud.rbac.create_role(p, "auditor", "", ["audit:read"])
    return "role:create", "role", r.id


async def _role_update(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    r = await h.cloud.rbac.create_role(o.principal, "auditor", "", ["audit:read"])
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.rbac.add_permission(p, r.id, "event:read")
    return "role:update", "role", r.id


async def _role_delete(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    r = await h.cloud.rbac.create_role(o.principal, "auditor", "", ["audit:read"])
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.rbac.delete_role(p, r.id)
    return "role:delete", "role", r.id


async def _bind(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    other = await h.register("other")
    h.clock.advance(1)  # the marked mutation is the newest record
    b = await h.cloud.rbac.bind(p, other.email, "viewer")
    return "role:bind", "role_binding", b.id


async def _unbind(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    other = await h.register("other")
    b = await h.cloud.rbac.bind(o.principal, other.email, "viewer")
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.rbac.unbind(p, b.id)
    return "role:bind", "role_binding", b.id


async def _policy_create(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    pol = await h.cloud.iam.create_policy(p, "deny-vpc", "", DENY)
    return "policy:create", "policy", pol.id


async def _policy_attach(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    pol = await h.cloud.iam.create_policy(o.principal, "deny-vpc", "", DENY)
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.iam.attach(p, USER, o.id, pol.id)
    return "policy:attach", "policy", pol.id


async def _policy_delete(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    pol = await h.cloud.iam.create_policy(o.principal, "deny-vpc", "", DENY)
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.iam.delete_policy(p, pol.id)
    return "policy:delete", "policy", pol.id


async def _sa_create(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    sa, _ = await h.cloud.service_accounts.create(p, "robot", "viewer")
    return "service_account:create", "service_account", sa.id


async def _sa_rotate(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    sa, _ = await h.cloud.service_accounts.create(o.principal, "robot", "viewer")
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.service_accounts.rotate(p, sa.id)
    return "service_account:update", "service_account", sa.id


async def _sa_delete(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    sa, _ = await h.cloud.service_accounts.create(o.principal, "robot", "viewer")
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.service_accounts.delete(p, sa.id)
    return "service_account:delete", "service_account", sa.id


async def _key_create(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    key, _ = await h.cloud.api_keys.create(p, "ci")
    return "identity:create", "api_key", key.id


async def _key_revoke(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    await h.cloud.api_keys.revoke(p, o.reg.key.id)
    return "identity:delete", "api_key", o.reg.key.id


async def _invite(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    other = await h.register("other")
    h.clock.advance(1)  # the marked mutation is the newest record
    await h.cloud.tenants.invite(p, o.tenant_id, other.email, "developer")
    return "tenant:update", "tenant", o.tenant_id


async def _quota(h: Harness, o: Account, p: Principal) -> tuple[str, str, str]:
    await h.cloud.quotas.set_limits(p, {"instances": 7})
    return "quota:update", "quota", o.tenant_id


MUTATIONS: dict[str, Op] = {
    fn.__name__.lstrip("_"): fn
    for fn in (
        _secret_create, _secret_write, _secret_delete, _role_create, _role_update, _role_delete,
        _bind, _unbind, _policy_create, _policy_attach, _policy_delete, _sa_create, _sa_rotate,
        _sa_delete, _key_create, _key_revoke, _invite, _quota,
    )
}  # fmt: skip


async def latest(h: Harness, owner: Account) -> tuple[AuditRecord, Event]:
    newest = ListQuery(page=PageRequest(limit=1), newest_first=True)
    audit = await h.cloud.activity.audit(owner.principal, newest)
    events = await h.cloud.activity.events(owner.principal, newest)
    return audit.items[0], events.items[0]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
async def test_every_mutation_is_audited_with_an_event(
    h: Harness, owner: Account, name: str
) -> None:
    marked = replace(owner.principal, context=MARK)
    h.clock.advance(1)
    action, kind, ident = await MUTATIONS[name](h, owner, marked)
    record, event = await latest(h, owner)
    assert (record.action, record.resource_type, record.resource_id) == (action, kind, ident)
    assert (record.actor_id, record.actor_type, record.tenant_id) == (
        owner.id,
        "user",
        owner.tenant_id,
    )
    assert (record.source_ip, record.request_id, record.outcome) == (
        "198.51.100.23",
        "req-marked",
        "success",
    )
    assert (event.type, event.resource_type, event.resource_id) == (
        action.replace(":", "."),
        kind,
        ident,
    )
    assert (event.actor_id, event.tenant_id, event.created_at) == (
        owner.id,
        owner.tenant_id,
        record.created_at,
    )


async def test_registration_login_and_new_tenants_are_audited_in_their_tenant(h: Harness) -> None:
    acct = await h.register("ann")
    h.clock.advance(1)
    await h.cloud.auth.login(acct.email, "correct horse", MARK)
    tenant = await h.cloud.tenants.create(replace(acct.principal, context=MARK), "Acme", "acme")
    own = await h.cloud.activity.audit(acct.principal, ListQuery())
    assert [(r.action, r.resource_id) for r in own.items] == [
        ("identity:register", acct.id),
        ("identity:login", acct.id),
    ]
    acme = await h.cloud.activity.audit(await h.login_key(acct.key, tenant.id), ListQuery())
    assert [(r.action, r.request_id) for r in acme.items] == [("tenant:create", "req-marked")]


async def test_a_refused_mutation_records_nothing(h: Harness, owner: Account) -> None:
    viewer = await h.member(owner, "viewer")
    audit_before = (await h.cloud.activity.audit(owner.principal, ListQuery())).total
    events_before = (await h.cloud.activity.events(owner.principal, ListQuery())).total
    with pytest.raises(Forbidden):
        await h.cloud.secrets.create(viewer, "nope", "v")
    assert (await h.cloud.activity.audit(owner.principal, ListQuery())).total == audit_before
    assert (await h.cloud.activity.events(owner.principal, ListQuery())).total == events_before


async def make_secrets(h: Harness, owner: Account, count: int) -> list[str]:
    ids = []
    for i in range(count):
        h.clock.advance(60)
        ids.append((await h.cloud.secrets.create(owner.principal, f"s{i}", "v")).id)
    return ids


async def test_audit_filters_and_pages_with_totals(h: Harness, owner: Account) -> None:
    ids = await make_secrets(h, owner, 5)
    query = ListQuery(page=PageRequest(limit=2, offset=2), filters={"action": "secret:create"})
    page = await h.cloud.activity.audit(owner.principal, query)
    assert (page.total, page.has_more) == (5, True)
    assert [r.resource_id for r in page.items] == ids[2:4]
    last = await h.cloud.activity.audit(owner.principal, replace(query, page=PageRequest(2, 4)))
    assert ([r.resource_id for r in last.items], last.has_more) == (ids[4:], False)


async def test_audit_newest_first_and_time_window(h: Harness, owner: Account) -> None:
    start = h.clock.now()
    ids = await make_secrets(h, owner, 4)  # created at start + 1, 2, 3, 4 minutes
    by_kind = ListQuery(filters={"resource_type": "secret"}, newest_first=True)
    newest = await h.cloud.activity.audit(owner.principal, by_kind)
    assert [r.resource_id for r in newest.items] == ids[::-1]
    window = ListQuery(since=start + timedelta(minutes=2), until=start + timedelta(minutes=4))
    page = await h.cloud.activity.audit(owner.principal, window)
    assert [r.resource_id for r in page.items] == ids[1:3]
