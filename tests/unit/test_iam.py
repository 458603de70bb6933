"""IAM policies: explicit Deny beats roles, narrow Allows, conditions, attach and detach."""

from __future__ import annotations

import uuid

import pytest

from tests.unit.conftest import Account, Harness
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from thecloud.domain.identity import Principal, PrincipalType

USER = PrincipalType.USER


def document(
    effect: str, action: str, resource: str = "*", **condition: object
) -> dict[str, object]:
    statement: dict[str, object] = {"Effect": effect, "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


async def give(h: Harness, owner: Account, who: Principal, doc: dict[str, object]) -> str:
    """Create a policy, attach it to `who`; returns the policy id."""
    name = f"policy-{uuid.uuid4().hex[:8]}"
    policy = await h.cloud.iam.create_policy(owner.principal, name, "", doc)
    await h.cloud.iam.attach(owner.principal, USER, who.id, policy.id)
    return policy.id


async def member_with_key(h: Harness, owner: Account, role: str) -> tuple[Principal, str]:
    other = await h.register(role)
    await h.cloud.tenants.invite(owner.principal, owner.tenant_id, other.email, role)
    return await h.login_key(other.key, owner.tenant_id), other.key


async def test_an_explicit_deny_overrides_the_admin_role(h: Harness, owner: Account) -> None:
    admin, key = await member_with_key(h, owner, "admin")
    await h.cloud.secrets.create(admin, "before", "v")
    await give(h, owner, admin, document("Deny", "secret:create"))
    admin = await h.login_key(key, owner.tenant_id)
    with pytest.raises(Forbidden):
        await h.cloud.secrets.create(admin, "after", "v")
    assert (await h.cloud.secrets.reveal(admin, "before"))[1] == "v"


async def test_an_allow_grants_one_action_on_one_named_resource(h: Harness, owner: Account) -> None:
    for name in ("app-token", "root-token"):
        await h.cloud.secrets.create(owner.principal, name, f"value of {name}")
    viewer, key = await member_with_key(h, owner, "viewer")
    with pytest.raises(Forbidden):
        await h.cloud.secrets.reveal(viewer, "app-token")
    resource = f"trn:{owner.tenant_id}:secret/app-token"
    await give(h, owner, viewer, document("Allow", "secret:read", resource))
    viewer = await h.login_key(key, owner.tenant_id)
    assert (await h.cloud.secrets.reveal(viewer, "app-token"))[1] == "value of app-token"
    with pytest.raises(Forbidden):
        await h.cloud.secrets.reveal(viewer, "root-token")
    with pytest.raises(Forbidden):
        await h.cloud.secrets.update(viewer, "app-token", "changed", None)


async def test_an_allow_by_id_covers_the_resource_whatever_it_is_called(
    h: Harness, owner: Account
) -> None:
    secret = await h.cloud.secrets.create(owner.principal, "by-id", "v")
    viewer, key = await member_with_key(h, owner, "viewer")
    resource = f"trn:{owner.tenant_id}:secret/{secret.id}"
    await give(h, owner, viewer, document("Allow", "secret:read", resource))
    viewer = await h.login_key(key, owner.tenant_id)
    assert (await h.cloud.secrets.reveal(viewer, "by-id"))[1] == "v"


async def test_ip_condition_uses_the_callers_source_address(h: Harness, owner: Account) -> None:
    await h.cloud.secrets.create(owner.principal, "office-only", "v")
    viewer, key = await member_with_key(h, owner, "viewer")
    condition = {"IpAddress": {"thecloud:SourceIp": "10.0.0.0/8"}}
    await give(h, owner, viewer, document("Allow", "secret:read", **condition))
    inside = await h.login_key(key, owner.tenant_id, ip="10.20.30.40")
    outside = await h.login_key(key, owner.tenant_id, ip="192.168.1.10")
    assert (await h.cloud.secrets.reveal(inside, "office-only"))[1] == "v"
    with pytest.raises(Forbidden):
        await h.cloud.secrets.reveal(outside, "office-only")


async def test_a_deny_outside_a_network_blocks_even_the_owner(h: Harness, owner: Account) -> None:
    condition = {"NotIpAddress": {"thecloud:SourceIp": ["10.0.0.0/8"]}}
    await give(h, owner, owner.principal, document("Deny", "*", **condition))
    inside = await h.login_key(owner.key, ip="10.1.1.1")
    outside = await h.login_key(owner.key, ip="198.51.100.1")
    await h.cloud.secrets.create(inside, "fine", "v")
    with pytest.raises(Forbidden):
        await h.cloud.secrets.create(outside, "blocked", "v")


async def test_detach_restores_the_role_rights(h: Harness, owner: Account) -> None:
    admin, key = await member_with_key(h, owner, "admin")
    policy_id = await give(h, owner, admin, document("Deny", "secret:*"))
    with pytest.raises(Forbidden):
        await h.cloud.secrets.create(await h.login_key(key, owner.tenant_id), "x", "v")
    await h.cloud.iam.detach(owner.principal, USER, admin.id, policy_id)
    await h.cloud.secrets.create(await h.login_key(key, owner.tenant_id), "x", "v")


async def test_deleting_a_policy_removes_its_effect(h: Harness, owner: Account) -> None:
    admin, key = await member_with_key(h, owner, "admin")
    policy_id = await give(h, owner, admin, document("Deny", "secret:create"))
    await h.cloud.iam.delete_policy(owner.principal, policy_id)
    await h.cloud.secrets.create(await h.login_key(key, owner.tenant_id), "x", "v")
    assert await h.cloud.iam.attached(owner.principal, USER, admin.id) == []


async def test_attached_lists_the_policies_of_a_principal(h: Harness, owner: Account) -> None:
    dev, _ = await member_with_key(h, owner, "developer")
    policy_id = await give(h, owner, dev, document("Deny", "vpc:delete"))
    listed = await h.cloud.iam.attached(owner.principal, USER, dev.id)
    assert [p.id for p in listed] == [policy_id]


async def test_invalid_documents_are_invalid_input(h: Harness, owner: Account) -> None:
    bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*"}]}
    with pytest.raises(InvalidInput, match="invalid policy document"):
        await h.cloud.iam.create_policy(owner.principal, "bad", "", bad)
    with pytest.raises(InvalidInput):
        await h.cloud.iam.create_policy(owner.principal, "", "", document("Allow", "*"))


async def test_policy_names_are_unique_per_tenant(h: Harness, owner: Account) -> None:
    await h.cloud.iam.create_policy(owner.principal, "same", "", document("Allow", "*"))
    with pytest.raises(Conflict):
        await h.cloud.iam.create_policy(owner.principal, "same", "", document("Allow", "*"))
    other = await h.register("other")
    await h.cloud.iam.create_policy(other.principal, "same", "", document("Allow", "*"))


async def test_attach_checks_the_target_and_duplicates(h: Harness, owner: Account) -> None:
    iam, p = h.cloud.iam, owner.principal
    policy = await iam.create_policy(p, "deny", "", document("Deny", "*"))
    stranger = await h.register("stranger")
    with pytest.raises(NotFound):
        await iam.attach(p, USER, stranger.id, policy.id)
    with pytest.raises(NotFound):
        await iam.attach(p, PrincipalType.SERVICE_ACCOUNT, stranger.id, policy.id)
    await iam.attach(p, USER, owner.id, policy.id)
    with pytest.raises(Conflict):
        await iam.attach(p, USER, owner.id, policy.id)
    await iam.detach(p, USER, owner.id, policy.name)
    with pytest.raises(NotFound, match="not attached"):
        await iam.detach(p, USER, owner.id, policy.id)


async def test_a_policy_attached_to_a_service_account_limits_it(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "developer")
    policy = await h.cloud.iam.create_policy(
        owner.principal, "no-secrets", "", document("Deny", "secret:create")
    )
    await h.cloud.iam.attach(owner.principal, PrincipalType.SERVICE_ACCOUNT, sa.id, policy.id)
    robot = await h.sa_login(sa.id, issued.client_secret)
    with pytest.raises(Forbidden):
        await h.cloud.secrets.create(robot, "x", "v")
