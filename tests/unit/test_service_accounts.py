"""Service accounts: secrets shown once, the client_credentials exchange, rotation, deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.conftest import Account, Harness, unit_settings
from thecloud.domain.common import ListQuery
from thecloud.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from thecloud.domain.identity import PrincipalType
from thecloud.domain.rbac import DEVELOPER_PERMISSIONS


async def test_create_returns_the_client_secret_once(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "developer")
    assert issued.client_secret.startswith("tcs_") and issued.secret.service_account_id == sa.id
    stored = await h.cloud.service_accounts.secrets(owner.principal, sa.id)
    assert [s.id for s in stored] == [issued.secret.id]
    assert (
        issued.client_secret not in repr(stored) and stored[0].prefix == issued.client_secret[:10]
    )
    listed = await h.cloud.service_accounts.list(owner.principal, ListQuery())
    assert issued.client_secret not in repr(listed)


async def test_token_exchange_acts_with_the_accounts_role(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "developer")
    token = await h.cloud.service_accounts.token(sa.id, issued.client_secret)
    assert token.expires_in == unit_settings().service_token_ttl_seconds
    assert token.expires_at == h.clock.now() + timedelta(seconds=token.expires_in)
    robot = await h.cloud.auth.authenticate(None, token.access_token, None, h.ctx())
    assert (robot.id, robot.type, robot.tenant_id) == (
        sa.id,
        PrincipalType.SERVICE_ACCOUNT,
        owner.tenant_id,
    )
    assert robot.permissions == DEVELOPER_PERMISSIONS
    await h.cloud.secrets.create(robot, "made-by-robot", "v")
    with pytest.raises(Forbidden):
        await h.cloud.rbac.create_role(robot, "escalate", "", ["*"])


async def test_service_token_expires(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "viewer")
    token = await h.cloud.service_accounts.token(sa.id, issued.client_secret)
    h.clock.advance(unit_settings().service_token_ttl_seconds)
    with pytest.raises(Unauthorized, match="expired"):
        await h.cloud.auth.authenticate(None, token.access_token, None, h.ctx())


async def test_wrong_client_credentials_are_refused(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "viewer")
    other, other_secret = await h.cloud.service_accounts.create(owner.principal, "other", "viewer")
    for client_id, secret in [
        (sa.id, issued.client_secret + "x"),
        ("00000000-0000-4000-8000-000000000000", issued.client_secret),
        (sa.id, other_secret.client_secret),  # another account's secret
    ]:
        with pytest.raises(Unauthorized, match="invalid client_id or client_secret"):
            await h.cloud.service_accounts.token(client_id, secret)


async def test_rotation_refuses_the_old_secret(h: Harness, owner: Account) -> None:
    sa, old = await h.cloud.service_accounts.create(owner.principal, "robot", "viewer")
    new = await h.cloud.service_accounts.rotate(owner.principal, sa.id)
    with pytest.raises(Unauthorized):
        await h.cloud.service_accounts.token(sa.id, old.client_secret)
    assert (await h.sa_login(sa.id, new.client_secret)).id == sa.id
    secrets = await h.cloud.service_accounts.secrets(owner.principal, sa.id)
    assert sorted(s.revoked_at is None for s in secrets) == [False, True]


async def test_a_revoked_secret_is_refused(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "viewer")
    await h.cloud.service_accounts.revoke_secret(owner.principal, sa.id, issued.secret.id)
    with pytest.raises(Unauthorized):
        await h.cloud.service_accounts.token(sa.id, issued.client_secret)
    with pytest.raises(NotFound):
        await h.cloud.service_accounts.revoke_secret(owner.principal, sa.id, sa.id)


async def test_a_deleted_accounts_token_is_refused_at_once(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "admin")
    token = (await h.cloud.service_accounts.token(sa.id, issued.client_secret)).access_token
    await h.cloud.auth.authenticate(None, token, None, h.ctx())  # cached now
    await h.cloud.service_accounts.delete(owner.principal, sa.id)
    with pytest.raises(Unauthorized, match="no longer valid"):
        await h.cloud.auth.authenticate(None, token, None, h.ctx())
    with pytest.raises(NotFound):
        await h.cloud.service_accounts.get(owner.principal, sa.id)
    async with h.cloud.uow(read_only=True) as uow:
        assert await uow.sa_secrets.count(service_account_id=sa.id) == 0


async def test_a_token_is_valid_only_in_the_accounts_tenant(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "admin")
    token = (await h.cloud.service_accounts.token(sa.id, issued.client_secret)).access_token
    other = await h.register("other")
    with pytest.raises(Unauthorized):
        await h.cloud.auth.authenticate(None, token, other.tenant_id, h.ctx())


async def test_create_validates_role_and_name(h: Harness, owner: Account) -> None:
    sas, p = h.cloud.service_accounts, owner.principal
    with pytest.raises(InvalidInput, match="wizard"):
        await sas.create(p, "robot", "wizard")
    with pytest.raises(InvalidInput):
        await sas.create(p, " ", "viewer")
    await sas.create(p, "robot", "viewer")
    with pytest.raises(Conflict):
        await sas.create(p, "robot", "viewer")


async def test_service_accounts_may_use_custom_roles(h: Harness, owner: Account) -> None:
    await h.cloud.rbac.create_role(owner.principal, "reader", "", ["secret:read"])
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "reader")
    robot = await h.sa_login(sa.id, issued.client_secret)
    assert robot.permissions == frozenset({"secret:read"})


async def test_service_accounts_cannot_hold_api_keys(h: Harness, owner: Account) -> None:
    sa, issued = await h.cloud.service_accounts.create(owner.principal, "robot", "owner")
    robot = await h.sa_login(sa.id, issued.client_secret)
    with pytest.raises(InvalidInput, match="client secrets"):
        await h.cloud.api_keys.create(robot, "nope")
