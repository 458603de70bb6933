"""Tenants: creation, membership by invitation, listing, and isolation between tenants."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import Conflict, InvalidInput, NotFound
from thecloud.domain.rbac import DEVELOPER_PERMISSIONS


async def test_create_makes_the_caller_owner_of_a_shared_tenant(h: Harness, owner: Account) -> None:
    tenant = await h.cloud.tenants.create(owner.principal, "Acme", "acme")
    assert (tenant.slug, tenant.owner_id, tenant.personal) == ("acme", owner.id, False)
    acting = await h.login_key(owner.key, tenant.id)
    assert acting.tenant_id == tenant.id and "tenant:delete" in acting.permissions


async def test_slug_is_validated_and_unique(h: Harness, owner: Account) -> None:
    await h.cloud.tenants.create(owner.principal, "Acme", "acme")
    other = await h.register("other")
    with pytest.raises(Conflict, match="acme"):
        await h.cloud.tenants.create(other.principal, "Acme again", "acme")
    with pytest.raises(InvalidInput):
        await h.cloud.tenants.create(owner.principal, "Bad", "Not A Slug")


async def test_list_shows_only_the_callers_tenants(h: Harness, owner: Account) -> None:
    shared = await h.cloud.tenants.create(owner.principal, "Acme", "acme")
    stranger = await h.register("stranger")
    await h.cloud.tenants.create(stranger.principal, "Other", "other")
    page = await h.cloud.tenants.list(owner.principal, ListQuery())
    assert {t.id for t in page.items} == {owner.tenant_id, shared.id} and page.total == 2


async def test_other_tenants_are_not_found_not_forbidden(h: Harness, owner: Account) -> None:
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await h.cloud.tenants.get(owner.principal, stranger.tenant_id)
    with pytest.raises(NotFound):
        await h.cloud.tenants.switch(owner.principal, stranger.tenant_id)
    with pytest.raises(NotFound):
        await h.cloud.tenants.members(owner.principal, stranger.tenant_id, ListQuery())
    with pytest.raises(NotFound):
        await h.cloud.tenants.invite(owner.principal, stranger.tenant_id, owner.email, "viewer")


async def test_invite_by_email_grants_the_role_in_that_tenant(h: Harness, owner: Account) -> None:
    dev = await h.register("dev")
    binding = await h.cloud.tenants.invite(
        owner.principal, owner.tenant_id, dev.email.upper(), "developer"
    )
    assert (binding.principal_id, binding.role_name) == (dev.id, "developer")
    acting = await h.login_key(dev.key, owner.tenant_id)
    assert acting.permissions == DEVELOPER_PERMISSIONS
    listed = await h.cloud.tenants.list(dev.principal, ListQuery())
    assert owner.tenant_id in {t.id for t in listed.items}


async def test_members_lists_the_bindings_of_the_tenant(h: Harness, owner: Account) -> None:
    await h.member(owner, "viewer")
    page = await h.cloud.tenants.members(owner.principal, owner.tenant_id, ListQuery())
    assert sorted(b.role_name for b in page.items) == ["owner", "viewer"]


async def test_invite_of_an_unknown_email_is_not_found(h: Harness, owner: Account) -> None:
    with pytest.raises(NotFound, match="register first"):
        await h.cloud.tenants.invite(
            owner.principal, owner.tenant_id, "nobody@example.com", "viewer"
        )


async def test_invite_with_an_unknown_role_or_twice_is_refused(h: Harness, owner: Account) -> None:
    dev = await h.register("dev")
    with pytest.raises(InvalidInput, match="superhero"):
        await h.cloud.tenants.invite(owner.principal, owner.tenant_id, dev.email, "superhero")
    await h.cloud.tenants.invite(owner.principal, owner.tenant_id, dev.email, "viewer")
    with pytest.raises(Conflict):
        await h.cloud.tenants.invite(owner.principal, owner.tenant_id, dev.email, "viewer")


async def test_service_accounts_cannot_create_tenants(h: Harness, owner: Account) -> None:
    _, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "admin")
    sa = await h.sa_login(issued.secret.service_account_id, issued.client_secret)
    with pytest.raises(InvalidInput, match="only users"):
        await h.cloud.tenants.create(sa, "Robots", "robots")


async def test_ids_of_another_tenant_are_not_found(h: Harness, owner: Account) -> None:
    """Every lookup by id from tenant A into tenant B answers NotFound."""
    other = await h.register("other")
    b = other.principal
    secret = await h.cloud.secrets.create(b, "db-password", "hunter2")
    sa, _ = await h.cloud.service_accounts.create(b, "robot", "viewer")
    policy = await h.cloud.iam.create_policy(b, "deny-all", "", DENY_ALL)
    role = await h.cloud.rbac.create_role(b, "auditor", "", ["audit:read"])
    binding = (await h.cloud.tenants.members(b, other.tenant_id, ListQuery())).items[0]
    a = owner.principal
    lookups = [
        lambda: h.cloud.secrets.reveal(a, secret.id),
        lambda: h.cloud.secrets.reveal(a, secret.name),
        lambda: h.cloud.secrets.delete(a, secret.id),
        lambda: h.cloud.service_accounts.get(a, sa.id),
        lambda: h.cloud.service_accounts.delete(a, sa.id),
        lambda: h.cloud.iam.get_policy(a, policy.id),
        lambda: h.cloud.iam.delete_policy(a, policy.name),
        lambda: h.cloud.rbac.get_role(a, role.id),
        lambda: h.cloud.rbac.delete_role(a, role.id),
        lambda: h.cloud.rbac.unbind(a, binding.id),
    ]
    for call in lookups:
        with pytest.raises(NotFound):
            await call()


DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}],
}
