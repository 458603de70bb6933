"""No one grants what they do not hold: roles, bindings, service accounts and policies."""

from __future__ import annotations

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import Conflict, Forbidden
from thecloud.domain.identity import PrincipalType

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
ALLOW_SECRETS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secret:*", "Resource": "*"}],
}


async def test_admin_cannot_make_anyone_owner(h: Harness, owner: Account) -> None:
    admin = await h.member(owner, "admin", "admin")
    newcomer = await h.register("newcomer")
    with pytest.raises(Forbidden, match="tenant:delete"):
        await h.cloud.rbac.bind(admin, admin.id, "owner")
    with pytest.raises(Forbidden, match="tenant:delete"):
        await h.cloud.tenants.invite(admin, owner.tenant_id, newcomer.email, "owner")
    with pytest.raises(Forbidden, match="tenant:delete"):
        await h.cloud.service_accounts.create(admin, "root-robot", "owner")


async def test_admin_cannot_build_a_role_wider_than_itself(h: Harness, owner: Account) -> None:
    admin = await h.member(owner, "admin", "admin")
    with pytest.raises(Forbidden):
        await h.cloud.rbac.create_role(admin, "everything", "", ["*"])
    role = await h.cloud.rbac.create_role(admin, "secrets", "", ["secret:*"])
    with pytest.raises(Forbidden, match="tenant:delete"):
        await h.cloud.rbac.add_permission(admin, role.id, "tenant:delete")


async def test_admin_cannot_attach_an_allow_policy_wider_than_itself(
    h: Harness, owner: Account
) -> None:
    admin = await h.member(owner, "admin", "admin")
    wide = await h.cloud.iam.create_policy(admin, "all", "", ALLOW_ALL)
    with pytest.raises(Forbidden, match="tenant:delete"):
        await h.cloud.iam.attach(admin, PrincipalType.USER, admin.id, wide.id)
    narrow = await h.cloud.iam.create_policy(admin, "secrets", "", ALLOW_SECRETS)
    await h.cloud.iam.attach(admin, PrincipalType.USER, admin.id, narrow.id)


async def test_owner_may_grant_everything(h: Harness, owner: Account) -> None:
    newcomer = await h.register("newcomer")
    await h.cloud.tenants.invite(owner.principal, owner.tenant_id, newcomer.email, "owner")
    await h.cloud.rbac.create_role(owner.principal, "everything", "", ["*"])


async def test_viewer_lists_secret_names_but_reads_no_value(h: Harness, owner: Account) -> None:
    await h.cloud.secrets.create(owner.principal, "db-password", "hunter2")
    viewer = await h.member(owner, "viewer")
    page = await h.cloud.secrets.list(viewer, ListQuery())
    assert [s.name for s in page.items] == ["db-password"]
    with pytest.raises(Forbidden):
        await h.cloud.secrets.reveal(viewer, "db-password")


async def test_a_role_used_by_a_service_account_cannot_be_deleted(
    h: Harness, owner: Account
) -> None:
    role = await h.cloud.rbac.create_role(owner.principal, "robots", "", ["secret:read"])
    await h.cloud.service_accounts.create(owner.principal, "robot", "robots")
    with pytest.raises(Conflict, match="service account"):
        await h.cloud.rbac.delete_role(owner.principal, role.id)
