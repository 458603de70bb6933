"""RBAC: what the built-in roles may do, custom roles, bindings, and the last-owner rule."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from thecloud.domain.identity import Principal
from thecloud.domain.rbac import BUILTIN_ROLES

ALLOW_READS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "secret:read", "Resource": "*"}],
}


@dataclass(frozen=True)
class Target:
    """The tenant the caller acts in, and a registered user who is not yet a member of it."""

    tenant_id: str
    email: str


Create = Callable[[Harness, Principal, Target], Awaitable[object]]

CREATES: dict[str, Create] = {
    "secret": lambda h, p, t: h.cloud.secrets.create(p, "db-password", "hunter2"),
    "role": lambda h, p, t: h.cloud.rbac.create_role(p, "auditor", "", ["audit:read"]),
    "policy": lambda h, p, t: h.cloud.iam.create_policy(p, "reads", "", ALLOW_READS),
    "service_account": lambda h, p, t: h.cloud.service_accounts.create(p, "robot", "viewer"),
    "api_key": lambda h, p, t: h.cloud.api_keys.create(p, "ci"),
    "invite": lambda h, p, t: h.cloud.tenants.invite(p, t.tenant_id, t.email, "viewer"),
    "binding": lambda h, p, t: h.cloud.rbac.bind(p, t.email, "viewer"),
    "quota": lambda h, p, t: h.cloud.quotas.set_limits(p, {"instances": 50}),
}
ADMINISTRATION = ["role", "policy", "service_account", "invite", "binding", "quota"]


async def target(h: Harness, owner: Account) -> Target:
    return Target(owner.tenant_id, (await h.register("newcomer")).email)


async def audit_count(h: Harness, tenant_id: str) -> int:
    async with h.cloud.uow(read_only=True) as uow:
        return await uow.audit.count(tenant_id=tenant_id)


@pytest.mark.parametrize("what", sorted(CREATES))
async def test_viewer_may_create_nothing(h: Harness, owner: Account, what: str) -> None:
    viewer, t = await h.member(owner, "viewer"), await target(h, owner)
    before = await audit_count(h, owner.tenant_id)
    with pytest.raises(Forbidden):
        await CREATES[what](h, viewer, t)
    assert await audit_count(h, owner.tenant_id) == before


@pytest.mark.parametrize("what", ADMINISTRATION)
async def test_developer_may_not_administer_access(h: Harness, owner: Account, what: str) -> None:
    dev, t = await h.member(owner, "developer"), await target(h, owner)
    with pytest.raises(Forbidden):
        await CREATES[what](h, dev, t)


@pytest.mark.parametrize("what", ["secret", "api_key"])
async def test_developer_may_build(h: Harness, owner: Account, what: str) -> None:
    dev, t = await h.member(owner, "developer"), await target(h, owner)
    assert await CREATES[what](h, dev, t) is not None


@pytest.mark.parametrize("what", sorted(CREATES))
async def test_admin_may_do_all_of_it(h: Harness, owner: Account, what: str) -> None:
    admin, t = await h.member(owner, "admin"), await target(h, owner)
    assert await CREATES[what](h, admin, t) is not None


async def test_list_roles_shows_builtins_and_own_custom_roles(h: Harness, owner: Account) -> None:
    await h.cloud.rbac.create_role(owner.principal, "auditor", "reads audit", ["audit:read"])
    other = await h.register("other")
    await h.cloud.rbac.create_role(other.principal, "theirs", "", ["audit:read"])
    page = await h.cloud.rbac.list_roles(owner.principal, ListQuery())
    assert {r.name for r in page.items} == {*BUILTIN_ROLES, "auditor"} and page.total == 5


async def test_custom_role_crud(h: Harness, owner: Account) -> None:
    rbac, p = h.cloud.rbac, owner.principal
    role = await rbac.create_role(p, "deployer", "ships", ["instance:launch", "instance:launch"])
    assert role.permissions == ("instance:launch",) and role.tenant_id == owner.tenant_id
    assert await rbac.get_role(p, "deployer") == await rbac.get_role(p, role.id) == role
    updated = await rbac.update_role(p, role.id, "ships things", ["vpc:*", "instance:read"])
    assert (updated.description, updated.permissions) == (
        "ships things",
        ("vpc:*", "instance:read"),
    )
    await rbac.delete_role(p, role.id)
    with pytest.raises(NotFound):
        await rbac.get_role(p, role.id)


async def test_add_and_remove_permission(h: Harness, owner: Account) -> None:
    rbac, p = h.cloud.rbac, owner.principal
    role = await rbac.create_role(p, "deployer", "", ["instance:launch"])
    role = await rbac.add_permission(p, role.id, "volume:create")
    assert role.permissions == ("instance:launch", "volume:create")
    role = await rbac.remove_permission(p, "deployer", "instance:launch")
    assert role.permissions == ("volume:create",)
    with pytest.raises(NotFound, match="instance:launch"):
        await rbac.remove_permission(p, role.id, "instance:launch")


async def test_invalid_permission_names_are_named_in_the_error(h: Harness, owner: Account) -> None:
    rbac, p = h.cloud.rbac, owner.principal
    with pytest.raises(InvalidInput) as caught:
        await rbac.create_role(p, "bad", "", ["secret:read", "secret:steal", "warp:*"])
    assert "secret:steal" in caught.value.message and "warp:*" in caught.value.message
    assert "'secret:read'" not in caught.value.message
    role = await rbac.create_role(p, "good", "", ["secret:read"])
    with pytest.raises(InvalidInput, match="nonsense"):
        await rbac.add_permission(p, role.id, "nonsense")
    with pytest.raises(InvalidInput, match="vpc:fly"):
        await rbac.update_role(p, role.id, None, ["vpc:fly"])


async def test_role_names_are_unique_and_builtin_names_reserved(h: Harness, owner: Account) -> None:
    await h.cloud.rbac.create_role(owner.principal, "auditor", "", [])
    for name in ("auditor", "admin"):
        with pytest.raises(Conflict):
            await h.cloud.rbac.create_role(owner.principal, name, "", [])
    with pytest.raises(InvalidInput):
        await h.cloud.rbac.create_role(owner.principal, "", "", [])


@pytest.mark.parametrize("change", ["update", "add", "remove", "delete"])
async def test_builtin_roles_are_immutable(h: Harness, owner: Account, change: str) -> None:
    rbac, p = h.cloud.rbac, owner.principal
    calls = {
        "update": lambda: rbac.update_role(p, "admin", "mine now", None),
        "add": lambda: rbac.add_permission(p, "viewer", "secret:read"),
        "remove": lambda: rbac.remove_permission(p, "developer", "secret:read"),
        "delete": lambda: rbac.delete_role(p, "owner"),
    }
    with pytest.raises(Forbidden, match="built-in"):
        await calls[change]()
    assert (await rbac.get_role(p, "viewer")).permissions == tuple(
        sorted(BUILTIN_ROLES["viewer"][1])
    )


async def test_a_custom_role_grants_its_permissions_live(h: Harness, owner: Account) -> None:
    rbac = h.cloud.rbac
    role = await rbac.create_role(owner.principal, "writer", "", ["secret:create"])
    other = await h.register("writer")
    await rbac.bind(owner.principal, other.id, "writer")
    writer = await h.login_key(other.key, owner.tenant_id)
    assert writer.permissions == frozenset({"secret:create"})
    await h.cloud.secrets.create(writer, "first", "v")
    await rbac.remove_permission(owner.principal, role.id, "secret:create")
    writer = await h.login_key(other.key, owner.tenant_id)
    with pytest.raises(Forbidden):
        await h.cloud.secrets.create(writer, "second", "v")


async def test_a_bound_role_cannot_be_deleted(h: Harness, owner: Account) -> None:
    role = await h.cloud.rbac.create_role(owner.principal, "writer", "", ["secret:create"])
    other = await h.register("writer")
    binding = await h.cloud.rbac.bind(owner.principal, other.email, "writer")
    with pytest.raises(Conflict, match="still bound"):
        await h.cloud.rbac.delete_role(owner.principal, role.id)
    await h.cloud.rbac.unbind(owner.principal, binding.id)
    await h.cloud.rbac.delete_role(owner.principal, role.id)


async def test_custom_roles_of_another_tenant_are_invisible(h: Harness, owner: Account) -> None:
    other = await h.register("other")
    theirs = await h.cloud.rbac.create_role(other.principal, "theirs", "", ["audit:read"])
    for ident in (theirs.id, "theirs"):
        with pytest.raises(NotFound):
            await h.cloud.rbac.get_role(owner.principal, ident)
    with pytest.raises(InvalidInput, match="theirs"):
        await h.cloud.rbac.bind(owner.principal, other.email, "theirs")


async def test_bind_unknown_user_is_not_found(h: Harness, owner: Account) -> None:
    for user in ("nobody@example.com", "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(NotFound):
            await h.cloud.rbac.bind(owner.principal, user, "viewer")


async def test_unbinding_removes_access_at_once(h: Harness, owner: Account) -> None:
    other = await h.register("dev")
    binding = await h.cloud.rbac.bind(owner.principal, other.email, "developer")
    await h.login_key(other.key, owner.tenant_id)
    await h.cloud.rbac.unbind(owner.principal, binding.id)
    with pytest.raises(Forbidden, match="not a member"):
        await h.login_key(other.key, owner.tenant_id)


async def test_the_last_owner_cannot_be_removed(h: Harness, owner: Account) -> None:
    rbac, p = h.cloud.rbac, owner.principal
    own = (await rbac.list_bindings(p, ListQuery(filters={"role_name": "owner"}))).items
    assert [b.principal_id for b in own] == [owner.id]
    with pytest.raises(Conflict, match="at least one owner"):
        await rbac.unbind(p, own[0].id)
    second = await h.register("second")
    await rbac.bind(p, second.email, "owner")
    await rbac.unbind(p, own[0].id)
    with pytest.raises(Forbidden):
        await h.login_key(owner.key, owner.tenant_id)
